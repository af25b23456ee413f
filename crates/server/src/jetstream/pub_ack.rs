//! Publish acknowledgements, byte for byte as nats-server 2.9.10 writes them (measured):
//! `{"stream":"S", "seq":1}`, `{"stream":"S", "seq":1,"duplicate": true}` and
//! `{"error":{"code":503,"err_code":10077,"description":"..."},"stream":"S","seq":0}`.
//! Hand-encoded: this runs once per stored message.

use super::publish_rules::Rejection;

/// An API error as nats-server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCode {
    pub code: u16,
    pub err_code: u32,
}

impl Rejection {
    /// nats-server's code and err_code for this rejection.
    pub fn api_code(&self) -> ApiCode {
        let (code, err_code) = match self {
            Rejection::Sealed => (400, 10109),
            Rejection::MessageTooLarge => (400, 10054),
            Rejection::WrongStream => (400, 10060),
            Rejection::WrongLastSequence(_) => (400, 10071),
            Rejection::WrongLastMsgId(_) => (400, 10070),
            Rejection::RollupNotPermitted | Rejection::RollupInvalid(_) => (500, 10111),
            Rejection::TtlInvalid => (400, 10165),
            Rejection::TtlDisabled => (400, 10166),
            Rejection::MaxMsgs | Rejection::MaxBytes | Rejection::MaxMsgsPerSubject => (503, 10077),
        };
        ApiCode { code, err_code }
    }
}

pub fn ok(out: &mut Vec<u8>, stream: &str, seq: u64, duplicate: bool) {
    out.extend_from_slice(b"{\"stream\":");
    push_json_str(out, stream);
    out.extend_from_slice(b", \"seq\":");
    out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
    if duplicate {
        out.extend_from_slice(b",\"duplicate\": true");
    }
    out.push(b'}');
}

pub fn error(out: &mut Vec<u8>, stream: &str, code: ApiCode, description: &str) {
    out.extend_from_slice(b"{\"error\":{\"code\":");
    out.extend_from_slice(itoa::Buffer::new().format(code.code).as_bytes());
    out.extend_from_slice(b",\"err_code\":");
    out.extend_from_slice(itoa::Buffer::new().format(code.err_code).as_bytes());
    out.extend_from_slice(b",\"description\":");
    push_json_str(out, description);
    out.extend_from_slice(b"},\"stream\":");
    push_json_str(out, stream);
    out.extend_from_slice(b",\"seq\":0}");
}

pub fn rejection(out: &mut Vec<u8>, stream: &str, rejection: &Rejection) {
    error(out, stream, rejection.api_code(), &rejection.to_string());
}

fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // serde_json escapes exactly as JSON requires; strings here are short.
    if let Ok(quoted) = serde_json::to_vec(text) {
        out.extend_from_slice(&quoted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_nats_server_bytes() {
        assert_eq!(text(|o| ok(o, "S", 1, false)), r#"{"stream":"S", "seq":1}"#);
        assert_eq!(
            text(|o| ok(o, "S", 1, true)),
            r#"{"stream":"S", "seq":1,"duplicate": true}"#
        );
        assert_eq!(
            text(|o| rejection(o, "S", &Rejection::MaxMsgs)),
            r#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}"#
        );
        assert_eq!(
            text(|o| rejection(o, "S", &Rejection::WrongLastSequence(1))),
            r#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"},"stream":"S","seq":0}"#
        );
        assert_eq!(
            text(|o| rejection(o, "S", &Rejection::WrongLastMsgId(String::new()))),
            r#"{"error":{"code":400,"err_code":10070,"description":"wrong last msg ID: "},"stream":"S","seq":0}"#
        );
        assert_eq!(
            text(|o| rejection(o, "S", &Rejection::RollupNotPermitted)),
            r#"{"error":{"code":500,"err_code":10111,"description":"rollup not permitted"},"stream":"S","seq":0}"#
        );
        assert_eq!(
            text(|o| rejection(o, "S", &Rejection::WrongStream)),
            r#"{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"},"stream":"S","seq":0}"#
        );
    }

    #[test]
    fn every_ack_is_valid_json() {
        let odd = "we\"ird\\name";
        let v: serde_json::Value = serde_json::from_str(&text(|o| ok(o, odd, 9, true))).unwrap();
        assert_eq!(v["stream"], odd);
        assert_eq!(v["duplicate"], true);
    }
}
