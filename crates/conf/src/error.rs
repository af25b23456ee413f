//! Positions and errors. Every error that comes from the text of a file names the file, line
//! and column, so a user can go straight to the mistake.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where something begins in a configuration file. `line` and `column` are 1-based; the
/// column counts characters, not bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    /// The file, or `None` for text given to [`crate::parse_str`] without an origin.
    pub file: Option<Arc<PathBuf>>,
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn new(file: Option<Arc<PathBuf>>, line: u32, column: u32) -> Self {
        Pos { file, line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(path) => write!(f, "{}:{}:{}", path.display(), self.line, self.column),
            None => write!(f, "<string>:{}:{}", self.line, self.column),
        }
    }
}

/// Prints `key: ` before a message when the caller told us which option was being read.
struct KeyPrefix<'a>(&'a Option<String>);

impl fmt::Display for KeyPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "{key}: "),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong reading a configuration or a value in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// The top-level file could not be read.
    #[error("{}: cannot read configuration file: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text does not follow the configuration syntax.
    #[error("{pos}: {msg}")]
    Syntax { pos: Pos, msg: String },
    /// `$NAME` names neither an earlier key in an enclosing block nor an environment variable.
    #[error("{pos}: variable '${name}' is not defined (neither by an earlier key in this or an enclosing block, nor in the environment)")]
    UndefinedVariable { pos: Pos, name: String },
    /// An `include` could not be followed: unreadable file, cycle or too deep.
    #[error("{pos}: {msg}")]
    Include { pos: Pos, msg: String },
    /// A value has the wrong type for how it is read, e.g. a boolean where a size belongs.
    #[error("{pos}: {}expected {expected}, found {found}", KeyPrefix(.key))]
    Type {
        pos: Pos,
        key: Option<String>,
        expected: &'static str,
        found: &'static str,
    },
    /// A value has the right type but cannot be used, e.g. the string "2x" as a duration.
    #[error("{pos}: {}{msg}", KeyPrefix(.key))]
    Invalid {
        pos: Pos,
        key: Option<String>,
        msg: String,
    },
}

impl ConfError {
    /// Where the problem is, when it is in the text of a file.
    pub fn pos(&self) -> Option<&Pos> {
        match self {
            ConfError::Io { .. } => None,
            ConfError::Syntax { pos, .. }
            | ConfError::UndefinedVariable { pos, .. }
            | ConfError::Include { pos, .. }
            | ConfError::Type { pos, .. }
            | ConfError::Invalid { pos, .. } => Some(pos),
        }
    }

    /// Names the option a value belonged to, so the message reads
    /// `conf.conf:3:14: max_payload: expected a size such as 1MB, found a boolean`.
    /// Errors other than type and value errors are returned unchanged.
    pub fn with_key(self, name: impl Into<String>) -> Self {
        match self {
            ConfError::Type {
                pos,
                expected,
                found,
                ..
            } => ConfError::Type {
                pos,
                key: Some(name.into()),
                expected,
                found,
            },
            ConfError::Invalid { pos, msg, .. } => ConfError::Invalid {
                pos,
                key: Some(name.into()),
                msg,
            },
            other => other,
        }
    }

    /// The message without its leading position.
    pub fn detail(&self) -> String {
        let full = self.to_string();
        match self.pos() {
            Some(pos) => {
                let prefix = format!("{pos}: ");
                full.strip_prefix(&prefix).unwrap_or(&full).to_string()
            }
            None => full,
        }
    }

    pub(crate) fn syntax(pos: Pos, msg: impl Into<String>) -> Self {
        ConfError::Syntax {
            pos,
            msg: msg.into(),
        }
    }
}

/// Why a Go-syntax duration such as `"1h30m"` could not be read. Messages follow Go's
/// `time.ParseDuration`, which is what nats-server uses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    #[error("invalid duration {0:?}")]
    Invalid(String),
    #[error("missing unit in duration {0:?} (units are ns, us, ms, s, m, h)")]
    MissingUnit(String),
    #[error("unknown unit {unit:?} in duration {input:?} (units are ns, us, ms, s, m, h)")]
    UnknownUnit { unit: String, input: String },
    #[error("duration {0:?} is too large")]
    Overflow(String),
    #[error("negative duration {0:?} is not allowed")]
    Negative(String),
}

/// Why a size such as `"64KB"` could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    #[error("invalid size {0:?}: expected digits optionally followed by a unit such as K, KB, MB, MiB, G or GB")]
    Invalid(String),
    #[error("unknown size unit {unit:?} in {input:?} (known: k, kb, ki, kib, m, mb, mi, mib, g, gb, gi, gib, t, ..., e, eb, ei, eib)")]
    UnknownUnit { unit: String, input: String },
    #[error("size {0:?} is too large")]
    Overflow(String),
}
