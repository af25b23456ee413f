use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

/// What must reach stable storage to make the operations before a `flush`
/// durable. Owns its handles, so it can be synced after the store lock is
/// released; several batches can be merged for group commit.
#[derive(Default, Debug)]
#[must_use = "nothing is durable until the batch is synced"]
pub struct SyncBatch {
    pub(crate) files: Vec<Arc<File>>,
    /// Segments whose messages are all gone; unlinked only after `files` are
    /// synced, because the tombstones that replace them live in those files.
    pub(crate) unlink: Vec<PathBuf>,
    pub(crate) dir: Option<Arc<File>>,
}

impl SyncBatch {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.unlink.is_empty() && self.dir.is_none()
    }

    /// Folds `other` into `self` (the union of what both must sync).
    pub fn merge(&mut self, other: SyncBatch) {
        for f in other.files {
            if !self.files.iter().any(|g| Arc::ptr_eq(g, &f)) {
                self.files.push(f);
            }
        }
        self.unlink.extend(other.unlink);
        if self.dir.is_none() {
            self.dir = other.dir;
        }
    }

    /// fdatasync every written file, unlink retired segments, then fsync the
    /// directory so created and removed entries survive a power cut.
    pub fn sync(self) -> std::io::Result<()> {
        for f in &self.files {
            f.sync_data()?;
        }
        for p in &self.unlink {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(d) = &self.dir {
            d.sync_all()?;
        }
        Ok(())
    }
}
