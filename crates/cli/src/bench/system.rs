//! Process-level helpers: the open-file limit, a server's resident memory and CPU time.

use crate::error::{CliError, Result};

/// Raises this process's RLIMIT_NOFILE soft limit to at least `wanted` (capped at the hard limit).
/// Returns the soft limit in force afterwards.
pub fn raise_fd_limit(wanted: u64) -> Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the valid `limit` struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(CliError::io(
            "cannot read the open-file limit",
            std::io::Error::last_os_error(),
        ));
    }
    let current = limit.rlim_cur;
    if current >= wanted {
        return Ok(current);
    }
    let target = wanted.min(limit.rlim_max);
    limit.rlim_cur = target;
    // SAFETY: setrlimit reads the valid `limit` struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(CliError::io(
            "cannot raise the open-file limit",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(target)
}

/// Parses the `VmRSS:` line of a /proc/PID/status file into bytes.
pub fn parse_vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => Some(value * 1024),
        Some("mB") | Some("MB") => Some(value * 1024 * 1024),
        Some(_) => None,
    }
}

/// The resident set size of process `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| {
        CliError::io(
            format!("cannot read {path} (is --pid the server's process id, on this machine?)"),
            e,
        )
    })?;
    parse_vm_rss_bytes(&status)
        .ok_or_else(|| CliError::Usage(format!("{path} has no VmRSS line (is it a zombie?)")))
}

/// User plus system CPU time from a /proc/PID/stat line, in clock ticks. The command name
/// (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The CPU time (user plus system) process `pid` has used so far.
pub fn cpu_time(pid: u32) -> Result<std::time::Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| {
        CliError::io(
            format!("cannot read {path} (is --pid the server's process id, on this machine?)"),
            e,
        )
    })?;
    let ticks = parse_cpu_ticks(&stat)
        .ok_or_else(|| CliError::Usage(format!("{path} is not in the expected format")))?;
    // SAFETY: sysconf only reads a configuration value.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(std::time::Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / per_sec,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tnats-server\nVmPeak:\t  1000 kB\nVmRSS:\t   12345 kB\nThreads:\t5\n";
        assert_eq!(parse_vm_rss_bytes(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss_bytes("Name:\tx\n"), None);
    }

    #[test]
    fn parses_cpu_ticks_after_an_odd_command_name() {
        let stat = "42 (weir (x) y) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
        assert!(cpu_time(std::process::id()).is_ok());
    }

    #[test]
    fn own_rss_is_positive() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }

    #[test]
    fn fd_limit_is_at_least_current() {
        let limit = raise_fd_limit(64).unwrap();
        assert!(limit >= 64);
    }
}
