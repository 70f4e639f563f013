//! This process's memory and CPU time, from `/proc/self` (Linux): the node under test runs in it.

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

/// CPU time this process has used so far, user and system, in seconds, from
/// `/proc/self/stat` (Linux reports it in USER_HZ, 100 a second on every architecture Pence
/// builds for). Unlike requests a second, CPU time a request hardly moves when the machine is
/// busy with something else, so small changes show.
pub(crate) fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name (field 2) may hold spaces; the fields after it are plain.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after the name.
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

/// The machine's CPU time so far from `/proc/stat`, in USER_HZ ticks: (idle and waiting on
/// I/O, all). Two readings give the share of the cores nothing ran on in between: during
/// creates it shows the writer and the HTTP side taking turns rather than the cores running
/// out.
pub(crate) fn machine_ticks() -> (u64, u64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<u64> = s
                .lines()
                .next()?
                .strip_prefix("cpu ")?
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal …: idle is the 4th, iowait the 5th.
            let idle = fields.get(3)? + fields.get(4)?;
            Some((idle, fields.iter().sum()))
        })
        .unwrap_or((0, 0))
}
