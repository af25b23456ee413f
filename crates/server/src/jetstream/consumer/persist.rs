//! A durable consumer on a file stream keeps `<stream dir>/obs/<name>/meta.json` (config and
//! creation time, in the stream metadata's checksummed envelope) and `state.bin`
//! (`weir_consumer::state`, rewritten atomically).
//!
//! When state is written: at most every 100 ms while it changes, before a double ack is
//! confirmed, and at clean shutdown. A crash loses at most the last 100 ms of acks, which
//! are then redelivered (at-least-once); a confirmed double ack is never lost.

use std::path::Path;

use serde::{Deserialize, Serialize};
use weir_consumer::state::ConsumerState;
use weir_jsapi::{ConsumerConfig, Timestamp};

use super::Consumer;
use crate::jetstream::meta;

const STATE_FILE: &str = "state.bin";

#[derive(Serialize, Deserialize)]
pub struct ConsumerMeta {
    pub config: ConsumerConfig,
    pub created: Timestamp,
}

impl Consumer {
    pub(super) fn save_meta(&self) {
        let Some(dir) = &self.dir else { return };
        let meta = ConsumerMeta {
            config: self.config.read().clone(),
            created: self.created,
        };
        if let Err(err) = meta::save(dir, &meta) {
            tracing::error!(consumer = %self.name, "saving consumer config failed: {err}");
        }
    }

    /// Writes config and state now (creation and clean shutdown).
    pub(super) fn persist_now(&self) {
        if self.dir.is_none() {
            return;
        }
        self.save_meta();
        self.inner.lock().engine.take_dirty();
        self.write_state();
    }

    /// Writes the state if it changed, then confirms waiting double acks.
    pub(super) fn persist_if_dirty(&self) {
        let Some(_) = &self.dir else { return };
        let (dirty, confirms) = {
            let mut inner = self.inner.lock();
            (
                inner.engine.take_dirty(),
                std::mem::take(&mut inner.confirms),
            )
        };
        if dirty {
            self.write_state();
        }
        if let Some(state) = self.state.upgrade() {
            for to in confirms {
                state.publish(&to, None, None, b"");
            }
        }
    }

    fn write_state(&self) {
        let Some(dir) = &self.dir else { return };
        let bytes = ConsumerState::of(&self.inner.lock().engine.tracker).encode();
        if let Err(err) = meta::write_atomic(dir, STATE_FILE, &bytes) {
            tracing::error!(consumer = %self.name, "saving consumer state failed: {err}");
        }
    }
}

/// The consumers saved under `<stream dir>/obs`: (name, meta, state). A consumer whose
/// files cannot be read is reported and skipped, never deleted.
pub fn load_consumers(stream_dir: &Path) -> Vec<(String, ConsumerMeta, Option<ConsumerState>)> {
    let Ok(entries) = std::fs::read_dir(stream_dir.join("obs")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta: ConsumerMeta = match meta::load(&dir) {
            Ok(m) => m,
            Err(err) => {
                tracing::error!("consumer in {} not restored: {err}", dir.display());
                continue;
            }
        };
        let state = match std::fs::read(dir.join(STATE_FILE)) {
            Ok(bytes) => match ConsumerState::decode(&bytes) {
                Ok(s) => Some(s),
                Err(err) => {
                    tracing::error!(
                        "consumer state in {} unreadable ({err}); it restarts from its config",
                        dir.display()
                    );
                    None
                }
            },
            Err(_) => None,
        };
        out.push((name, meta, state));
    }
    out
}
