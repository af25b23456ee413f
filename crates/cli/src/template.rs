//! Body and header templates in the style of the `nats` CLI.
//!
//! Supported placeholders (whitespace and a leading `.` are optional, so
//! `{{Count}}`, `{{ Count }}` and `{{.Count}}` are equivalent):
//! `Count` (1-based message number), `TimeStamp` (RFC 3339 with nanoseconds, UTC),
//! `Unix`, `UnixNano`, `Time` (`3:04PM`, UTC) and `ID` (a fresh NUID).
//! Anything else between `{{` and `}}` is left as it was written.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Count,
    TimeStamp,
    Unix,
    UnixNano,
    Time,
    Id,
}

/// A pre-parsed template; rendering it never fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let after_open = &rest[open + 2..];
            let Some(close) = after_open.find("}}") else {
                break;
            };
            literal.push_str(&rest[..open]);
            let name = after_open[..close].trim();
            let name = name.strip_prefix('.').unwrap_or(name);
            let part = match name {
                "Count" => Some(Part::Count),
                "TimeStamp" => Some(Part::TimeStamp),
                "Unix" => Some(Part::Unix),
                "UnixNano" => Some(Part::UnixNano),
                "Time" => Some(Part::Time),
                "ID" => Some(Part::Id),
                _ => None,
            };
            match part {
                Some(part) => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                }
                None => literal.push_str(&rest[open..open + 2 + close + 2]),
            }
            rest = &after_open[close + 2..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Template { parts }
    }

    /// True when rendering always yields the same text (no placeholders).
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Renders the template for message number `count` (1-based) at the current time.
    pub fn render(&self, count: u64) -> String {
        self.render_at(count, SystemTime::now())
    }

    pub fn render_at(&self, count: u64, now: SystemTime) -> String {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Count => out.push_str(&count.to_string()),
                Part::TimeStamp => out.push_str(&rfc3339_nano(
                    since_epoch.as_secs(),
                    since_epoch.subsec_nanos(),
                )),
                Part::Unix => out.push_str(&since_epoch.as_secs().to_string()),
                Part::UnixNano => out.push_str(&since_epoch.as_nanos().to_string()),
                Part::Time => out.push_str(&kitchen(since_epoch.as_secs())),
                Part::Id => out.push_str(&nuid::next().to_string()),
            }
        }
        out
    }
}

/// Days since 1970-01-01 to a (year, month, day) civil date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats like Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction are dropped.
pub fn rfc3339_nano(unix_secs: u64, nanos: u32) -> String {
    let secs = unix_secs as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Formats like Go's `time.Kitchen` (`3:04PM`) in UTC.
fn kitchen(unix_secs: u64) -> String {
    let second_of_day = unix_secs % 86_400;
    let hour = second_of_day / 3600;
    let minute = second_of_day / 60 % 60;
    let (hour12, suffix) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    format!("{hour12}:{minute:02}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn count_placeholder_in_all_spellings() {
        for text in [
            "n={{Count}}",
            "n={{ Count }}",
            "n={{.Count}}",
            "n={{ .Count }}",
        ] {
            assert_eq!(Template::parse(text).render(7), "n=7", "{text}");
        }
    }

    #[test]
    fn timestamp_is_rfc3339_nano_utc() {
        // 2024-02-29T13:45:01.5Z
        let t = Template::parse("{{TimeStamp}}");
        assert_eq!(
            t.render_at(1, at(1_709_214_301, 500_000_000)),
            "2024-02-29T13:45:01.5Z"
        );
        assert_eq!(t.render_at(1, at(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            t.render_at(1, at(951_782_400, 123)),
            "2000-02-29T00:00:00.000000123Z"
        );
    }

    #[test]
    fn unix_time_and_kitchen() {
        let t = Template::parse("{{Unix}} {{UnixNano}} {{Time}}");
        assert_eq!(
            t.render_at(1, at(1_709_214_301, 42)),
            "1709214301 1709214301000000042 1:45PM"
        );
        assert_eq!(
            Template::parse("{{Time}}").render_at(1, at(0, 0)),
            "12:00AM"
        );
    }

    #[test]
    fn unknown_and_unterminated_placeholders_stay_literal() {
        let t = Template::parse("{{Nope}} {{Count}} {{ x");
        assert_eq!(t.render(3), "{{Nope}} 3 {{ x");
        assert!(!t.is_static());
        let json = Template::parse(r#"{"a":{"b":1}}"#);
        assert!(json.is_static());
        assert_eq!(json.render(1), r#"{"a":{"b":1}}"#);
    }

    #[test]
    fn id_placeholder_is_unique() {
        let t = Template::parse("{{ID}}");
        let a = t.render(1);
        let b = t.render(1);
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
    }
}
