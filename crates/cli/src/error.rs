//! The CLI's error type. Every variant renders as a one-line message that
//! says what went wrong and, where there is one, how to fix it.

use std::io;

/// Hint appended to connection failures.
pub const START_HINT: &str = "is weir-server running? start it with `weir-server -js`";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot connect to {url}: {reason} — {hint}")]
    Connect {
        url: String,
        reason: String,
        hint: &'static str,
    },
    #[error("invalid argument: {0}")]
    Usage(String),
    /// `hint` is appended as-is (empty, or starting with " — ").
    #[error("no responders are available for {subject}{hint}")]
    NoResponders { subject: String, hint: String },
    #[error("no reply received for {subject} within {timeout_ms} ms")]
    RequestTimeout { subject: String, timeout_ms: u128 },
    #[error("{context}: {source}")]
    Nats {
        context: String,
        #[source]
        source: async_nats::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("protocol error from {url}: {message}")]
    Protocol { url: String, message: String },
    #[error("benchmark incomplete: {0}")]
    BenchIncomplete(String),
    /// An error answer from the JetStream API; `hint` is empty or starts with " — ".
    #[error("{description} (code {code}, err_code {err_code}){hint}")]
    JetStream {
        code: u64,
        err_code: u64,
        description: String,
        hint: String,
    },
    /// The server lacks what the command needs (JetStream off, an API it does not serve).
    #[error("{0}")]
    Unsupported(String),
}

impl CliError {
    /// Wraps any async-nats error with a short description of the operation that failed.
    pub fn nats(context: impl Into<String>, err: impl Into<async_nats::Error>) -> Self {
        CliError::Nats {
            context: context.into(),
            source: err.into(),
        }
    }

    pub fn io(context: impl Into<String>, err: io::Error) -> Self {
        CliError::Io {
            context: context.into(),
            source: err,
        }
    }

    /// A connection failure for `url` caused by an I/O error (refused, reset, unreachable...).
    pub fn connect_io(url: &str, err: &io::Error) -> Self {
        CliError::Connect {
            url: url.to_string(),
            reason: describe_io(err),
            hint: START_HINT,
        }
    }
}

/// A short lowercase description of an I/O error without the "(os error N)" suffix.
pub fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by server".to_string(),
        io::ErrorKind::TimedOut => "timed out".to_string(),
        io::ErrorKind::UnexpectedEof => "server closed the connection".to_string(),
        _ => {
            let text = err.to_string();
            let trimmed = match text.find(" (os error") {
                Some(idx) => &text[..idx],
                None => text.as_str(),
            };
            let mut chars = trimmed.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => trimmed.to_string(),
            }
        }
    }
}

pub type Result<T> = std::result::Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_connection_message_names_the_fix() {
        let err = io::Error::from(io::ErrorKind::ConnectionRefused);
        let msg = CliError::connect_io("nats://127.0.0.1:4222", &err).to_string();
        assert_eq!(
            msg,
            "cannot connect to nats://127.0.0.1:4222: connection refused — is weir-server running? \
             start it with `weir-server -js`"
        );
    }

    #[test]
    fn os_error_suffix_is_dropped() {
        let err = io::Error::from_raw_os_error(libc::ENETUNREACH);
        let text = describe_io(&err);
        assert!(!text.contains("os error"), "{text}");
        assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
    }
}
