//! Protocol parse failures and how nats-server 2.9.10 reacts to each.

/// Why a buffer could not be parsed. Every variant is fatal for the connection: nats-server
/// closes it after any parser error (see `NATS_PARSER_BEHAVIOUR.md`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The bytes do not start a known operation (includes an operation name that needs
    /// arguments but is followed directly by the line end, e.g. `PUB\r\n`).
    #[error("unknown protocol operation")]
    UnknownOp,
    /// The argument text of a control line is longer than `max_control_line`.
    #[error("maximum control line exceeded (limit {max} bytes)")]
    MaxControlLine { max: usize },
    /// A PUB/HPUB announced more payload bytes than `max_payload` allows.
    #[error("maximum payload exceeded: {size} vs {max}")]
    MaxPayload { size: usize, max: usize },
    /// The announced number of payload bytes was not followed by `\r\n`.
    #[error("message payload not followed by CRLF")]
    PayloadNotTerminated,
    /// PUB did not have 2 or 3 arguments.
    #[error("PUB: wrong number of arguments")]
    PubArgs,
    /// PUB's size is not a decimal number of at most 9 digits.
    #[error("PUB: bad or missing size")]
    PubSize,
    /// HPUB did not have 3 or 4 arguments.
    #[error("HPUB: wrong number of arguments")]
    HpubArgs,
    /// HPUB's header size is not a decimal number of at most 9 digits.
    #[error("HPUB: bad or missing header size")]
    HpubHeaderSize,
    /// HPUB's total size is not a decimal number of at most 9 digits.
    #[error("HPUB: bad or missing total size")]
    HpubTotalSize,
    /// HPUB's header size is larger than its total size.
    #[error("HPUB: header size {header} larger than total size {total}")]
    HpubHeaderTooLarge { header: usize, total: usize },
    /// SUB did not have 2 or 3 arguments.
    #[error("SUB: wrong number of arguments")]
    SubArgs,
    /// UNSUB did not have 1 or 2 arguments.
    #[error("UNSUB: wrong number of arguments")]
    UnsubArgs,
    /// (server ops) MSG did not have 3 or 4 arguments.
    #[error("MSG: wrong number of arguments")]
    MsgArgs,
    /// (server ops) HMSG did not have 4 or 5 arguments.
    #[error("HMSG: wrong number of arguments")]
    HmsgArgs,
    /// (server ops) MSG/HMSG carried a size that is not a decimal number of at most 9 digits.
    #[error("MSG/HMSG: bad size")]
    MsgSize,
    /// (server ops) INFO's JSON could not be decoded.
    #[error("INFO: invalid JSON: {0}")]
    InfoJson(String),
}

impl ParseError {
    /// The exact text nats-server 2.9.10 puts in `-ERR '<text>'` for this failure, or
    /// `None` if it closes the connection without a word.
    pub fn client_message(&self) -> Option<&'static str> {
        match self {
            ParseError::UnknownOp | ParseError::PayloadNotTerminated => {
                Some("Unknown Protocol Operation")
            }
            // nats-server sends its error value's text here, hence the lower case.
            ParseError::MaxControlLine { .. } => Some("maximum control line exceeded"),
            ParseError::MaxPayload { .. } => Some("Maximum Payload Violation"),
            ParseError::PubArgs
            | ParseError::PubSize
            | ParseError::HpubArgs
            | ParseError::HpubHeaderSize
            | ParseError::HpubTotalSize
            | ParseError::HpubHeaderTooLarge { .. }
            | ParseError::SubArgs
            | ParseError::UnsubArgs
            | ParseError::MsgArgs
            | ParseError::HmsgArgs
            | ParseError::MsgSize
            | ParseError::InfoJson(_) => None,
        }
    }

    /// Whether nats-server closes the connection after this failure. It does for every
    /// error its parser reports; the parser cannot resynchronise on a byte stream.
    pub fn closes_connection(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_nats_server() {
        assert_eq!(
            ParseError::UnknownOp.client_message(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(
            ParseError::PayloadNotTerminated.client_message(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(
            ParseError::MaxControlLine { max: 4096 }.client_message(),
            Some("maximum control line exceeded")
        );
        assert_eq!(
            ParseError::MaxPayload { size: 2, max: 1 }.client_message(),
            Some("Maximum Payload Violation")
        );
        for silent in [
            ParseError::PubArgs,
            ParseError::PubSize,
            ParseError::HpubArgs,
            ParseError::HpubHeaderSize,
            ParseError::HpubTotalSize,
            ParseError::HpubHeaderTooLarge {
                header: 2,
                total: 1,
            },
            ParseError::SubArgs,
            ParseError::UnsubArgs,
        ] {
            assert_eq!(silent.client_message(), None, "{silent:?}");
            assert!(silent.closes_connection(), "{silent:?}");
        }
    }

    #[test]
    fn display_is_informative() {
        let e = ParseError::MaxPayload {
            size: 1048577,
            max: 1048576,
        };
        assert_eq!(
            e.to_string(),
            "maximum payload exceeded: 1048577 vs 1048576"
        );
    }
}
