//! This process's memory, from `/proc/self/status` (Linux): the node under test runs in it.

/// A `/proc/self/status` figure (`VmRSS`, `VmHWM`…) in MiB; 0 where there is none.
pub(crate) fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
