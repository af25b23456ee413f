//! Output helpers: log-style lines, human numbers, times and durations, tables and JSON.

use std::io::Write;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::error::{CliError, Result};

/// Local wall-clock time as `HH:MM:SS`, the prefix the `nats` CLI puts on log lines.
pub fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let Ok(secs) = libc::time_t::try_from(now) else {
        return "00:00:00".to_string();
    };
    // SAFETY: `tm` is a plain C struct that localtime_r fully initialises on success,
    // and both pointers are valid for the duration of the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if ok {
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    } else {
        let s = now % 86_400;
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Prints a log-style line to stderr (`13:45:01 Subscribing on foo`).
pub fn log(message: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{} {message}", clock());
}

/// Writes `text` to stdout; a closed pipe is an error, not a panic.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}

/// `1234567` → `1,234,567`.
pub fn commas(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as KiB/MiB/GiB with two decimals.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// A Unix time as local `YYYY-MM-DD HH:MM:SS`, the form the `nats` CLI shows; UTC (with a
/// `Z`) when the local time zone cannot be read.
pub fn local_datetime(unix_secs: i64) -> String {
    // `time_t` is 64 bits on every target the CLI builds for.
    let secs: libc::time_t = unix_secs;
    // SAFETY: as in `clock`: `tm` is plain data that localtime_r fills on success, and both
    // pointers are valid for the duration of the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { !libc::localtime_r(&secs, &mut tm).is_null() } {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            i64::from(tm.tm_year) + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        );
    }
    let (date, time) = utc_parts(unix_secs);
    format!("{date} {time}Z")
}

/// A Unix time as RFC 3339 in UTC with the nanoseconds Go prints (`2024-05-01T12:00:00.5Z`).
pub fn rfc3339_utc(unix_secs: i64, nanos: u32) -> String {
    let (date, time) = utc_parts(unix_secs);
    if nanos == 0 {
        return format!("{date}T{time}Z");
    }
    let fraction = format!("{nanos:09}");
    format!("{date}T{time}.{}Z", fraction.trim_end_matches('0'))
}

/// `(YYYY-MM-DD, HH:MM:SS)` of a Unix time in UTC (Howard Hinnant's civil-from-days).
fn utc_parts(unix_secs: i64) -> (String, String) {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        ),
    )
}

/// A duration in its two largest units: `1d2h`, `1h30m`, `45s`, `250ms`; `0s` for zero.
pub fn human_duration(duration: std::time::Duration) -> String {
    const UNITS: [(&str, u64); 5] = [
        ("y", 365 * 86_400),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ];
    let mut secs = duration.as_secs();
    if secs == 0 {
        let millis = duration.subsec_millis();
        return if millis > 0 {
            format!("{millis}ms")
        } else {
            "0s".to_string()
        };
    }
    let mut out = String::new();
    let mut parts = 0;
    for (unit, size) in UNITS {
        if secs >= size && parts < 2 {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
            parts += 1;
        } else if parts > 0 {
            // Stop at the first gap so `1d0h5m` reads as `1d`.
            break;
        }
    }
    out
}

/// A two-column key/value table.
pub fn kv_table(rows: &[(&str, String)]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    for (key, value) in rows {
        table.add_row(vec![key.to_string(), value.clone()]);
    }
    table.to_string()
}

/// A table with a header row, one row per entry.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    headed(headers, rows).to_string()
}

/// Like [`table`], but wrapped to 120 columns when output is not a terminal: for cells that
/// are sentences (messages, fixes), too wide for one line each.
pub fn wrapped_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = headed(headers, rows);
    if table.width().is_none() {
        table.set_width(120);
    }
    table.to_string()
}

fn headed(headers: &[&str], rows: Vec<Vec<String>>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table
}

/// Pretty-printed JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Usage(format!("cannot encode JSON output: {e}")))?;
    emit(&format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_group_thousands() {
        assert_eq!(commas(0), "0");
        assert_eq!(commas(999), "999");
        assert_eq!(commas(1000), "1,000");
        assert_eq!(commas(1_234_567), "1,234,567");
    }

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.00 MiB");
    }

    #[test]
    fn clock_is_hh_mm_ss() {
        let c = clock();
        assert_eq!(c.len(), 8);
        assert_eq!(c.as_bytes()[2], b':');
    }

    #[test]
    fn kv_table_contains_rows() {
        let t = kv_table(&[("Name", "weir".to_string())]);
        assert!(t.contains("Name") && t.contains("weir"));
    }

    #[test]
    fn rfc3339_renders_utc_with_trimmed_nanos() {
        assert_eq!(rfc3339_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_714_564_800, 0), "2024-05-01T12:00:00Z");
        assert_eq!(
            rfc3339_utc(951_782_400, 500_000_000),
            "2000-02-29T00:00:00.5Z"
        );
        assert_eq!(rfc3339_utc(-1, 0), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn local_datetime_has_date_and_time() {
        let text = local_datetime(1_714_564_800);
        assert!(text.starts_with("2024-05-0"), "{text}");
        assert_eq!(text.len(), 19, "{text}");
    }

    #[test]
    fn human_duration_uses_two_units() {
        use std::time::Duration;
        assert_eq!(human_duration(Duration::ZERO), "0s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(93_784)), "1d2h");
        assert_eq!(human_duration(Duration::from_secs(86_700)), "1d");
    }

    #[test]
    fn table_has_headers_and_rows() {
        let t = table(&["Key", "Value"], vec![vec!["a".into(), "1".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[1].contains("Key") && lines[1].contains("Value"),
            "{t}"
        );
        assert!(t.contains('a') && t.contains('1'), "{t}");
    }
}
