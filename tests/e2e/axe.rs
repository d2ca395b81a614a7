//! axe-core on every console page the browser tests visit, at desktop width and on a phone
//! (390×844): no critical and no serious violation, and no sideways scrolling on the phone. axe-core 4.14.1 is vendored as npm
//! publishes it (`npm pack axe-core`: `package/axe.min.js`, MPL-2.0, its licence header
//! kept; sha256 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c), so the
//! tests reach no network. The script goes in through WebDriver, as the body of the
//! executed function: the pages' CSP (no inline or foreign script) stays as it is.

use std::collections::BTreeMap;
use std::sync::Mutex;

use fantoccini::Client;
use serde_json::Value;

const AXE: &str = include_str!("vendor/axe.min.js");

/// The tests' desktop window, and the phone the issue names (CSS pixels).
const DESKTOP: (u32, u32) = (1100, 900);
const PHONE: (u32, u32) = (390, 844);

/// Every audit of the test process, in order: the page (path and width) and its violations
/// by impact.
static AUDITS: Mutex<Vec<(String, BTreeMap<String, usize>)>> = Mutex::new(Vec::new());

/// One axe run on the auditor's page; the violations as `(rule, impact, help, nodes)`.
async fn run(auditor: &Client) -> Vec<(String, String, String, Vec<String>)> {
    let script = format!(
        "{AXE}\n;const done = arguments[arguments.length - 1];\
         axe.run(document, {{resultTypes: ['violations']}})\
           .then(r => done(r.violations.map(v => [v.id, v.impact || 'minor', v.help, v.nodes.map(n => n.target.join(' '))])))\
           .catch(e => done('axe failed: ' + e));"
    );
    let answer = auditor.execute_async(&script, vec![]).await.expect("axe runs");
    let Value::Array(found) = answer else {
        panic!("{answer}")
    };
    found
        .into_iter()
        .map(|v| {
            let text = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
            let nodes = v[3]
                .as_array()
                .map(|n| n.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            (text(0), text(1), text(2), nodes)
        })
        .collect()
}

/// Audits the page `b` shows (a console or claim page; the sandbox's vendor pages are not
/// ours) at desktop width and on a phone. The tests' browsers mostly run without script,
/// where axe cannot run: `auditor`, a script-enabled session on the same origin, is given
/// the very document `b` shows (its scripts left out) and axe runs there, styles and all.
/// Panics on a critical or serious violation, naming it and where.
pub(crate) async fn audit(b: &Client, auditor: &Client, base: &str) {
    let url = b.current_url().await.unwrap();
    let path = url.path().to_owned();
    if !(path.starts_with("/console") || path.starts_with("/claim_account")) {
        return;
    }
    let source = b.source().await.unwrap();
    let without_scripts = strip_scripts(&source);
    // On the origin, so the page's stylesheet loads as it does for `b`.
    let here = auditor.current_url().await.unwrap();
    if !here.as_str().starts_with(base) {
        auditor
            .goto(&format!("{base}/console/console.css"))
            .await
            .unwrap();
    }
    auditor
        .execute(
            "document.open(); document.write(arguments[0]); document.close();",
            vec![Value::String(without_scripts)],
        )
        .await
        .unwrap();
    // The stylesheet is there once the document's styles apply (the written document
    // loads it anew).
    auditor
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const sheets = () => Array.from(document.querySelectorAll('link[rel=stylesheet]'));\
             const ready = () => sheets().every(l => l.sheet);\
             const wait = () => ready() ? done(true) : requestAnimationFrame(wait); wait();",
            vec![],
        )
        .await
        .unwrap();
    for (w, h) in [DESKTOP, PHONE] {
        auditor.set_window_size(w, h).await.unwrap();
        let violations = run(auditor).await;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, impact, _, _) in &violations {
            *counts.entry(impact.clone()).or_default() += 1;
        }
        AUDITS.lock().unwrap().push((format!("{path} at {w}px"), counts));
        if (w, h) == PHONE {
            let sideways = auditor
                .execute(
                    "return document.documentElement.scrollWidth > window.innerWidth",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(sideways, false, "{path} scrolls sideways at {w}×{h}");
        }
        let bad: Vec<_> = violations
            .iter()
            .filter(|(_, impact, _, _)| impact == "critical" || impact == "serious")
            .collect();
        assert!(
            bad.is_empty(),
            "axe: {} critical or serious on {path} at {w}×{h}: {bad:#?}",
            bad.len()
        );
    }
}

/// The document without its `<script>` elements (the auditor has script on; the audited
/// browser mostly not).
fn strip_scripts(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<script") {
        out.push_str(&rest[..at]);
        match rest[at..].find("</script>") {
            Some(end) => rest = &rest[at + end + "</script>".len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the audits found so far in this process, as one line (printed by each browser
/// test at its end).
pub(crate) fn summary() -> String {
    let audits = AUDITS.lock().unwrap();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    let pages: std::collections::BTreeSet<&str> = audits
        .iter()
        .map(|(page, _)| page.split(" at ").next().unwrap_or(page))
        .collect();
    for (_, counts) in audits.iter() {
        for (impact, n) in counts {
            *totals.entry(impact.as_str()).or_default() += n;
        }
    }
    let of = |impact: &str| totals.get(impact).copied().unwrap_or(0);
    format!(
        "axe-core 4.14.1: {} audits of {} pages (each at 1100x900 and 390x844): {} critical, {} serious, {} moderate, {} minor",
        audits.len(),
        pages.len(),
        of("critical"),
        of("serious"),
        of("moderate"),
        of("minor")
    )
}
