//! Sizes and durations as nats-server 2.9.10 reads them.
//!
//! Two size conventions exist in nats-server and both are reproduced:
//! - Unquoted literals (`max_payload: 1MB`): the lexer turns `1k` into 1000 and `1kb`, `1ki`,
//!   `1kib` into 1024, likewise for m, g, t, p, e; suffixes are case-insensitive.
//! - Quoted strings for JetStream limits (`max_mem: "1G"`): a single upper-case K, M, G or T,
//!   always a power of 1024. So `1G` is 10^9 but `"1G"` is 2^30 (verified with the binary).

use std::time::Duration;

use crate::error::{DurationError, SizeError};

const KILO: u64 = 1000;
const KIBI: u64 = 1024;

/// Multiplier for the suffix of an unquoted size literal, already lower-cased. The lexer only
/// produces suffixes made of one of `kmgtpe` followed by any number of `b`/`i`; combinations
/// not listed here (`kbb`, `mbi`) are dropped silently by nats-server, we report them.
pub(crate) fn literal_multiplier(suffix: &str) -> Option<u64> {
    let (decimal, binary, power) = match suffix.as_bytes().first()? {
        b'k' => (KILO, KIBI, 1),
        b'm' => (KILO, KIBI, 2),
        b'g' => (KILO, KIBI, 3),
        b't' => (KILO, KIBI, 4),
        b'p' => (KILO, KIBI, 5),
        b'e' => (KILO, KIBI, 6),
        _ => return None,
    };
    let base = match &suffix[1..] {
        "" => decimal,
        "b" | "i" | "ib" => binary,
        _ => return None,
    };
    Some(base.pow(power))
}

/// Splits `-12kb` into its number and lower-cased suffix.
fn split_number(text: &str) -> (&str, String) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(text.len());
    (&text[..end], text[end..].to_ascii_lowercase())
}

/// Converts an integer token from the lexer (`42`, `-3`, `64KB`) to its value.
pub(crate) fn int_literal(text: &str) -> Result<i64, String> {
    let (digits, suffix) = split_number(text);
    let num: i64 = digits
        .parse()
        .map_err(|_| format!("integer '{text}' is out of range"))?;
    if suffix.is_empty() {
        return Ok(num);
    }
    let mult = literal_multiplier(&suffix).ok_or_else(|| {
        format!("unknown size suffix '{suffix}' in '{text}' (known: k, kb, ki, kib, m, mb, mi, mib, g, gb, gi, gib, t, ..., e, eb, ei, eib)")
    })?;
    // nats-server silently wraps around here; a wrapped size is never what was meant.
    i64::try_from(mult)
        .ok()
        .and_then(|m| num.checked_mul(m))
        .ok_or_else(|| format!("integer '{text}' is out of range"))
}

/// Reads a size written the way an unquoted config literal is: digits and an optional
/// case-insensitive unit. `"1k"` is 1000, `"1KB"`/`"1KiB"` 1024, `"1G"` 10^9, `"1GB"` 2^30.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let (digits, suffix) = split_number(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SizeError::Invalid(s.to_string()));
    }
    let num: u64 = digits
        .parse()
        .map_err(|_| SizeError::Overflow(s.to_string()))?;
    if suffix.is_empty() {
        return Ok(num);
    }
    let mult = literal_multiplier(&suffix).ok_or_else(|| {
        if suffix.chars().all(|c| c.is_ascii_alphabetic()) {
            SizeError::UnknownUnit {
                unit: s[digits.len()..].to_string(),
                input: s.to_string(),
            }
        } else {
            SizeError::Invalid(s.to_string())
        }
    })?;
    num.checked_mul(mult)
        .ok_or_else(|| SizeError::Overflow(s.to_string()))
}

/// Reads a size the way nats-server reads quoted JetStream limits (`max_mem: "2G"`): digits
/// followed by exactly one upper-case K, M, G or T, each a power of 1024.
pub fn parse_storage_size(s: &str) -> Result<u64, SizeError> {
    let Some(unit) = s.chars().last() else {
        return Err(SizeError::Invalid(s.to_string()));
    };
    let shift = match unit {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => return Err(SizeError::Invalid(s.to_string())),
    };
    let digits = &s[..s.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SizeError::Invalid(s.to_string()));
    }
    let num: u64 = digits
        .parse()
        .map_err(|_| SizeError::Overflow(s.to_string()))?;
    num.checked_mul(1u64 << shift)
        .ok_or_else(|| SizeError::Overflow(s.to_string()))
}

/// True when `s` has the shape nats-server's quoted JetStream sizes use (`"1G"`), which take
/// precedence over the literal reading in [`crate::Spanned::as_size_bytes`].
pub(crate) fn is_storage_size(s: &str) -> bool {
    matches!(s.chars().last(), Some('K' | 'M' | 'G' | 'T'))
        && s.len() > 1
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// Go's duration limit: durations are signed 64-bit nanosecond counts.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a duration in Go's `time.ParseDuration` syntax, as nats-server does for options such
/// as `ping_interval: "2m"`: a sequence of decimal numbers, each with an optional fraction and
/// a unit (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), e.g. `"1h30m"`, `"1.5s"`, `"500ms"`.
/// A lone `"0"` needs no unit. Negative durations are refused since a `Duration` cannot hold
/// them. Fractions are computed exactly, where Go rounds through a float; the two can only
/// differ below a nanosecond.
pub fn parse_go_duration(s: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(s.to_string());
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after) = rest.split_at(int_len);
        let (frac_digits, after) = match after.strip_prefix('.') {
            Some(tail) => {
                let n = tail.bytes().take_while(u8::is_ascii_digit).count();
                tail.split_at(n)
            }
            None => ("", after),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(s.to_string()));
        }
        let (unit, tail) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_string(),
                    input: s.to_string(),
                })
            }
        };
        let overflow = || DurationError::Overflow(s.to_string());
        // Digits beyond what fits are overflow for the integer part; for the fraction they
        // are below a nanosecond for any unit, so 20 digits are plenty.
        let whole: u128 = if int_digits.is_empty() {
            0
        } else {
            int_digits.parse().map_err(|_| overflow())?
        };
        let frac = &frac_digits[..frac_digits.len().min(20)];
        let mut part = whole.checked_mul(unit_nanos).ok_or_else(overflow)?;
        if !frac.is_empty() {
            let num: u128 = frac.parse().map_err(|_| invalid())?;
            part += num * unit_nanos / 10u128.pow(frac.len() as u32);
        }
        total = total.checked_add(part).ok_or_else(overflow)?;
        if total > MAX_NANOS + 1 {
            return Err(overflow());
        }
        rest = tail;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(s.to_string()));
    }
    if total > MAX_NANOS {
        return Err(DurationError::Overflow(s.to_string()));
    }
    let secs = (total / 1_000_000_000) as u64;
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expectation here was checked against nats-server 2.9.10: sizes through
    // `max_pending: <literal>` and `jetstream { max_mem: "<string>" }` read back from /varz,
    // durations through `ping_interval: "<string>"` read back from /varz.

    #[test]
    fn literal_multipliers_match_nats_server() {
        let cases: &[(&str, i64)] = &[
            ("1", 1),
            ("1k", 1000),
            ("1K", 1000),
            ("1kb", 1024),
            ("1KB", 1024),
            ("1Kb", 1024),
            ("1kB", 1024),
            ("1ki", 1024),
            ("1kib", 1024),
            ("1KiB", 1024),
            ("1KIB", 1024),
            ("1m", 1_000_000),
            ("1M", 1_000_000),
            ("1mb", 1 << 20),
            ("1MB", 1 << 20),
            ("1mi", 1 << 20),
            ("1Mi", 1 << 20),
            ("1MiB", 1 << 20),
            ("1g", 1_000_000_000),
            ("1G", 1_000_000_000),
            ("1gb", 1 << 30),
            ("1gi", 1 << 30),
            ("1gib", 1 << 30),
            ("1t", 1_000_000_000_000),
            ("1T", 1_000_000_000_000),
            ("1tb", 1 << 40),
            ("1ti", 1 << 40),
            ("2Ti", 2 << 40),
            ("1tib", 1 << 40),
            ("3P", 3_000_000_000_000_000),
            ("1pb", 1 << 50),
            ("1pi", 1 << 50),
            ("1pib", 1 << 50),
            ("1e", 1_000_000_000_000_000_000),
            ("1eb", 1 << 60),
            ("1ei", 1 << 60),
            ("1eib", 1 << 60),
            ("-1k", -1000),
            ("007", 7),
            ("9223372036854775807", i64::MAX),
        ];
        for (text, want) in cases {
            assert_eq!(int_literal(text), Ok(*want), "{text}");
            if !text.starts_with('-') {
                assert_eq!(parse_size(text), Ok(*want as u64), "{text}");
            }
        }
    }

    #[test]
    fn literal_errors() {
        // nats-server 2.9.10 rejects this one too ("integer ... is out of the range").
        assert!(int_literal("9223372036854775808").is_err());
        // nats-server wraps 10e around to a negative number and drops `1kbb`; we refuse both.
        assert!(int_literal("10e").is_err());
        assert!(int_literal("1kbb").is_err());
        assert!(int_literal("1mbi").is_err());
        assert_eq!(parse_size("10E"), Ok(10_000_000_000_000_000_000));
        assert!(matches!(parse_size("100E"), Err(SizeError::Overflow(_))));
        assert!(matches!(parse_size(""), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("-1MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("1 MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(
            parse_size("1XB"),
            Err(SizeError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn storage_sizes_match_jetstream_strings() {
        assert_eq!(parse_storage_size("1G"), Ok(1 << 30));
        assert_eq!(parse_storage_size("2T"), Ok(2 << 40));
        assert_eq!(parse_storage_size("64K"), Ok(64 << 10));
        assert_eq!(parse_storage_size("3M"), Ok(3 << 20));
        // nats-server: "sizes defined as strings must end in K, M, G, T" / ParseInt errors.
        for bad in ["1GB", "1g", "1024", "1 G", "G", ""] {
            assert!(parse_storage_size(bad).is_err(), "{bad}");
        }
        assert!(is_storage_size("1G") && !is_storage_size("1GB") && !is_storage_size("G"));
    }

    #[test]
    fn go_durations_match_nats_server() {
        let ms = Duration::from_millis;
        let cases: &[(&str, Duration)] = &[
            ("2m", Duration::from_secs(120)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5s", ms(1500)),
            ("500ms", ms(500)),
            ("1us", Duration::from_nanos(1000)),
            ("1\u{b5}s", Duration::from_nanos(1000)),
            ("1\u{3bc}s", Duration::from_nanos(1000)),
            ("1ns", Duration::from_nanos(1)),
            ("+5s", Duration::from_secs(5)),
            (".5s", ms(500)),
            ("5.s", Duration::from_secs(5)),
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("0.1ns", Duration::ZERO),
            ("1h1h", Duration::from_secs(7200)),
            ("2m30s500ms", ms(150_500)),
            ("1.0000000001s", Duration::from_secs(1)),
            ("2562047h", Duration::from_secs(2_562_047 * 3600)),
            (
                "9223372036854775807ns",
                Duration::from_nanos(i64::MAX as u64),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn go_duration_errors_match_nats_server() {
        use DurationError::*;
        assert_eq!(parse_go_duration("30"), Err(MissingUnit("30".into())));
        assert_eq!(parse_go_duration("1"), Err(MissingUnit("1".into())));
        assert!(matches!(parse_go_duration("1d"), Err(UnknownUnit { unit, .. }) if unit == "d"));
        assert!(matches!(parse_go_duration("1S"), Err(UnknownUnit { .. })));
        assert!(
            matches!(parse_go_duration("1h 30m"), Err(UnknownUnit { unit, .. }) if unit == "h ")
        );
        assert!(matches!(parse_go_duration("1e3s"), Err(UnknownUnit { .. })));
        for bad in ["", ".s", "s", "-", "+", "1.2.3s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse_go_duration("2562048h"), Err(Overflow(_))));
        assert!(matches!(
            parse_go_duration("9223372036854775808ns"),
            Err(Overflow(_))
        ));
        assert!(matches!(
            parse_go_duration("99999999999999999999999999999999999999999h"),
            Err(Overflow(_))
        ));
        // Go accepts "-1s"; a std Duration cannot hold it.
        assert_eq!(parse_go_duration("-1s"), Err(Negative("-1s".into())));
    }
}
