//! The machine's load while a benchmark runs.

/// Busy and total jiffies of the whole machine (all CPUs), from /proc/stat.
pub fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Share of the whole machine that was busy since `start` (all processes, all CPUs).
pub fn machine_busy_since(start: (u64, u64)) -> f64 {
    let now = machine_jiffies();
    (now.0 - start.0) as f64 / (now.1 - start.1).max(1) as f64
}
