//! Protocol tracing (`-V`): each operation a client sends, as nats-server 2.9 writes it
//! (`<<- [SUB foo 1]`, `<<- [PUB foo 5]`, `<<- MSG_PAYLOAD: ["hi"]`), and what it is sent
//! (`->> [MSG foo 1 5]`, `->> [OK]`, `->> [PONG]`, `->> [-ERR ...]`). Passwords and tokens in
//! CONNECT are redacted: credentials never reach the logs.

use weir_protocol::ClientOp;

/// Longest payload quoted in a trace line; longer ones are cut with "...".
const MAX_TRACED_PAYLOAD_BYTES: usize = 128;

/// The trace lines for `op` (a PUB has two: the control line and its payload).
pub fn lines(op: &ClientOp<'_>) -> Vec<String> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match op {
        ClientOp::Connect(json) => vec![format!("<<- [CONNECT {}]", redact(json))],
        ClientOp::Pub(p) => {
            let reply = p.reply.map(|r| format!(" {}", text(r))).unwrap_or_default();
            let control = match p.headers {
                Some(h) => format!(
                    "<<- [HPUB {}{reply} {} {}]",
                    text(p.subject),
                    h.len(),
                    h.len() + p.payload.len()
                ),
                None => format!("<<- [PUB {}{reply} {}]", text(p.subject), p.payload.len()),
            };
            let shown = &p.payload[..p.payload.len().min(MAX_TRACED_PAYLOAD_BYTES)];
            let more = if shown.len() < p.payload.len() {
                "..."
            } else {
                ""
            };
            let payload = format!("<<- MSG_PAYLOAD: [{:?}{more}]", text(shown));
            vec![control, payload]
        }
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => {
            let queue = queue.map(|q| format!(" {}", text(q))).unwrap_or_default();
            vec![format!("<<- [SUB {}{queue} {}]", text(subject), text(sid))]
        }
        ClientOp::Unsub { sid, max_msgs } => vec![match max_msgs {
            Some(max) => format!("<<- [UNSUB {} {max}]", text(sid)),
            None => format!("<<- [UNSUB {}]", text(sid)),
        }],
        ClientOp::Ping => vec!["<<- [PING]".to_string()],
        ClientOp::Pong => vec!["<<- [PONG]".to_string()],
        ClientOp::Ok => vec!["<<- [+OK]".to_string()],
        ClientOp::Info(json) => vec![format!("<<- [INFO {}]", text(json))],
        ClientOp::Err(e) => vec![format!("<<- [-ERR {}]", text(e))],
    }
}

/// The trace line of a message delivered to a client (its control line, not the payload).
pub(crate) fn delivery(
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    headers_len: Option<usize>,
    payload_len: usize,
) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let reply = reply.map(|r| format!(" {}", text(r))).unwrap_or_default();
    match headers_len {
        Some(h) => format!(
            "->> [HMSG {} {}{reply} {h} {}]",
            text(subject),
            text(sid),
            h + payload_len
        ),
        None => format!(
            "->> [MSG {} {}{reply} {payload_len}]",
            text(subject),
            text(sid)
        ),
    }
}

/// The trace line of a protocol reply (`+OK`, `PONG`, `-ERR`) as nats-server writes it.
pub(crate) fn reply(bytes: &[u8]) -> String {
    let line = String::from_utf8_lossy(bytes);
    let line = line.trim_end();
    match line {
        "+OK" => "->> [OK]".to_string(),
        _ => match line.strip_prefix("-ERR '") {
            Some(rest) => format!("->> [-ERR {}]", rest.trim_end_matches('\'')),
            None => format!("->> [{line}]"),
        },
    }
}

/// Fields of CONNECT that hold secrets.
const SECRET_FIELDS: [&str; 2] = ["pass", "auth_token"];

/// CONNECT's JSON as sent, with the values of `pass` and `auth_token` replaced by
/// `[REDACTED]` as nats-server logs it; JSON this cannot redact for sure is not shown.
fn redact(json: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(json) else {
        return format!("<{} bytes of invalid JSON>", json.len());
    };
    let mut text = String::from_utf8_lossy(json).into_owned();
    for key in SECRET_FIELDS {
        text = redact_field(&text, key);
    }
    // Keys written with escapes (`"p\u0061ss"`) escape the textual pass: check the result.
    let still_secret = |value: &serde_json::Value| {
        SECRET_FIELDS
            .iter()
            .any(|k| value.get(k).is_some_and(|v| v != "[REDACTED]"))
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(redacted) if !still_secret(&redacted) => text,
        _ if !still_secret(&parsed) => text,
        _ => "<CONNECT with credentials>".to_string(),
    }
}

/// Replaces the string value of every `"key": "…"` in `text` with `"[REDACTED]"`.
fn redact_field(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let after_key = &rest[at + needle.len()..];
        let trimmed = after_key.trim_start();
        let Some(value) = trimmed.strip_prefix(':').map(str::trim_start) else {
            out.push_str(&rest[..at + needle.len()]);
            rest = after_key;
            continue;
        };
        let Some(len) = string_literal_len(value) else {
            out.push_str(&rest[..at + needle.len()]);
            rest = after_key;
            continue;
        };
        let value_start = rest.len() - value.len();
        out.push_str(&rest[..value_start]);
        out.push_str("\"[REDACTED]\"");
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    out
}

/// The length of the JSON string literal `s` starts with (quotes included), if it does.
fn string_literal_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_lines_match_nats_server() {
        assert_eq!(
            delivery(b"foo", b"1", Some(b"r"), None, 2),
            "->> [MSG foo 1 r 2]"
        );
        assert_eq!(
            delivery(b"foo", b"1", None, Some(12), 2),
            "->> [HMSG foo 1 12 14]"
        );
        assert_eq!(reply(b"+OK\r\n"), "->> [OK]");
        assert_eq!(reply(b"PONG\r\n"), "->> [PONG]");
        assert_eq!(
            reply(b"-ERR 'Invalid Publish Subject'\r\n"),
            "->> [-ERR Invalid Publish Subject]"
        );
    }
    use weir_protocol::Publish;

    #[test]
    fn operations_read_like_nats_server_traces() {
        let sub = ClientOp::Sub {
            subject: b"foo",
            queue: None,
            sid: b"1",
        };
        assert_eq!(lines(&sub), ["<<- [SUB foo 1]"]);
        let publish = ClientOp::Pub(Publish {
            subject: b"foo",
            reply: Some(b"_INBOX.1"),
            headers: None,
            payload: b"hello",
        });
        assert_eq!(
            lines(&publish),
            ["<<- [PUB foo _INBOX.1 5]", "<<- MSG_PAYLOAD: [\"hello\"]"]
        );
        assert_eq!(
            lines(&ClientOp::Unsub {
                sid: b"1",
                max_msgs: Some(3)
            }),
            ["<<- [UNSUB 1 3]"]
        );
    }

    #[test]
    fn credentials_are_redacted_and_long_payloads_cut() {
        let line = &lines(&ClientOp::Connect(
            br#"{"user":"app","pass":"s3cret","auth_token":"t0k"}"#,
        ))[0];
        assert!(!line.contains("s3cret") && !line.contains("t0k"), "{line}");
        assert_eq!(
            line,
            r#"<<- [CONNECT {"user":"app","pass":"[REDACTED]","auth_token":"[REDACTED]"}]"#
        );
        let escaped = &lines(&ClientOp::Connect(br#"{"p\u0061ss":"s3cret"}"#))[0];
        assert!(!escaped.contains("s3cret"), "{escaped}");
        let quoted = &lines(&ClientOp::Connect(br#"{"pass" : "a\"b","x":1}"#))[0];
        assert_eq!(quoted, r#"<<- [CONNECT {"pass" : "[REDACTED]","x":1}]"#);
        let big = vec![b'x'; MAX_TRACED_PAYLOAD_BYTES * 2];
        let publish = ClientOp::Pub(Publish {
            subject: b"s",
            reply: None,
            headers: None,
            payload: &big,
        });
        assert!(lines(&publish)[1].ends_with("...]"));
    }
}
