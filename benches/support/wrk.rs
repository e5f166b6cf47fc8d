//! Running wrk (the HTTP load generator of the benchmarks) and reading its report.

use std::process::Command;

/// Runs wrk with `args` and returns its report.
pub fn wrk(args: &[&str]) -> String {
    let out = Command::new("wrk")
        .args(args)
        .output()
        .expect("wrk (apt-get install wrk)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value after `label` on the report's line that starts with it (`Requests/sec:`, `50%`).
pub fn field<'a>(out: &'a str, label: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().nth(1))
}

/// The 99th percentile latency of a `--latency` report.
pub fn p99(out: &str) -> String {
    field(out, "99%").unwrap_or("?").to_owned()
}
