//! Timestamps as Go's `time.Time` marshals them: RFC 3339 in UTC with up to
//! nine fractional digits, trailing zeros trimmed (Go's `RFC3339Nano`), and
//! the zero time `0001-01-01T00:00:00Z` for "never".

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// A point in time with nanosecond precision; `Timestamp::ZERO` is Go's zero
/// `time.Time`, which nats-server emits for unset times (e.g. `first_ts` of
/// an empty stream).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Go's zero time: January 1, year 1, 00:00:00 UTC.
    pub const ZERO: Timestamp = Timestamp(match Date::from_calendar_date(1, Month::January, 1) {
        Ok(d) => d.midnight().assume_utc(),
        Err(_) => OffsetDateTime::UNIX_EPOCH,
    });

    /// From nanoseconds since the Unix epoch (the unit stores keep).
    pub fn from_unix_nanos(nanos: i64) -> Self {
        // Every i64 nanosecond count is within `time`'s supported range.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
            .map(Timestamp)
            .unwrap_or(Timestamp::ZERO)
    }

    /// Nanoseconds since the Unix epoch, saturating outside the i64 range
    /// (the zero time saturates to `i64::MIN`).
    pub fn unix_nanos(&self) -> i64 {
        let n = self.0.unix_timestamp_nanos();
        i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
    }

    /// The current time.
    pub fn now() -> Self {
        Timestamp(OffsetDateTime::now_utc())
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// Parses RFC 3339 (any offset, any number of fractional digits) and
    /// normalises to UTC.
    pub fn parse(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| Timestamp(t.to_offset(UtcOffset::UTC)))
    }

    /// Formats like Go's `time.Time.MarshalJSON` for a UTC time.
    pub fn to_rfc3339(&self) -> String {
        let t = self.0;
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let nanos = t.nanosecond();
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::ZERO
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("parsing time {s:?} as RFC 3339 failed"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_formats_like_go() {
        assert_eq!(Timestamp::ZERO.to_rfc3339(), "0001-01-01T00:00:00Z");
        assert_eq!(Timestamp::default(), Timestamp::ZERO);
        assert!(Timestamp::parse("0001-01-01T00:00:00Z").unwrap().is_zero());
    }

    #[test]
    fn trailing_zeros_trimmed() {
        let t = Timestamp::parse("2026-11-22T00:52:37.892837510Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T00:52:37.89283751Z");
        let t = Timestamp::parse("2020-01-02T03:04:05.5Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-01-02T03:04:05.5Z");
        let t = Timestamp::parse("2020-01-02T03:04:05Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-01-02T03:04:05Z");
    }

    #[test]
    fn offsets_normalise_to_utc() {
        let t = Timestamp::parse("2020-01-02T05:04:05.000000001+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-01-02T03:04:05.000000001Z");
    }

    #[test]
    fn unix_nanos_round_trip() {
        let t = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        assert_eq!(t.unix_nanos(), 1_700_000_000_123_456_789);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(Timestamp::ZERO.unix_nanos(), i64::MIN);
    }

    #[test]
    fn json_round_trip_and_rejects_garbage() {
        let t: Timestamp = serde_json::from_str("\"2026-11-22T00:53:03.476050833Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-22T00:53:03.476050833Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("5").is_err());
    }
}
