//! Times as the consumer API carries them (RFC 3339 strings) and as flags give them (an
//! RFC 3339 time, `YYYY-MM-DD HH:MM:SS` in UTC, or a duration relative to now).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::args::parse_ttl;
use crate::output::{human_duration, local_datetime, rfc3339_utc};

/// A point in time as Unix seconds and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    pub fn now() -> Instant {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Instant {
            secs: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            nanos: since.subsec_nanos(),
        }
    }

    fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    fn from_nanos(nanos: i128) -> Instant {
        Instant {
            secs: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
            nanos: nanos.rem_euclid(1_000_000_000) as u32,
        }
    }

    pub fn add(self, d: Duration) -> Instant {
        Instant::from_nanos(self.as_nanos() + d.as_nanos() as i128)
    }

    pub fn sub(self, d: Duration) -> Instant {
        Instant::from_nanos(self.as_nanos() - d.as_nanos() as i128)
    }

    /// How long after `earlier` this is (zero if it is not after).
    pub fn since(self, earlier: Instant) -> Duration {
        let nanos = (self.as_nanos() - earlier.as_nanos()).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    pub fn rfc3339(self) -> String {
        rfc3339_utc(self.secs, self.nanos)
    }

    pub fn local(self) -> String {
        local_datetime(self.secs)
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn number(text: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| range.contains(n))
}

/// Parses `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.5+02:00` or `2024-05-01 12:00:00`
/// (no zone: UTC, as the `nats` CLI reads it).
pub fn parse_time(text: &str) -> Option<Instant> {
    let text = text.trim();
    if text.len() < 19 || !text.is_char_boundary(19) {
        return None;
    }
    let (stamp, zone) = text.split_at(19);
    let b = stamp.as_bytes();
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = number(&stamp[0..4], 0..=9999)?;
    let month = number(&stamp[5..7], 1..=12)?;
    let day = number(&stamp[8..10], 1..=31)?;
    let hour = number(&stamp[11..13], 0..=23)?;
    let minute = number(&stamp[14..16], 0..=59)?;
    let second = number(&stamp[17..19], 0..=60)?;
    let (nanos, zone) = match zone.strip_prefix('.') {
        Some(rest) => {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return None;
            }
            let mut fraction = rest[..digits.min(9)].to_string();
            while fraction.len() < 9 {
                fraction.push('0');
            }
            (fraction.parse::<u32>().ok()?, &rest[digits..])
        }
        None => (0, zone),
    };
    let offset = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (number(h, 0..=23)? * 3600 + number(m, 0..=59)? * 60)
        }
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(Instant { secs, nanos })
}

/// A time given on the command line: an absolute time ([`parse_time`]) or a duration
/// (`1h`, `2d`, `1h30m`, optionally followed by `ago`) counted from now, into the past
/// when `past`, else into the future.
pub fn parse_when(text: &str, past: bool) -> Option<Instant> {
    if let Some(at) = parse_time(text) {
        return Some(at);
    }
    let text = text.trim();
    let text = text.strip_suffix("ago").map(str::trim_end).unwrap_or(text);
    let duration = parse_ttl(text).ok()?;
    let now = Instant::now();
    Some(if past {
        now.sub(duration)
    } else {
        now.add(duration)
    })
}

/// `3s ago` for an RFC 3339 time the server sent, against `now`; `never` when absent or
/// the zero time Go sends for "never".
pub fn ago(value: &serde_json::Value, now: Instant) -> String {
    match value.as_str().and_then(parse_time) {
        Some(at) if at.secs > 0 => format!("{} ago", human_duration(now.since(at))),
        _ => "never".to_string(),
    }
}

/// An RFC 3339 time the server sent, as local `YYYY-MM-DD HH:MM:SS`; the text itself when
/// it does not parse.
pub fn local(value: &serde_json::Value) -> String {
    match value.as_str() {
        Some(text) => parse_time(text)
            .map(Instant::local)
            .unwrap_or_else(|| text.to_string()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse_to_unix_seconds() {
        let t = parse_time("2024-05-01T12:00:00Z").unwrap();
        assert_eq!((t.secs, t.nanos), (1_714_564_800, 0));
        let t = parse_time("2024-05-01T14:00:00.5+02:00").unwrap();
        assert_eq!((t.secs, t.nanos), (1_714_564_800, 500_000_000));
        let t = parse_time("2024-05-01 12:00:00").unwrap();
        assert_eq!(t.secs, 1_714_564_800);
        let t = parse_time("2000-02-29T00:00:00.123456789123Z").unwrap();
        assert_eq!((t.secs, t.nanos), (951_782_400, 123_456_789));
        assert_eq!(
            parse_time("0001-01-01T00:00:00Z").unwrap().rfc3339(),
            "0001-01-01T00:00:00Z"
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01T12:00:00+2",
            "1h",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_count_from_now() {
        let now = Instant::now();
        let past = parse_when("1h", true).unwrap();
        let since = now.since(past).as_secs();
        assert!((3599..=3601).contains(&since), "{since}");
        let ago = parse_when("1h ago", true).unwrap();
        assert!(now.since(ago).as_secs() >= 3599);
        let future = parse_when("2d", false).unwrap();
        assert!(future.since(now).as_secs() >= 2 * 86_400 - 1);
        assert_eq!(parse_when("soon", false), None);
    }

    #[test]
    fn ago_and_local_render_server_times() {
        let now = parse_time("2024-05-01T12:00:05Z").unwrap();
        let v = serde_json::json!("2024-05-01T12:00:00Z");
        assert_eq!(ago(&v, now), "5s ago");
        assert_eq!(
            ago(&serde_json::json!("0001-01-01T00:00:00Z"), now),
            "never"
        );
        assert_eq!(ago(&serde_json::Value::Null, now), "never");
        assert!(local(&v).starts_with("2024-05-01"));
    }
}
