use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store is closed")]
    Closed,
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("message too large: {0} bytes")]
    TooLarge(usize),
    /// A record read back from disk failed its checksum or was malformed.
    #[error("corrupt record in {segment} at offset {offset_bytes}: {reason}")]
    Corrupt {
        segment: PathBuf,
        offset_bytes: u64,
        reason: String,
    },
    /// On-disk metadata is inconsistent; the store refuses to open rather than
    /// guess (and never deletes data because of it).
    #[error("refusing to open stream store at {path}: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
}

pub(crate) trait IoContext<T> {
    fn ctx(self, path: &std::path::Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, path: &std::path::Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
