//! Simulated time for a fleet of instances in one test process: the service's clock and the
//! vendor machinery's sleeper at once. Time stands while any participant (a worker, the
//! dispatcher) runs, and jumps to the earliest wake-up when all of them wait, so hours of
//! throttled work take seconds, and what each instance decides does not depend on how fast
//! the machine is. Work between waits (store, HTTP to the vendor fakes) takes no time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prov_connectors::http::Sleeper;
use prov_core::clock::Clock;
use tokio::sync::oneshot;

pub struct FleetTime {
    start: DateTime<Utc>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    now: Duration,
    /// Participants not waiting.
    running: usize,
    timers: BinaryHeap<Reverse<(Duration, u64)>>,
    wakers: HashMap<u64, oneshot::Sender<()>>,
    next: u64,
}

impl State {
    /// While nobody runs, wakes the earliest sleeper (time moves to its wake-up).
    fn advance(&mut self) {
        while self.running == 0 {
            let Some(Reverse((at, id))) = self.timers.pop() else {
                return;
            };
            if let Some(waker) = self.wakers.remove(&id) {
                self.now = self.now.max(at);
                self.running += 1;
                let _ = waker.send(());
            }
        }
    }
}

impl FleetTime {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            state: Mutex::new(State::default()),
        }
    }

    /// A participant starts: time stands while it runs.
    pub fn enter(&self) {
        self.state.lock().unwrap().running += 1;
    }

    /// A participant is done for good.
    pub fn leave(&self) {
        let mut state = self.state.lock().unwrap();
        state.running -= 1;
        state.advance();
    }

    pub fn elapsed(&self) -> Duration {
        self.state.lock().unwrap().now
    }
}

#[async_trait]
impl Sleeper for FleetTime {
    async fn sleep(&self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let woken = {
            let mut state = self.state.lock().unwrap();
            let (tx, rx) = oneshot::channel();
            let id = state.next;
            state.next += 1;
            let at = state.now + duration;
            state.timers.push(Reverse((at, id)));
            state.wakers.insert(id, tx);
            state.running -= 1;
            state.advance();
            rx
        };
        let _ = woken.await;
    }

    fn simulated_now(&self) -> Option<Duration> {
        Some(self.elapsed())
    }
}

impl Clock for FleetTime {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.elapsed()).expect("a sane duration")
    }
}
