//! Parsers for flag values: durations (`5s`, `250ms`) and headers (`Key:Value`).

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
}
