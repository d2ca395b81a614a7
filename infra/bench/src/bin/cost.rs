//! Writes BENCHMARKS.md's cost section (markdown on stdout) from the round-trip run's
//! `cost-input` lines, the cold-start table and the template (`bench::cost` is the model):
//!
//! `cost --inputs <round-trip output> --coldstart <cold-start table> --template template.yaml`

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bench::cost::{
    AUDIT_MONTHS, Company, Cost, DEPLOYMENT_SECRETS, HOURS_A_MONTH, ITEM_OVERHEAD, JOB_POLLERS, LATENCY,
    Measured, Operation, Priced, QUERY_PAGE_ITEMS, RECEIVES_A_POLLER_MINUTE, SWEEPS_A_MONTH, TICKS_A_MONTH,
    TYPICAL, along, at_rest, company_items, memory_mb, parse_coldstart, parse_inputs, price, price_operation,
    write_units_by_kind, writes_of,
};

/// The deployment size the issue asks about.
const COMPANIES: f64 = 10_000.0;

fn main() {
    let (mut inputs, mut coldstart, mut template) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut file = || {
            let path = args
                .next()
                .unwrap_or_else(|| fail(&format!("{arg} needs a file")));
            std::fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
        };
        match arg.as_str() {
            "--inputs" => inputs = Some(file()),
            "--coldstart" => coldstart = Some(file()),
            "--template" => template = Some(file()),
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let (Some(inputs), Some(coldstart), Some(template)) = (inputs, coldstart, template) else {
        fail("usage: cost --inputs FILE --coldstart FILE --template FILE");
    };
    match report(&inputs, &coldstart, &template) {
        Ok(section) => print!("{section}"),
        Err(e) => fail(&e),
    }
}

fn fail(why: &str) -> ! {
    eprintln!("cost: {why}");
    std::process::exit(1)
}

/// Dollars with three significant digits (more for the large sums).
fn usd(x: f64) -> String {
    if x >= 1000.0 {
        format!("${}", count(x))
    } else if x >= 1.0 {
        format!("${x:.2}")
    } else if x > 0.0 {
        let decimals = (2.0 - x.log10().floor()) as usize;
        format!("${x:.decimals$}")
    } else {
        "$0".to_owned()
    }
}

/// A count with thousands separated.
fn count(x: f64) -> String {
    let whole = format!("{:.0}", x);
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

fn goal(value: f64, limit: f64) -> String {
    if value < limit {
        format!("met ({:.0} % of the goal)", 100.0 * value / limit)
    } else {
        format!("**missed** ({:.1}× the goal)", value / limit)
    }
}

/// The largest part of a cost, named.
fn dominated_by(c: &Cost) -> String {
    let parts = [
        ("Lambda", c.lambda),
        ("API Gateway", c.api),
        ("DynamoDB", c.dynamodb),
        ("Secrets Manager", c.secrets),
        ("Scheduler", c.scheduler),
        ("SES", c.ses),
        ("SQS", c.sqs),
        ("CloudWatch Logs", c.logs),
    ];
    let (name, part) = parts
        .iter()
        .fold(("", 0.0), |best, &(n, v)| if v > best.1 { (n, v) } else { best });
    format!("{name} {:.0} %", 100.0 * part / c.total().max(f64::MIN_POSITIVE))
}

/// Each measured operation, priced, repeats averaged, in the order first measured.
struct Book {
    rows: Vec<(String, Priced, u64)>,
    ops: BTreeMap<String, Operation>,
}

impl Book {
    fn new(
        measured: &Measured,
        timings: &BTreeMap<String, bench::cost::Timing>,
        memory: f64,
    ) -> Result<Self, String> {
        let mut rows: Vec<(String, Vec<Priced>)> = Vec::new();
        let mut ops = BTreeMap::new();
        for op in &measured.operations {
            let priced = price_operation(op, timings, memory)?;
            match rows.iter_mut().find(|(n, _)| *n == op.name) {
                Some((_, list)) => list.push(priced),
                None => rows.push((op.name.clone(), vec![priced])),
            }
            ops.entry(op.name.clone()).or_insert_with(|| op.clone());
        }
        let rows = rows
            .into_iter()
            .map(|(name, list)| {
                let n = list.len() as f64;
                let first = list[0].clone();
                let mean = Priced {
                    round_trips: (list.iter().map(|p| p.round_trips).sum::<usize>() as f64 / n).round()
                        as usize,
                    read_units: list.iter().map(|p| p.read_units).sum::<f64>() / n,
                    write_units: list.iter().map(|p| p.write_units).sum::<f64>() / n,
                    billed_ms: list.iter().map(|p| p.billed_ms).sum::<f64>() / n,
                    cost: list
                        .iter()
                        .fold(Cost::default(), |c, p| c.plus(p.cost))
                        .times(1.0 / n),
                    ..first
                };
                (name, mean, list.len() as u64)
            })
            .collect();
        Ok(Self { rows, ops })
    }

    fn get(&self, name: &str) -> Result<&Priced, String> {
        self.rows
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, p, _)| p)
            .ok_or_else(|| format!("the round-trip run measured no `{name}`"))
    }

    fn op(&self, name: &str) -> Result<&Operation, String> {
        self.ops
            .get(name)
            .ok_or_else(|| format!("the round-trip run measured no `{name}`"))
    }

    fn audit(&self, name: &str) -> Result<f64, String> {
        Ok(writes_of(self.op(name)?, "AUDIT") as f64)
    }
}

fn row(out: &mut String, name: &str, function: &str, p: &Priced) {
    let other = p.cost.secrets + p.cost.scheduler + p.cost.ses + p.cost.sqs + p.cost.logs;
    let _ = writeln!(
        out,
        "| {name} | {function} | {} | {} | {:.1} | {:.1} | {:.0} | {} | {} | {} | {} | **{}** |",
        p.round_trips,
        p.vendor_calls,
        p.read_units,
        p.write_units,
        p.billed_ms,
        usd(p.cost.lambda),
        usd(p.cost.api),
        usd(p.cost.dynamodb),
        usd(other),
        usd(p.cost.total())
    );
}

/// Two invocations as one line (an operation made of a request and what it sets off).
fn both(a: &Priced, b: &Priced) -> Priced {
    Priced {
        round_trips: a.round_trips + b.round_trips,
        vendor_calls: a.vendor_calls + b.vendor_calls,
        read_units: a.read_units + b.read_units,
        write_units: a.write_units + b.write_units,
        billed_ms: a.billed_ms + b.billed_ms,
        cost: a.cost.plus(b.cost),
        ..a.clone()
    }
}

/// What `a` takes beyond `b`, two runs of one invocation, `a` with one thing more to do: that
/// thing's share (its calls, units and billed time; the invocation's own fee and logs are `b`'s).
fn beyond(a: &Priced, b: &Priced) -> Priced {
    Priced {
        round_trips: a.round_trips.saturating_sub(b.round_trips),
        vendor_calls: a.vendor_calls.saturating_sub(b.vendor_calls),
        read_units: a.read_units - b.read_units,
        write_units: a.write_units - b.write_units,
        billed_ms: a.billed_ms - b.billed_ms,
        cost: a.cost.plus(b.cost.times(-1.0)),
        ..a.clone()
    }
}

fn report(inputs: &str, coldstart: &str, template: &str) -> Result<String, String> {
    let measured = parse_inputs(inputs)?;
    let timings = parse_coldstart(coldstart);
    let memory = memory_mb(template)?;
    let book = Book::new(&measured, &timings, memory)?;
    let c: &Company = &TYPICAL;
    let mut out = String::new();

    // Prices and stand-ins.
    let _ = writeln!(
        out,
        "Computed by `infra/bench/src/bin/cost.rs` from the round-trip run above (each operation's AWS \
         calls with the sizes of the DynamoDB items they read and wrote, its vendor calls, and the size of \
         every item stored at the end, by kind), the cold-start table (section 1) and `template.yaml` \
         ({memory:.0} MB per function). List prices, us-east-1, no free tier or volume discount applied:\n"
    );
    out.push_str("| price | US$ | per | as of | source |\n|---|---|---|---|---|\n");
    for p in price::ALL {
        let _ = writeln!(
            out,
            "| {} | {} | {} {} | {} | {} |",
            p.what,
            p.usd,
            count(p.per),
            p.unit,
            p.as_of,
            p.source
        );
    }
    let _ = writeln!(
        out,
        "\nNot measurable here, so stated: a function is billed for the time it waits, which is \
         mostly on AWS and vendors, so billed duration = the function's measured init and first \
         invocation (section 1, x86_64 here for arm64 there; every invocation counted as a cold \
         start) + {:.0} ms per DynamoDB call, {:.0} ms \
         per Secrets Manager call, {:.0} ms per SES or Scheduler call, {:.0} ms per SQS call, {:.0} ms \
         per vendor call; the jobs queue's event source mapping polls with {:.0} pollers (its maximum \
         concurrency) at {:.0} receives a minute each while the queue is idle (a long poll waits up to \
         20 s); \
         {:.0} bytes of logs per invocation. DynamoDB units follow its rules: reads by 4 KB (strongly \
         consistent; index queries half), writes by 1 KB, transactions twice, an item with index keys \
         written to the index too, a delete or condition check (only the key is sent) one unit.\n",
        LATENCY.dynamodb_ms,
        LATENCY.secrets_manager_ms,
        LATENCY.ses_ms,
        LATENCY.sqs_ms,
        LATENCY.vendor_ms,
        JOB_POLLERS,
        RECEIVES_A_POLLER_MINUTE,
        LATENCY.log_bytes_per_invocation
    );

    // Per operation.
    out.push_str("### Per operation\n\n");
    out.push_str(
        "| operation | function | AWS round trips | vendor calls | read units | write units | billed ms | Lambda | API Gateway | DynamoDB | Secrets Manager, Scheduler, SES, SQS, logs | total |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, p, n) in &book.rows {
        let label = if *n > 1 {
            format!("{name} (mean of {n})")
        } else {
            name.clone()
        };
        row(&mut out, &label, p.function, p);
    }
    let provision = both(book.get("provision a company")?, book.get("claim the company")?);
    let oauth = both(
        &both(
            book.get("start an OAuth connection")?,
            book.get("open the OAuth start link (browser)")?,
        ),
        book.get("finish an OAuth connection (callback)")?,
    );
    let dismissal_10 = both(
        book.get("dismiss a person with 10 accounts (schedule)")?,
        book.get("the scheduled cleanup removing 10 accounts")?,
    );
    let dismissal_5 = both(
        book.get("dismiss a person with 5 accounts (schedule)")?,
        book.get("the scheduled cleanup removing 5 accounts")?,
    );
    // A scheduled reconciliation of an app: its start by the tick (the tick that starts it
    // beyond one that starts nothing) and the worker's run of its jobs-queue message.
    let started = beyond(
        book.get("the reconciliation tick starting one app's sync")?,
        book.get("the reconciliation tick (nothing due)")?,
    );
    let reconcile = &both(
        book.get("reconcile an app of 50 people (nothing changed)")?,
        &started,
    );
    let hour = Priced {
        round_trips: reconcile.round_trips * c.apps as usize,
        vendor_calls: reconcile.vendor_calls * c.apps as u64,
        read_units: reconcile.read_units * c.apps,
        write_units: reconcile.write_units * c.apps,
        billed_ms: reconcile.billed_ms * c.apps,
        cost: reconcile.cost.times(c.apps),
        ..reconcile.clone()
    };
    row(
        &mut out,
        "**provision (request and claim)**",
        "provision",
        &provision,
    );
    row(
        &mut out,
        "**connect an app (API key)**",
        "connect",
        book.get("connect another app")?,
    );
    row(
        &mut out,
        "**connect an app (OAuth: start and callback)**",
        "connect",
        &oauth,
    );
    row(
        &mut out,
        "**create an account**",
        "accounts",
        book.get("create another account")?,
    );
    row(
        &mut out,
        "**dismissal with 10 accounts (schedule, then the removals)**",
        "accounts, dismissal-cleanup",
        &dismissal_10,
    );
    row(
        &mut out,
        "**one reconciliation of an app (50 accounts, nothing changed): its start by the tick, the worker's run**",
        "dismissal-cleanup",
        reconcile,
    );
    row(
        &mut out,
        &format!("**an hour of reconciliation ({} apps)**", c.apps),
        "dismissal-cleanup",
        &hour,
    );

    // The typical company, a month.
    let per_account = |a: &Priced, b: &Priced, n: f64| along(a.cost, 5.0, b.cost, 10.0, n);
    let dismissal_n = per_account(&dismissal_5, &dismissal_10, c.apps);
    let hire = book
        .get("add a team member")?
        .cost
        .plus(book.get("create another account")?.cost.times(c.apps));
    let reconciliations = c.apps * HOURS_A_MONTH;
    let audit_per_dismissal = {
        let at = |n| -> Result<f64, String> {
            Ok(
                book.audit(&format!("dismiss a person with {n} accounts (schedule)"))?
                    + book.audit(&format!("the scheduled cleanup removing {n} accounts"))?,
            )
        };
        let (five, ten) = (at(5)?, at(10)?);
        five + (ten - five) * (c.apps - 5.0) / 5.0
    };
    let audit_events = c.hires
        * (book.audit("add a team member")? + c.apps * book.audit("create another account")?)
        + c.dismissals * audit_per_dismissal
        + reconciliations
            * (book.audit("reconcile an app of 50 people (nothing changed)")?
                + book.audit("the reconciliation tick starting one app's sync")?
                - book.audit("the reconciliation tick (nothing due)")?);
    let stored = |table: &str, kind: &str| -> Result<f64, String> {
        measured
            .stored
            .get(table)
            .and_then(|kinds| kinds.get(kind))
            .map(|s| s.average())
            .ok_or_else(|| format!("no stored `{kind}` item was measured in the {table} table"))
    };
    let audit_bytes = audit_events * AUDIT_MONTHS * (stored("audit", "AUDIT")? + ITEM_OVERHEAD);
    let mut data_items = 0.0;
    let mut data_bytes = 0.0;
    let mut kinds = String::new();
    for (kind, count) in company_items(c) {
        let each = stored("main", kind)?;
        data_items += count;
        data_bytes += count * (each + ITEM_OVERHEAD);
        let _ = write!(kinds, "{kind} {count:.0} × {each:.0} B, ");
    }
    let sweep = book
        .get("the sweep for lost schedules (nothing due)")?
        .cost
        .plus(Cost {
            scheduler: price::SCHEDULER_INVOCATION.of(1.0),
            ..Cost::default()
        });
    // The tick reads every connection of the deployment from the index each time (eventually
    // consistent, a page of at most 1,000), besides what the measured tick read of its own.
    let connections = COMPANIES * c.apps;
    let index_units = (connections * stored("main", "CONNECTION")? / 4096.0).ceil() / 2.0;
    let index_ms = (connections / QUERY_PAGE_ITEMS).ceil() * LATENCY.dynamodb_ms;
    let tick = book
        .get("the reconciliation tick (nothing due)")?
        .cost
        .plus(Cost {
            dynamodb: price::DYNAMODB_READ.of(index_units),
            lambda: price::LAMBDA_GB_SECOND.of(memory / 1024.0 * index_ms / 1000.0),
            scheduler: price::SCHEDULER_INVOCATION.of(1.0),
            ..Cost::default()
        });
    // The jobs queue's event source mapping polls all the time, messages or not.
    let idle_receives = JOB_POLLERS * RECEIVES_A_POLLER_MINUTE * 60.0 * HOURS_A_MONTH;
    let polling = price::SQS_REQUEST.of(idle_receives);
    let deployment = price::SECRET.of(DEPLOYMENT_SECRETS)
        + sweep.total() * SWEEPS_A_MONTH
        + tick.total() * TICKS_A_MONTH
        + polling;
    let usage = hire
        .times(c.hires)
        .plus(dismissal_n.times(c.dismissals))
        .plus(reconcile.cost.times(reconciliations));
    let usage_total = usage.total() + at_rest(audit_bytes);
    let data = at_rest(data_bytes);
    let fixed_at_scale = data + deployment / COMPANIES;

    let _ = writeln!(
        out,
        "\n### A typical company, a month\n\n{:.0} people, {:.0} connected apps, {:.0} hires and {:.0} \
         dismissals a month, each app reconciled every hour; its data after a year ({:.0} former team \
         members kept). A hire is a team member added and an account created in each app; a dismissal \
         of {:.0} accounts lies on the line through the measured dismissals of 5 and 10; a \
         reconciliation is its start by the reconciliation's tick and the worker's run of its \
         jobs-queue message, as measured (the ticks themselves are the deployment's).\n",
        c.people, c.apps, c.hires, c.dismissals, c.former_people, c.apps
    );
    out.push_str("| what | how many a month | each | a month |\n|---|---|---|---|\n");
    let line = |out: &mut String, what: &str, n: f64, each: f64| {
        let _ = writeln!(
            out,
            "| {what} | {} | {} | {} |",
            count(n),
            usd(each),
            usd(n * each)
        );
    };
    line(&mut out, "hires", c.hires, hire.total());
    line(
        &mut out,
        &format!("dismissals ({:.0} accounts)", c.apps),
        c.dismissals,
        dismissal_n.total(),
    );
    line(
        &mut out,
        "reconciliations of an app",
        reconciliations,
        reconcile.cost.total(),
    );
    let _ = writeln!(
        out,
        "| audit log at rest: {audit_events:.0} events a month kept 400 days ({:.1} MB) | | | {} |",
        audit_bytes / 1e6,
        usd(at_rest(audit_bytes))
    );
    let _ = writeln!(
        out,
        "| **the company's use** | | | **{}** |\n| the company's data at rest: {data_items:.0} items, {:.2} MB ({}each with 100 B of overhead; storage and point-in-time recovery) | | | {} |\n| its share of the deployment at {} companies ({DEPLOYMENT_SECRETS:.0} secrets, a sweep every 15 minutes, the reconciliation's tick every 5, the jobs queue's polling) | | | {} |\n| **fixed** | | | **{}** |\n| **total** | | | **{}** |",
        usd(usage_total),
        data_bytes / 1e6,
        kinds,
        usd(data),
        count(COMPANIES),
        usd(deployment / COMPANIES),
        usd(fixed_at_scale),
        usd(usage_total + fixed_at_scale)
    );

    // At 10,000 companies.
    let before = price::SECRET.of(c.apps) * COMPANIES;
    let _ = writeln!(
        out,
        "\n### At {} companies, a month\n\n| what | a month |\n|---|---|\n\
         | the companies' use | {} |\n| their data at rest | {} |\n\
         | the deployment: the credentials' keyring and the OAuth registrations ({}), the sweep ({} runs, {}), the reconciliation's tick ({} runs, each reading the index of all {} connections: {}), the jobs queue's idle polling ({} receives, {}) | {} |\n\
         | **total** | **{}** |\n\
         | before issue 27, connection credentials alone: one Secrets Manager secret per connection ({} × {}) | {} |",
        count(COMPANIES),
        usd(usage_total * COMPANIES),
        usd(data * COMPANIES),
        usd(price::SECRET.of(DEPLOYMENT_SECRETS)),
        count(SWEEPS_A_MONTH),
        usd(sweep.total() * SWEEPS_A_MONTH),
        count(TICKS_A_MONTH),
        count(connections),
        usd(tick.total() * TICKS_A_MONTH),
        count(idle_receives),
        usd(polling),
        usd(deployment),
        usd((usage_total + data) * COMPANIES + deployment),
        count(c.apps * COMPANIES),
        usd(price::SECRET.of(1.0)),
        usd(before)
    );

    // What the dismissal's writes are spent on, heaviest kind first.
    let mut dismissal_writes: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for name in [
        "dismiss a person with 10 accounts (schedule)",
        "the scheduled cleanup removing 10 accounts",
    ] {
        for (kind, (writes, units)) in write_units_by_kind(book.op(name)?) {
            let entry = dismissal_writes.entry(kind).or_default();
            entry.0 += writes;
            entry.1 += units;
        }
    }
    let (heaviest, (heaviest_writes, heaviest_units)) = dismissal_writes
        .into_iter()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .ok_or("the dismissal wrote nothing")?;
    let dismissal_item = stored("main", &heaviest)?;

    // Goals.
    let fixed_goal = 0.01;
    let dismissal_goal = 0.0001;
    let hour_goal = 0.0001;
    let _ = writeln!(
        out,
        "\n### Goals\n\n\
         - Fixed cost per company-month at {} companies: **{}**, goal under {}: {}. From the company's data \
         at rest ({data_items:.0} items, {:.2} MB: {}) and its share of the deployment ({} a month over {} \
         companies: {}). Credentials are {:.0} items of the main table ({:.0} B each, encrypted), not \
         {:.0} secrets at {} each.\n\
         - A dismissal of 10 accounts: **{}**, goal under {}: {}. From {} AWS round trips ({:.1} read and \
         {:.1} write units), {} vendor calls, {:.0} ms billed at {memory:.0} MB over two invocations; {}; \
         {heaviest_units:.0} of the write units are {heaviest_writes} writes of `{heaviest}` items (about \
         {dismissal_item:.0} B each at rest, written to the index too when they carry its keys).\n\
         - An hour of reconciliation for the typical company ({} apps of 50 accounts, nothing changed): \
         **{}**, goal under {}: {}. From {} AWS round trips ({:.1} read and {:.1} write units), {} vendor \
         calls, {:.0} ms billed over {} invocations; {}.",
        count(COMPANIES),
        usd(fixed_at_scale),
        usd(fixed_goal),
        goal(fixed_at_scale, fixed_goal),
        data_bytes / 1e6,
        usd(data),
        usd(deployment),
        count(COMPANIES),
        usd(deployment / COMPANIES),
        c.apps,
        stored("main", "CREDENTIALS")?,
        c.apps,
        usd(price::SECRET.of(1.0)),
        usd(dismissal_10.cost.total()),
        usd(dismissal_goal),
        goal(dismissal_10.cost.total(), dismissal_goal),
        dismissal_10.round_trips,
        dismissal_10.read_units,
        dismissal_10.write_units,
        dismissal_10.vendor_calls,
        dismissal_10.billed_ms,
        dominated_by(&dismissal_10.cost),
        c.apps,
        usd(hour.cost.total()),
        usd(hour_goal),
        goal(hour.cost.total(), hour_goal),
        hour.round_trips,
        hour.read_units,
        hour.write_units,
        hour.vendor_calls,
        hour.billed_ms,
        c.apps,
        dominated_by(&hour.cost),
    );
    let _ = writeln!(
        out,
        "\nNot in the model: pages and API reads by admins (each a few reads, priced like the rows \
         above), CloudWatch metrics and alarms, data transfer, the index's copy of the company and \
         dismissal items, the dead-letter queues (only what failed every retry reaches them), \
         webhook deliveries and alert emails (only for partners with endpoints and companies with \
         findings), free tiers."
    );
    Ok(out)
}
