//! What the benchmark harnesses share: order statistics over samples, and the cost model
//! (`cost`) that `bin/cost.rs` writes BENCHMARKS.md's cost section with.

pub mod cost;

use std::time::Duration;

/// The `q`-quantile (0.0–1.0) of `samples` by the nearest-rank method; `None` when empty.
pub fn quantile(samples: &[Duration], q: f64) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// The median of `samples`.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    quantile(samples, 0.5)
}

/// Milliseconds with one decimal, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
