//! Parsers for flag values: durations (`5s`, `250ms`, `1h30m`), headers (`Key:Value`),
//! byte sizes (`1KiB`) and metadata (`key=value`).

use std::time::Duration;

/// Parses a duration such as `5s`, `250ms`, `1.5s`, `2m`, `100us` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 5s, 250ms or 2m"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: use ns, us, ms, s, m or h"
            ))
        }
    };
    let seconds = value * seconds_per_unit;
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A header given as `-H Key:Value` (the first `:` separates key from value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderArg {
    pub key: String,
    pub value: String,
}

/// Parses `Key:Value`; surrounding whitespace is trimmed, the value may be empty or contain `:`.
pub fn parse_header(text: &str) -> Result<HeaderArg, String> {
    let (key, value) = text
        .split_once(':')
        .ok_or_else(|| format!("invalid header {text:?}: expected Key:Value"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("invalid header {text:?}: the key is empty"));
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(format!(
            "invalid header {text:?}: the key must not contain whitespace"
        ));
    }
    let value = value.trim();
    if value.contains(['\r', '\n']) {
        return Err(format!(
            "invalid header {text:?}: the value must not contain line breaks"
        ));
    }
    Ok(HeaderArg {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// Parses a retention period such as `1h`, `1h30m`, `2d`, `1w` or `0` (no limit): a sum of
/// [`parse_duration`] terms, plus `d` (days) and `w` (weeks) for long-lived buckets.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: expected e.g. 1h, 30m or 2d".to_string());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - digits);
        let (term, tail) = rest.split_at(digits + unit_len);
        let (number, unit) = term.split_at(digits);
        let days = match unit.trim() {
            "d" => Some(1.0),
            "w" => Some(7.0),
            _ => None,
        };
        let term_duration = match days {
            Some(days) => {
                let value: f64 = number.parse().map_err(|_| {
                    format!("invalid duration {text:?}: expected e.g. 1h, 30m or 2d")
                })?;
                let seconds = value * days * 86_400.0;
                if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
                    return Err(format!("duration {text:?} is out of range"));
                }
                Duration::from_secs_f64(seconds)
            }
            None => parse_duration(term).map_err(|e| format!("{e} (in {text:?})"))?,
        };
        total = total
            .checked_add(term_duration)
            .ok_or_else(|| format!("duration {text:?} is out of range"))?;
        rest = tail;
    }
    Ok(total)
}

/// Parses a byte size such as `1024`, `1KiB`, `1.5 MB`, `2G` or `-1` (unlimited).
///
/// Every unit is binary however it is spelled (`K`, `KB` and `KiB` are all 1024 bytes),
/// as the `nats` CLI reads them.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text == "-1" {
        return Ok(-1);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 1024, 512KiB, 1GiB or -1"))?;
    let power = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        "p" | "pb" | "pib" => 5,
        other => {
            return Err(format!(
                "invalid size unit {other:?} in {text:?}: use B, KiB, MiB, GiB, TiB or PiB"
            ))
        }
    };
    let bytes = (value * 1024f64.powi(power)).floor();
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(format!("size {text:?} is out of range"));
    }
    Ok(bytes as i64)
}

/// A `--metadata key=value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataArg {
    pub key: String,
    pub value: String,
}

/// Parses `key=value` (or `key:value`, as the `nats` CLI also accepts): the first `=` or `:`
/// separates them; the value may be empty or contain either character.
pub fn parse_metadata(text: &str) -> Result<MetadataArg, String> {
    let at = text
        .find(['=', ':'])
        .ok_or_else(|| format!("invalid metadata {text:?}: expected key=value"))?;
    let key = text[..at].trim();
    if key.is_empty() {
        return Err(format!("invalid metadata {text:?}: the key is empty"));
    }
    Ok(MetadataArg {
        key: key.to_string(),
        value: text[at + 1..].trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
    }

    #[test]
    fn bad_durations_are_errors() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("1e99").is_err());
    }

    #[test]
    fn header_splits_on_first_colon_and_trims() {
        let h = parse_header(" Content-Type : text/plain ").unwrap();
        assert_eq!(h.key, "Content-Type");
        assert_eq!(h.value, "text/plain");
        let h = parse_header("Url:http://x:1/").unwrap();
        assert_eq!(h.value, "http://x:1/");
        assert_eq!(parse_header("Empty:").unwrap().value, "");
    }

    #[test]
    fn malformed_headers_are_rejected() {
        assert!(parse_header("novalue").is_err());
        assert!(parse_header(":value").is_err());
        assert!(parse_header("bad key:v").is_err());
        assert!(parse_header("k:line\nbreak").is_err());
    }

    #[test]
    fn ttls_add_up_their_terms() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_ttl("1w1d"), Ok(Duration::from_secs(8 * 86_400)));
        assert_eq!(parse_ttl("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_ttl("0"), Ok(Duration::ZERO));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn bad_ttls_are_errors() {
        assert!(parse_ttl("").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("1h-5m").is_err());
        assert!(parse_ttl("99999999999d").is_err());
    }

    #[test]
    fn sizes_use_binary_units_however_spelled() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1kb"), Ok(1024));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1.5 MiB"), Ok(1_572_864));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2TB"), Ok(2 << 40));
        assert_eq!(parse_size("-1"), Ok(-1));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(parse_size("").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("-2").is_err());
        assert!(parse_size("99999999PiB").is_err());
    }

    #[test]
    fn metadata_splits_on_the_first_separator() {
        let m = parse_metadata("owner=ops").unwrap();
        assert_eq!((m.key.as_str(), m.value.as_str()), ("owner", "ops"));
        let m = parse_metadata("url=http://x:1/?a=b").unwrap();
        assert_eq!(
            (m.key.as_str(), m.value.as_str()),
            ("url", "http://x:1/?a=b")
        );
        let m = parse_metadata("team:core").unwrap();
        assert_eq!((m.key.as_str(), m.value.as_str()), ("team", "core"));
        assert_eq!(parse_metadata("empty=").unwrap().value, "");
        assert!(parse_metadata("novalue").is_err());
        assert!(parse_metadata("=v").is_err());
    }
}
