//! Writes other than publishes — purge, message delete, config change — travel through the
//! stream's ingest queue like publishes, so the writer applies every change to the store in
//! one order (the order a replicated log will record) and answers only once the change is
//! durable.

use tokio::sync::oneshot;
use weir_store::{PurgeRequest, Store, StoreLimits};

use super::actor::WriteSettings;

/// One non-publish write and where its result goes.
pub struct AdminOp {
    pub kind: AdminKind,
    pub done: oneshot::Sender<AdminResult>,
}

pub enum AdminKind {
    Purge(PurgeRequest),
    Delete {
        seq: u64,
        erase: bool,
    },
    /// Retention removals (acked workqueue or interest messages); missing seqs are fine.
    Remove(Vec<u64>),
    Configure {
        settings: Box<WriteSettings>,
        limits: StoreLimits,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminDone {
    Purged(u64),
    Deleted,
    Configured,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// Delete of a sequence past the end of the stream.
    #[error("stream store EOF")]
    StoreEof,
    /// Delete of a sequence that is not (or no longer) stored.
    #[error("sequence not found")]
    NotFound,
    #[error("{0}")]
    Store(String),
    /// The stream stopped before the write was applied.
    #[error("stream is stopping")]
    Stopped,
}

pub type AdminResult = Result<AdminDone, AdminError>;

/// Applies one admin write under the writer's store lock. A `Configure` also replaces the
/// settings the rest of the batch is checked against.
pub fn apply(store: &mut dyn Store, settings: &mut WriteSettings, kind: AdminKind) -> AdminResult {
    match kind {
        AdminKind::Purge(request) => store
            .purge(&request)
            .map(AdminDone::Purged)
            .map_err(|e| AdminError::Store(e.to_string())),
        AdminKind::Delete { seq, erase } => {
            if seq > store.state().last_seq {
                return Err(AdminError::StoreEof);
            }
            match store.delete(seq, erase) {
                Ok(true) => Ok(AdminDone::Deleted),
                Ok(false) => Err(AdminError::NotFound),
                Err(e) => Err(AdminError::Store(e.to_string())),
            }
        }
        AdminKind::Remove(seqs) => {
            for seq in seqs {
                store
                    .delete(seq, false)
                    .map_err(|e| AdminError::Store(e.to_string()))?;
            }
            Ok(AdminDone::Deleted)
        }
        AdminKind::Configure {
            settings: new,
            limits,
        } => {
            store
                .set_limits(limits)
                .map_err(|e| AdminError::Store(e.to_string()))?;
            *settings = *new;
            Ok(AdminDone::Configured)
        }
    }
}
