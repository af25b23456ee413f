//! `weir-conf`: a parser for nats-server's configuration file format.
//!
//! Users bring their `nats-server.conf` unchanged, so this accepts what nats-server 2.9.10
//! accepts and yields the same values; the behaviour was checked against that binary. The
//! few deliberate differences reject nonsense nats-server silently mangles (a size suffix
//! such as `1kbb`, an integer that overflows) or accept what it fails on by accident (`]`
//! right after an integer, absolute include paths, a byte order mark).
//!
//! ```
//! let map = weir_conf::parse_str("port: 4222\njetstream { max_mem: 1GB }", None).unwrap();
//! assert_eq!(map.get("port").unwrap().as_i64().unwrap(), 4222);
//! let js = map.get_ci("JetStream").unwrap().as_map().unwrap();
//! assert_eq!(js.get("max_mem").unwrap().as_size_bytes().unwrap(), 1 << 30);
//! ```

mod error;
mod lexer;
mod parser;
mod units;
mod value;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ConfError, DurationError, Pos, SizeError};
pub use units::{parse_go_duration, parse_size, parse_storage_size};
pub use value::{Entry, Map, Spanned, Value};

/// Reads and parses a configuration file, following its includes.
pub fn parse_file(path: &Path) -> Result<Map, ConfError> {
    ParseOptions::default().parse_file(path)
}

/// Parses configuration text. `origin` is the file it came from, if any: includes are resolved
/// relative to its directory (else to the current directory) and errors name it.
pub fn parse_str(text: &str, origin: Option<&Path>) -> Result<Map, ConfError> {
    ParseOptions::default().parse_str(text, origin)
}

type EnvFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Settings for parsing; the defaults are what [`parse_file`] and [`parse_str`] use.
#[derive(Clone)]
pub struct ParseOptions {
    max_include_depth: usize,
    max_nesting: usize,
    env: Option<Arc<EnvFn>>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_include_depth: 10,
            max_nesting: 64,
            env: Some(Arc::new(|name| std::env::var(name).ok())),
        }
    }
}

impl fmt::Debug for ParseOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseOptions")
            .field("max_include_depth", &self.max_include_depth)
            .field("max_nesting", &self.max_nesting)
            .field("env", &self.env.as_ref().map(|_| ".."))
            .finish()
    }
}

impl ParseOptions {
    pub fn new() -> Self {
        ParseOptions::default()
    }

    /// How many levels of `include` may nest (default 10).
    pub fn max_include_depth(mut self, depth: usize) -> Self {
        self.max_include_depth = depth;
        self
    }

    /// How many arrays and blocks may nest, across includes (default 64).
    pub fn max_nesting(mut self, depth: usize) -> Self {
        self.max_nesting = depth;
        self
    }

    /// Where `$NAME` looks when no enclosing key is called NAME (default: the process
    /// environment).
    pub fn env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Some(Arc::new(lookup));
        self
    }

    /// Makes `$NAME` resolve only from keys, never from the environment.
    pub fn without_env(mut self) -> Self {
        self.env = None;
        self
    }

    pub(crate) fn lookup_env(&self, name: &str) -> Option<String> {
        self.env.as_ref().and_then(|f| f(name))
    }

    pub fn parse_file(&self, path: &Path) -> Result<Map, ConfError> {
        let bytes = std::fs::read(path).map_err(|source| ConfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = decode(bytes, path)?;
        self.parse_str(&text, Some(path))
    }

    pub fn parse_str(&self, text: &str, origin: Option<&Path>) -> Result<Map, ConfError> {
        parser::Parser::new(text, origin, self).parse_document()
    }
}

/// File contents as text, or an error at the first byte that is not UTF-8.
pub(crate) fn decode(bytes: Vec<u8>, path: &Path) -> Result<String, ConfError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The valid prefix is UTF-8 by definition, so counting its characters is safe.
        let prefix = String::from_utf8_lossy(good);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfError::syntax(
            Pos::new(
                Some(Arc::new(PathBuf::from(path))),
                u32::try_from(line).unwrap_or(u32::MAX),
                u32::try_from(column).unwrap_or(u32::MAX),
            ),
            "the file is not valid UTF-8 text",
        )
    })
}
