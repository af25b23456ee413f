//! What a stream decides about one publish before storing it, from its headers and the
//! stream's state: the checks nats-server makes, in the order it makes them (a duplicate
//! is acknowledged even when its other expectations would now fail). Pure: no I/O.

use std::time::Duration;

use weir_protocol::HeaderBlock;

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ_SUBJECT: &str = "Nats-Expected-Last-Subject-Sequence-Subject";
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
pub const ROLLUP: &str = "Nats-Rollup";
pub const TTL: &str = "Nats-TTL";

/// The parts of a stream's configuration the checks read.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub stream: String,
    pub sealed: bool,
    /// -1 for unlimited.
    pub max_msg_size: i64,
    pub allow_rollup: bool,
    pub deny_purge: bool,
    pub allow_msg_ttl: bool,
    pub discard_new: bool,
    pub discard_new_per_subject: bool,
    pub max_msgs: i64,
    pub max_bytes: i64,
    pub max_msgs_per_subject: i64,
}

/// The parts of a stream's state the checks read.
pub trait StreamView {
    fn last_seq(&self) -> u64;
    fn last_msg_id(&self) -> Option<&str>;
    fn duplicate_of(&self, msg_id: &str) -> Option<u64>;
    /// Last sequence stored on `subject`, 0 when none.
    fn last_seq_for_subject(&self, subject: &[u8]) -> u64;
    fn msgs(&self) -> u64;
    fn bytes(&self) -> u64;
    fn msgs_for_subject(&self, subject: &[u8]) -> u64;
    /// Bytes (as the store counts them) of the oldest message on `subject`, 0 when none.
    fn first_size_for_subject(&self, subject: &[u8]) -> u64;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    Subject,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgTtl {
    /// `Nats-TTL: never`: kept even past max_age.
    Never,
    After(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub msg_id: Option<String>,
    pub ttl: Option<MsgTtl>,
    pub rollup: Option<Rollup>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Store(Accepted),
    /// Already stored inside the duplicate window at this sequence.
    Duplicate {
        seq: u64,
    },
}

/// Why a publish is refused; mapped to nats-server's API errors at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("invalid operation on sealed stream")]
    Sealed,
    #[error("message size exceeds maximum allowed")]
    MessageTooLarge,
    #[error("expected stream does not match")]
    WrongStream,
    #[error("wrong last sequence: {0}")]
    WrongLastSequence(u64),
    #[error("wrong last msg ID: {0}")]
    WrongLastMsgId(String),
    #[error("rollup not permitted")]
    RollupNotPermitted,
    #[error("rollup value invalid: {0:?}")]
    RollupInvalid(String),
    #[error("invalid per-message TTL")]
    TtlInvalid,
    #[error("per-message TTL is disabled")]
    TtlDisabled,
    #[error("maximum messages exceeded")]
    MaxMsgs,
    #[error("maximum bytes exceeded")]
    MaxBytes,
    #[error("maximum messages per subject exceeded")]
    MaxMsgsPerSubject,
}

fn header_str<'a>(headers: Option<&HeaderBlock<'a>>, name: &str) -> Option<&'a str> {
    let value = headers?.get(name)?;
    let text = std::str::from_utf8(value).ok()?.trim();
    (!text.is_empty()).then_some(text)
}

fn header_u64(headers: Option<&HeaderBlock<'_>>, name: &str) -> Option<u64> {
    // nats-server reads an unparsable number as absent.
    header_str(headers, name)?.parse().ok()
}

/// `Nats-TTL`: whole seconds, a Go duration, or `never`; at least one second (ADR-43).
pub fn parse_ttl(text: &str) -> Result<MsgTtl, Rejection> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(MsgTtl::Never);
    }
    let ttl = match text.parse::<i64>() {
        Ok(secs) if secs > 0 => Duration::from_secs(secs as u64),
        Ok(_) => return Err(Rejection::TtlInvalid),
        Err(_) => weir_conf::parse_go_duration(text).map_err(|_| Rejection::TtlInvalid)?,
    };
    if ttl < Duration::from_secs(1) {
        return Err(Rejection::TtlInvalid);
    }
    Ok(MsgTtl::After(ttl))
}

/// Decides one publish of `size_bytes` (headers plus payload) on `subject`.
pub fn decide(
    rules: &Rules,
    view: &dyn StreamView,
    subject: &[u8],
    headers: Option<&HeaderBlock<'_>>,
    size_bytes: u64,
) -> Result<Decision, Rejection> {
    if rules.sealed {
        return Err(Rejection::Sealed);
    }
    if rules.max_msg_size >= 0 && size_bytes > rules.max_msg_size as u64 {
        return Err(Rejection::MessageTooLarge);
    }
    let msg_id = header_str(headers, MSG_ID);
    if let Some(seq) = msg_id.and_then(|id| view.duplicate_of(id)) {
        return Ok(Decision::Duplicate { seq });
    }
    if header_str(headers, EXPECTED_STREAM).is_some_and(|name| name != rules.stream) {
        return Err(Rejection::WrongStream);
    }
    if let Some(expected) = header_u64(headers, EXPECTED_LAST_SEQ) {
        if expected != view.last_seq() {
            return Err(Rejection::WrongLastSequence(view.last_seq()));
        }
    }
    if let Some(expected) = header_str(headers, EXPECTED_LAST_MSG_ID) {
        let last = view.last_msg_id().unwrap_or("");
        if expected != last {
            return Err(Rejection::WrongLastMsgId(last.to_string()));
        }
    }
    if let Some(expected) = header_u64(headers, EXPECTED_LAST_SUBJECT_SEQ) {
        let on = header_str(headers, EXPECTED_LAST_SUBJECT_SEQ_SUBJECT)
            .map(str::as_bytes)
            .unwrap_or(subject);
        let last = view.last_seq_for_subject(on);
        if expected != last {
            return Err(Rejection::WrongLastSequence(last));
        }
    }
    let rollup = match header_str(headers, ROLLUP) {
        None => None,
        Some(_) if !rules.allow_rollup || rules.deny_purge => {
            return Err(Rejection::RollupNotPermitted)
        }
        Some(v) if v.eq_ignore_ascii_case("sub") => Some(Rollup::Subject),
        Some(v) if v.eq_ignore_ascii_case("all") => Some(Rollup::All),
        Some(v) => return Err(Rejection::RollupInvalid(v.to_string())),
    };
    let ttl = match header_str(headers, TTL) {
        None => None,
        Some(text) => {
            let ttl = parse_ttl(text)?;
            if !rules.allow_msg_ttl {
                return Err(Rejection::TtlDisabled);
            }
            Some(ttl)
        }
    };
    if rules.discard_new && rollup.is_none() {
        // At its per-subject limit the publish replaces the subject's oldest message (as in
        // nats-server): the stream does not grow in messages, and that message's bytes are
        // freed.
        let replaces = rules.max_msgs_per_subject > 0
            && view.msgs_for_subject(subject) >= rules.max_msgs_per_subject as u64;
        if rules.discard_new_per_subject && replaces {
            return Err(Rejection::MaxMsgsPerSubject);
        }
        if rules.max_msgs > 0 && view.msgs() >= rules.max_msgs as u64 && !replaces {
            return Err(Rejection::MaxMsgs);
        }
        // Counted as the store counts it (subject and per-message overhead included): a
        // discard-new stream must never go over `max_bytes` and evict an acknowledged message.
        let stored_bytes = weir_store::msg_size(subject.len(), 0, 0) + size_bytes;
        if rules.max_bytes > 0 && view.bytes() + stored_bytes > rules.max_bytes as u64 {
            let freed = if replaces {
                view.first_size_for_subject(subject)
            } else {
                0
            };
            if (view.bytes() + stored_bytes).saturating_sub(freed) > rules.max_bytes as u64 {
                return Err(Rejection::MaxBytes);
            }
        }
    }
    Ok(Decision::Store(Accepted {
        msg_id: msg_id.map(str::to_string),
        ttl,
        rollup,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct View {
        last_seq: u64,
        last_msg_id: Option<String>,
        dup: Option<(String, u64)>,
        subject_last: u64,
        msgs: u64,
        bytes: u64,
        first_size: u64,
    }

    impl StreamView for View {
        fn last_seq(&self) -> u64 {
            self.last_seq
        }
        fn last_msg_id(&self) -> Option<&str> {
            self.last_msg_id.as_deref()
        }
        fn duplicate_of(&self, id: &str) -> Option<u64> {
            self.dup.as_ref().filter(|(d, _)| d == id).map(|(_, s)| *s)
        }
        fn last_seq_for_subject(&self, _subject: &[u8]) -> u64 {
            self.subject_last
        }
        fn msgs(&self) -> u64 {
            self.msgs
        }
        fn bytes(&self) -> u64 {
            self.bytes
        }
        fn msgs_for_subject(&self, _subject: &[u8]) -> u64 {
            self.msgs
        }
        fn first_size_for_subject(&self, _subject: &[u8]) -> u64 {
            self.first_size
        }
    }

    fn rules() -> Rules {
        Rules {
            stream: "S".into(),
            max_msg_size: -1,
            max_msgs: -1,
            max_bytes: -1,
            max_msgs_per_subject: -1,
            ..Rules::default()
        }
    }

    fn decide_with(rules: &Rules, view: &View, headers: &str) -> Result<Decision, Rejection> {
        let block = format!("NATS/1.0\r\n{headers}\r\n");
        let parsed = weir_protocol::parse_headers(block.as_bytes()).expect("valid headers");
        decide(rules, view, b"s.a", Some(&parsed), 10)
    }

    #[test]
    fn plain_publish_is_stored() {
        let d = decide(&rules(), &View::default(), b"s.a", None, 10).unwrap();
        assert_eq!(
            d,
            Decision::Store(Accepted {
                msg_id: None,
                ttl: None,
                rollup: None
            })
        );
    }

    #[test]
    fn duplicates_win_over_failed_expectations() {
        let view = View {
            dup: Some(("m1".into(), 7)),
            last_seq: 9,
            ..View::default()
        };
        let d = decide_with(
            &rules(),
            &view,
            "Nats-Msg-Id: m1\r\nNats-Expected-Last-Sequence: 1\r\n",
        );
        assert_eq!(d, Ok(Decision::Duplicate { seq: 7 }));
    }

    #[test]
    fn expectations_report_the_actual_value() {
        let view = View {
            last_seq: 5,
            last_msg_id: Some("x".into()),
            subject_last: 3,
            ..View::default()
        };
        let r = rules();
        assert_eq!(
            decide_with(&r, &view, "Nats-Expected-Last-Sequence: 4\r\n"),
            Err(Rejection::WrongLastSequence(5))
        );
        assert!(decide_with(&r, &view, "Nats-Expected-Last-Sequence: 5\r\n").is_ok());
        assert_eq!(
            decide_with(&r, &view, "Nats-Expected-Last-Msg-Id: y\r\n"),
            Err(Rejection::WrongLastMsgId("x".into()))
        );
        assert_eq!(
            decide_with(&r, &view, "Nats-Expected-Last-Subject-Sequence: 2\r\n"),
            Err(Rejection::WrongLastSequence(3))
        );
        assert_eq!(
            decide_with(&r, &view, "Nats-Expected-Stream: T\r\n"),
            Err(Rejection::WrongStream)
        );
    }

    #[test]
    fn size_and_seal_come_first() {
        let mut r = rules();
        r.max_msg_size = 5;
        assert_eq!(
            decide(&r, &View::default(), b"s", None, 6),
            Err(Rejection::MessageTooLarge)
        );
        r.sealed = true;
        assert_eq!(
            decide(&r, &View::default(), b"s", None, 1),
            Err(Rejection::Sealed)
        );
    }

    #[test]
    fn rollup_needs_permission_and_a_known_value() {
        let mut r = rules();
        let v = View::default();
        assert_eq!(
            decide_with(&r, &v, "Nats-Rollup: sub\r\n"),
            Err(Rejection::RollupNotPermitted)
        );
        r.allow_rollup = true;
        let Ok(Decision::Store(a)) = decide_with(&r, &v, "Nats-Rollup: all\r\n") else {
            panic!("rollup all is allowed");
        };
        assert_eq!(a.rollup, Some(Rollup::All));
        assert_eq!(
            decide_with(&r, &v, "Nats-Rollup: some\r\n"),
            Err(Rejection::RollupInvalid("some".into()))
        );
    }

    #[test]
    fn ttl_forms_and_permission() {
        assert_eq!(parse_ttl("never"), Ok(MsgTtl::Never));
        assert_eq!(parse_ttl("30"), Ok(MsgTtl::After(Duration::from_secs(30))));
        assert_eq!(parse_ttl("1m"), Ok(MsgTtl::After(Duration::from_secs(60))));
        assert_eq!(parse_ttl("500ms"), Err(Rejection::TtlInvalid));
        assert_eq!(parse_ttl("0"), Err(Rejection::TtlInvalid));
        assert_eq!(parse_ttl("soon"), Err(Rejection::TtlInvalid));
        let mut r = rules();
        let v = View::default();
        assert_eq!(
            decide_with(&r, &v, "Nats-TTL: 5\r\n"),
            Err(Rejection::TtlDisabled)
        );
        r.allow_msg_ttl = true;
        assert!(decide_with(&r, &v, "Nats-TTL: 5\r\n").is_ok());
    }

    #[test]
    fn discard_new_limits() {
        let mut r = rules();
        r.discard_new = true;
        r.max_msgs = 2;
        let full = View {
            msgs: 2,
            ..View::default()
        };
        assert_eq!(decide(&r, &full, b"s", None, 1), Err(Rejection::MaxMsgs));
        r.max_msgs = -1;
        r.max_bytes = 15;
        let heavy = View {
            bytes: 10,
            ..View::default()
        };
        assert_eq!(decide(&r, &heavy, b"s", None, 6), Err(Rejection::MaxBytes));
        r.discard_new = false;
        assert!(
            decide(&r, &heavy, b"s", None, 6).is_ok(),
            "discard old stores"
        );
    }

    #[test]
    fn discard_new_counts_stored_bytes_and_lets_a_replacement_in() {
        let mut r = rules();
        r.discard_new = true;
        // One message on "k" of 16 + 1 + 10 = 27 bytes; a second of the same size needs 54.
        r.max_bytes = 53;
        let one = View {
            msgs: 1,
            bytes: 27,
            first_size: 27,
            ..View::default()
        };
        assert_eq!(
            decide(&r, &one, b"k", None, 10),
            Err(Rejection::MaxBytes),
            "the subject and the per-message overhead count too"
        );
        r.max_bytes = 54;
        assert!(
            decide(&r, &one, b"k", None, 10).is_ok(),
            "exactly full is allowed"
        );
        // A KV bucket (history 1) that is full still takes an update of an existing key: the
        // old value goes, making room; so does a full max_msgs.
        r.max_bytes = 30;
        r.max_msgs = 1;
        r.max_msgs_per_subject = 1;
        assert!(decide(&r, &one, b"k", None, 10).is_ok());
        assert_eq!(decide(&r, &one, b"k", None, 14), Err(Rejection::MaxBytes));
        r.discard_new_per_subject = true;
        assert_eq!(
            decide(&r, &one, b"k", None, 10),
            Err(Rejection::MaxMsgsPerSubject)
        );
    }
}
