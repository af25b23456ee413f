//! `$JS.API.DIRECT.GET` (ADR-31): the stored message itself, with its stream, subject,
//! sequence and time in headers; problems are status headers (404, 408), not JSON.

use weir_jsapi::MsgGetRequest;
use weir_store::StoredMsg;

use super::handlers::lookup;
use super::worker::ApiReply;
use crate::jetstream::manager::JetStream;
use crate::jetstream::time_text;

fn status(code: u16, description: &str) -> ApiReply {
    ApiReply {
        headers: Some(format!("NATS/1.0 {code} {description}\r\n\r\n").into_bytes()),
        payload: Vec::new(),
    }
}

fn reply(stream: &str, msg: StoredMsg) -> ApiReply {
    // The stored header block without its final blank line, then ours.
    let mut headers = if msg.headers.is_empty() {
        b"NATS/1.0\r\n".to_vec()
    } else {
        let block = &msg.headers[..];
        block.strip_suffix(b"\r\n").unwrap_or(block).to_vec()
    };
    let subject = String::from_utf8_lossy(&msg.subject);
    headers.extend_from_slice(
        format!(
            "Nats-Stream: {stream}\r\nNats-Subject: {subject}\r\nNats-Sequence: {}\r\nNats-Time-Stamp: {}\r\n\r\n",
            msg.seq,
            time_text(msg.ts_ns)
        )
        .as_bytes(),
    );
    ApiReply {
        headers: Some(headers),
        payload: msg.payload.to_vec(),
    }
}

fn serve(js: &JetStream, stream: &str, request: &MsgGetRequest) -> ApiReply {
    if request.validate_msg_get().is_err() {
        return status(408, "Bad Request");
    }
    let Some(entry) = js.get(stream) else {
        return status(404, "Message Not Found");
    };
    match lookup(&entry, request) {
        Ok(Some(msg)) => reply(stream, msg),
        Ok(None) => status(404, "Message Not Found"),
        Err(_) => status(500, "Server Error"),
    }
}

/// The JSON-body form.
pub fn get(js: &JetStream, stream: &str, body: &[u8]) -> ApiReply {
    if body.is_empty() {
        return status(408, "Empty Request");
    }
    let Ok(request) = serde_json::from_slice::<MsgGetRequest>(body) else {
        return status(408, "Malformed Request");
    };
    if request == MsgGetRequest::default() {
        return status(408, "Empty Request");
    }
    serve(js, stream, &request)
}

/// The last message on `subject`, named in the request subject; the body must be empty.
pub fn get_last(js: &JetStream, stream: &str, subject: &str, body: &[u8]) -> ApiReply {
    if !body.is_empty() {
        return status(408, "Bad Request");
    }
    let request = MsgGetRequest {
        last_by_subj: subject.to_string(),
        ..MsgGetRequest::default()
    };
    serve(js, stream, &request)
}
