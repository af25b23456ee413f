//! `$JS.API.*` subjects → the request they name. Pure: tested without a server.

/// One JetStream API operation and the names its subject carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiOp {
    AccountInfo,
    StreamCreate(String),
    StreamUpdate(String),
    StreamInfo(String),
    StreamDelete(String),
    StreamNames,
    StreamList,
    StreamPurge(String),
    StreamMsgGet(String),
    StreamMsgDelete(String),
    /// `$JS.API.DIRECT.GET.<stream>` with a JSON body.
    DirectGet(String),
    /// `$JS.API.DIRECT.GET.<stream>.<subject...>`: the last message on that subject.
    DirectGetLast {
        stream: String,
        subject: String,
    },
    /// `CONSUMER.CREATE.<stream>[.<name>[.<filter>]]` or `CONSUMER.DURABLE.CREATE.<s>.<n>`;
    /// the subject is parsed again by `weir_jsapi::ConsumerCreateSubject`.
    ConsumerCreate(String),
    ConsumerInfo {
        stream: String,
        consumer: String,
    },
    ConsumerDelete {
        stream: String,
        consumer: String,
    },
    ConsumerNames(String),
    ConsumerList(String),
    ConsumerPause {
        stream: String,
        consumer: String,
    },
    ConsumerUnpin {
        stream: String,
        consumer: String,
    },
    ConsumerReset {
        stream: String,
        consumer: String,
    },
    /// `CONSUMER.MSG.NEXT.<stream>.<consumer>`: handed to the consumer on the publisher's task.
    ConsumerNext {
        stream: String,
        consumer: String,
    },
    /// A `$JS.API.` subject this server does not serve (yet).
    Unknown,
}

pub const API_PREFIX: &str = "$JS.API.";

/// Parses an API subject; `None` if it is not under `$JS.API.`.
pub fn parse(subject: &str) -> Option<ApiOp> {
    let rest = subject.strip_prefix(API_PREFIX)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let name = |i: usize| tokens.get(i).map(|s| s.to_string());
    let op = match tokens.as_slice() {
        ["INFO"] => ApiOp::AccountInfo,
        ["STREAM", "CREATE", n] => ApiOp::StreamCreate(n.to_string()),
        ["STREAM", "UPDATE", n] => ApiOp::StreamUpdate(n.to_string()),
        ["STREAM", "INFO", n] => ApiOp::StreamInfo(n.to_string()),
        ["STREAM", "DELETE", n] => ApiOp::StreamDelete(n.to_string()),
        ["STREAM", "NAMES"] => ApiOp::StreamNames,
        ["STREAM", "LIST"] => ApiOp::StreamList,
        ["STREAM", "PURGE", n] => ApiOp::StreamPurge(n.to_string()),
        ["STREAM", "MSG", "GET", n] => ApiOp::StreamMsgGet(n.to_string()),
        ["STREAM", "MSG", "DELETE", n] => ApiOp::StreamMsgDelete(n.to_string()),
        ["DIRECT", "GET", n] => ApiOp::DirectGet(n.to_string()),
        ["DIRECT", "GET", _, _, ..] => ApiOp::DirectGetLast {
            stream: name(2).unwrap_or_default(),
            subject: tokens[3..].join("."),
        },
        ["CONSUMER", "CREATE", s, ..] | ["CONSUMER", "DURABLE", "CREATE", s, ..] => {
            ApiOp::ConsumerCreate(s.to_string())
        }
        ["CONSUMER", "INFO", s, c] => ApiOp::ConsumerInfo {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        ["CONSUMER", "DELETE", s, c] => ApiOp::ConsumerDelete {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        ["CONSUMER", "NAMES", s] => ApiOp::ConsumerNames(s.to_string()),
        ["CONSUMER", "LIST", s] => ApiOp::ConsumerList(s.to_string()),
        ["CONSUMER", "PAUSE", s, c] => ApiOp::ConsumerPause {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        ["CONSUMER", "RESET", s, c] => ApiOp::ConsumerReset {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        ["CONSUMER", "UNPIN", s, c] => ApiOp::ConsumerUnpin {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        ["CONSUMER", "MSG", "NEXT", s, c] => ApiOp::ConsumerNext {
            stream: s.to_string(),
            consumer: c.to_string(),
        },
        _ => ApiOp::Unknown,
    };
    Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_subjects() {
        assert_eq!(parse("$JS.API.INFO"), Some(ApiOp::AccountInfo));
        assert_eq!(
            parse("$JS.API.STREAM.CREATE.ORDERS"),
            Some(ApiOp::StreamCreate("ORDERS".into()))
        );
        assert_eq!(
            parse("$JS.API.STREAM.MSG.DELETE.ORDERS"),
            Some(ApiOp::StreamMsgDelete("ORDERS".into()))
        );
        assert_eq!(parse("$JS.API.STREAM.NAMES"), Some(ApiOp::StreamNames));
        assert_eq!(
            parse("$JS.API.DIRECT.GET.KV_b.$KV.b.key.with.dots"),
            Some(ApiOp::DirectGetLast {
                stream: "KV_b".into(),
                subject: "$KV.b.key.with.dots".into()
            })
        );
        assert_eq!(
            parse("$JS.API.DIRECT.GET.S"),
            Some(ApiOp::DirectGet("S".into()))
        );
    }

    #[test]
    fn unknown_and_foreign_subjects() {
        assert_eq!(parse("$JS.API.STREAM.CREATE"), Some(ApiOp::Unknown));
        assert_eq!(
            parse("$JS.API.CONSUMER.CREATE.S"),
            Some(ApiOp::ConsumerCreate("S".into()))
        );
        assert_eq!(
            parse("$JS.API.CONSUMER.MSG.NEXT.S.C"),
            Some(ApiOp::ConsumerNext {
                stream: "S".into(),
                consumer: "C".into()
            })
        );
        assert_eq!(parse("$JS.API.CONSUMER.BOGUS.S"), Some(ApiOp::Unknown));
        assert_eq!(parse("orders.new"), None);
    }
}
