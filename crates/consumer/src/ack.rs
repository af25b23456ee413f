//! The ack protocol: the `$JS.ACK…` reply subject a delivered message carries, and the
//! acknowledgements clients send to it (`+ACK`, `-NAK`, `+WPI`, `+NXT`, `+TERM`).

use std::time::Duration;

/// Prefix of every ack subject.
pub const ACK_PREFIX: &str = "$JS.ACK.";

/// What an ack subject says about the delivery it acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckRef {
    /// How many times this message has been delivered, this delivery included.
    pub deliveries: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub ts_ns: i64,
    /// Messages left for the consumer after this one, when it was delivered.
    pub pending: u64,
}

/// Writes the v1 ack subject
/// `$JS.ACK.<stream>.<consumer>.<deliveries>.<sseq>.<cseq>.<ts>.<pending>` into `out`.
pub fn encode_ack_subject(out: &mut Vec<u8>, stream: &str, consumer: &str, r: &AckRef) {
    let mut num = itoa_buf();
    out.extend_from_slice(ACK_PREFIX.as_bytes());
    out.extend_from_slice(stream.as_bytes());
    out.push(b'.');
    out.extend_from_slice(consumer.as_bytes());
    for n in [r.deliveries, r.stream_seq, r.consumer_seq] {
        out.push(b'.');
        out.extend_from_slice(num.format(n).as_bytes());
    }
    out.push(b'.');
    out.extend_from_slice(num.format(r.ts_ns).as_bytes());
    out.push(b'.');
    out.extend_from_slice(num.format(r.pending).as_bytes());
}

fn itoa_buf() -> itoa::Buffer {
    itoa::Buffer::new()
}

/// Parses an ack subject. Accepts the v1 form (9 tokens) and the v2 form, which inserts
/// `<domain>.<account hash>` after `$JS.ACK` and may append a random token (11 or 12).
/// Returns the stream, consumer and the delivery it names.
pub fn parse_ack_subject(subject: &[u8]) -> Option<(&[u8], &[u8], AckRef)> {
    let rest = subject.strip_prefix(ACK_PREFIX.as_bytes())?;
    // At most 10 tokens after the prefix; collected without allocating (one call per ack).
    let mut tokens: [&[u8]; 10] = [&[]; 10];
    let mut count = 0;
    for token in rest.split(|b| *b == b'.') {
        *tokens.get_mut(count)? = token;
        count += 1;
    }
    let t = match count {
        7 => &tokens[..7],
        9 | 10 => &tokens[2..9],
        _ => return None,
    };
    Some((
        t[0],
        t[1],
        AckRef {
            deliveries: parse_u64(t[2])?,
            stream_seq: parse_u64(t[3])?,
            consumer_seq: parse_u64(t[4])?,
            ts_ns: parse_i64(t[5])?,
            pending: parse_u64(t[6])?,
        },
    ))
}

/// Decimal digits only (no sign), as the server writes them; None on overflow.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn parse_i64(digits: &[u8]) -> Option<i64> {
    match digits.strip_prefix(b"-") {
        Some(rest) => parse_u64(rest).and_then(|n| 0i64.checked_sub_unsigned(n)),
        None => parse_u64(digits).and_then(|n| i64::try_from(n).ok()),
    }
}

/// An acknowledgement's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckKind {
    /// Empty body, `+ACK` or `+OK`.
    Ack,
    /// `-NAK`, optionally with a redelivery delay (`-NAK 5s` or `-NAK {"delay": <ns>}`).
    Nak(Option<Duration>),
    /// `+WPI`: still working; restart the ack timer.
    Progress,
    /// `+NXT`: ack, then treat the rest as a pull request body.
    Next(Vec<u8>),
    /// `+TERM`: never redeliver; the optional reason goes into the advisory.
    Term(Option<String>),
}

/// Parses an ack body as nats-server does; `None` for a body it ignores.
pub fn parse_ack_body(body: &[u8]) -> Option<AckKind> {
    let body = body.trim_ascii();
    if body.is_empty() || body == b"+ACK" || body == b"+OK" {
        return Some(AckKind::Ack);
    }
    if body == b"+WPI" {
        return Some(AckKind::Progress);
    }
    if let Some(rest) = body.strip_prefix(b"-NAK") {
        return Some(AckKind::Nak(parse_nak_delay(rest.trim_ascii())));
    }
    if let Some(rest) = body.strip_prefix(b"+NXT") {
        return Some(AckKind::Next(rest.trim_ascii().to_vec()));
    }
    if let Some(rest) = body.strip_prefix(b"+TERM") {
        let reason = rest.trim_ascii();
        return Some(AckKind::Term(
            (!reason.is_empty()).then(|| String::from_utf8_lossy(reason).into_owned()),
        ));
    }
    None
}

/// A NAK delay; a value that cannot be read is a plain NAK, as in nats-server.
fn parse_nak_delay(rest: &[u8]) -> Option<Duration> {
    if rest.is_empty() {
        return None;
    }
    if rest.starts_with(b"{") {
        #[derive(serde::Deserialize)]
        struct Delay {
            #[serde(default)]
            delay: i64,
        }
        let d: Delay = serde_json::from_slice(rest).ok()?;
        return (d.delay > 0).then(|| Duration::from_nanos(d.delay as u64));
    }
    let text = std::str::from_utf8(rest).ok()?;
    weir_conf::parse_go_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ack_subjects_round_trip(
            deliveries in any::<u64>(), stream_seq in any::<u64>(), consumer_seq in any::<u64>(),
            ts_ns in any::<i64>(), pending in any::<u64>(),
        ) {
            let r = AckRef { deliveries, stream_seq, consumer_seq, ts_ns, pending };
            let mut out = Vec::new();
            encode_ack_subject(&mut out, "S", "C", &r);
            prop_assert_eq!(parse_ack_subject(&out).map(|(_, _, back)| back), Some(r));
        }

        #[test]
        fn arbitrary_ack_input_never_panics(
            subject in proptest::collection::vec(any::<u8>(), 0..96),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut full = ACK_PREFIX.as_bytes().to_vec();
            full.extend_from_slice(&subject);
            let _ = parse_ack_subject(&full);
            let _ = parse_ack_body(&body);
        }
    }

    #[test]
    fn ack_subject_round_trips() {
        let r = AckRef {
            deliveries: 2,
            stream_seq: 10,
            consumer_seq: 12,
            ts_ns: 1_700_000_000_123_456_789,
            pending: 5,
        };
        let mut out = Vec::new();
        encode_ack_subject(&mut out, "ORDERS", "worker", &r);
        assert_eq!(
            out,
            b"$JS.ACK.ORDERS.worker.2.10.12.1700000000123456789.5".to_vec()
        );
        let (s, c, back) = parse_ack_subject(&out).unwrap();
        assert_eq!((s, c, back), (&b"ORDERS"[..], &b"worker"[..], r));
    }

    #[test]
    fn v2_ack_subjects_parse() {
        let (s, c, r) = parse_ack_subject(b"$JS.ACK._.HASH.S.C.1.2.3.4.5").unwrap();
        assert_eq!(
            (s, c, r.stream_seq, r.pending),
            (&b"S"[..], &b"C"[..], 2, 5)
        );
        assert!(parse_ack_subject(b"$JS.ACK._.HASH.S.C.1.2.3.4.5.rand").is_some());
        assert!(parse_ack_subject(b"$JS.ACK.S.C.1.2.3.4").is_none());
        assert!(parse_ack_subject(b"$JS.ACK.S.C.x.2.3.4.5").is_none());
        assert!(parse_ack_subject(b"$JS.NAK.S.C.1.2.3.4.5").is_none());
        assert!(parse_ack_subject(b"$JS.ACK.S.C.1.2.3.4.5.6.7.8.9").is_none());
    }

    #[test]
    fn ack_subject_numbers_are_strict() {
        // u64 overflow, a sign on a count, and an empty token are refused.
        assert!(parse_ack_subject(b"$JS.ACK.S.C.1.18446744073709551616.3.4.5").is_none());
        assert!(parse_ack_subject(b"$JS.ACK.S.C.+1.2.3.4.5").is_none());
        assert!(parse_ack_subject(b"$JS.ACK.S.C.1..3.4.5").is_none());
        let (_, _, r) = parse_ack_subject(b"$JS.ACK.S.C.1.18446744073709551615.3.-4.5").unwrap();
        assert_eq!((r.stream_seq, r.ts_ns), (u64::MAX, -4));
        assert!(parse_ack_subject(b"$JS.ACK.S.C.1.2.3.9223372036854775808.5").is_none());
    }

    #[test]
    fn ack_bodies() {
        assert_eq!(parse_ack_body(b""), Some(AckKind::Ack));
        assert_eq!(parse_ack_body(b"+ACK"), Some(AckKind::Ack));
        assert_eq!(parse_ack_body(b"+OK"), Some(AckKind::Ack));
        assert_eq!(parse_ack_body(b"+WPI"), Some(AckKind::Progress));
        assert_eq!(parse_ack_body(b"-NAK"), Some(AckKind::Nak(None)));
        assert_eq!(
            parse_ack_body(b"-NAK 1.5s"),
            Some(AckKind::Nak(Some(Duration::from_millis(1500))))
        );
        assert_eq!(
            parse_ack_body(br#"-NAK {"delay": 2000000000}"#),
            Some(AckKind::Nak(Some(Duration::from_secs(2))))
        );
        assert_eq!(parse_ack_body(b"-NAK bogus"), Some(AckKind::Nak(None)));
        assert_eq!(parse_ack_body(b"+TERM"), Some(AckKind::Term(None)));
        assert_eq!(
            parse_ack_body(b"+TERM bad payload"),
            Some(AckKind::Term(Some("bad payload".into())))
        );
        assert_eq!(
            parse_ack_body(br#"+NXT {"batch":3}"#),
            Some(AckKind::Next(br#"{"batch":3}"#.to_vec()))
        );
        assert_eq!(parse_ack_body(b"hello"), None);
    }
}
