//! Opening a file store: list the segments, load the snapshot or scan,
//! clear leftovers of an interrupted compaction, move a version 1 store onto
//! a version 2 active segment.

use super::{FileStore, FileStoreConfig, MAX_BLOCK_BYTES, MIN_BLOCK_BYTES};
use crate::error::IoContext;
use crate::record::RANGES_SINCE_VERSION;
use crate::recovery::{self, Recovered};
use crate::segment::{parse_segment_name, COMPACT_SUFFIX};
use crate::snapshot;
use crate::table::Table;
use crate::{RecoveryReport, Store, StoreError};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Lists `*.blk` segment files sorted by first seq, with their lengths.
/// Removes temp files of a compaction that never reached its rename: the
/// segment they were to replace is still complete.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf, u64)>, StoreError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(dir)? {
        let entry = entry.ctx(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = parse_segment_name(name) {
            let len = entry.metadata().ctx(&entry.path())?.len();
            out.push((first, entry.path(), len));
        } else if name.ends_with(".blk") {
            return Err(StoreError::Inconsistent {
                path: entry.path(),
                reason: "segment file name is not <20-digit first seq>.blk".into(),
            });
        } else if name
            .strip_suffix(COMPACT_SUFFIX)
            .and_then(parse_segment_name)
            .is_some()
        {
            tracing::info!(file = %entry.path().display(), "removing an interrupted compaction");
            std::fs::remove_file(entry.path()).ctx(&entry.path())?;
        }
    }
    out.sort_by_key(|s| s.0);
    Ok(out)
}

/// Opens (or creates) the file store in `dir`. A clean snapshot is used when
/// it matches the segments; otherwise every segment is scanned.
pub fn open_file_store(
    dir: &Path,
    cfg: FileStoreConfig,
) -> Result<(FileStore, RecoveryReport), StoreError> {
    let started = Instant::now();
    if !(MIN_BLOCK_BYTES..=MAX_BLOCK_BYTES).contains(&cfg.block_size_bytes) {
        return Err(StoreError::InvalidArgument(format!(
            "block_size_bytes {} outside {MIN_BLOCK_BYTES}..={MAX_BLOCK_BYTES}",
            cfg.block_size_bytes
        )));
    }
    if cfg.compact_live_percent > 100 {
        return Err(StoreError::InvalidArgument(format!(
            "compact_live_percent {} above 100",
            cfg.compact_live_percent
        )));
    }
    std::fs::create_dir_all(dir).ctx(dir)?;
    let dir_file = Arc::new(File::open(dir).ctx(dir)?);
    let files = list_segments(dir)?;
    let mut report = RecoveryReport::default();
    let loaded = if files.is_empty() {
        None
    } else {
        match snapshot::load(dir, &files) {
            Ok(r) => Some(r),
            Err(reason) => {
                tracing::info!(dir = %dir.display(), %reason, "no usable snapshot; scanning segments");
                None
            }
        }
    };
    let recovered = match loaded {
        Some(r) => {
            report.clean_shutdown = true;
            r
        }
        None if files.is_empty() => Recovered {
            table: Table::new(cfg.first_seq),
            segments: Vec::new(),
            marker_seq: cfg.first_seq.max(1),
            lost: None,
        },
        None => recovery::scan(&files, &mut report)?,
    };
    // From here on the segments will change: a snapshot left behind would
    // describe a past state, so it goes before anything is written.
    snapshot::remove(dir, &dir_file)?;
    let mut store = FileStore::new(dir, dir_file, cfg, recovered);
    if store.segments.is_empty() {
        let first = store.table.last_seq + 1;
        let seg = store.create_segment(first)?;
        store.segments.push(seg);
        store.dir_dirty = true;
    }
    store.upgrade_active()?;
    if store.active().version >= RANGES_SINCE_VERSION {
        store.active().prealloc_step = store.prealloc_step();
    }
    store.recount_live();
    let limits = store.limits;
    store.set_limits(limits)?;
    store.retire_dead();
    store.refresh_first_ts();
    #[cfg(debug_assertions)]
    store.table.check_invariants();
    report.elapsed = started.elapsed();
    Ok((store, report))
}

impl FileStore {
    /// Range tombstones are never written into a version 1 file (a build
    /// that reads only version 1 would take them for damage), so a version 1
    /// active segment is replaced: re-initialised when it holds no record,
    /// otherwise sealed behind a new one. If it holds records but no message
    /// (no free name for a new segment), it stays until the next rollover and
    /// retiring segments waits until then.
    fn upgrade_active(&mut self) -> Result<(), StoreError> {
        let next = self.table.last_seq + 1;
        let active = self.active();
        if active.version >= RANGES_SINCE_VERSION {
            return Ok(());
        }
        if !active.has_records() {
            return active.reinit();
        }
        if active.first_seq < next {
            active.trim()?;
            active.pending = Vec::new();
            let seg = self.create_segment(next)?;
            self.segments.push(seg);
            self.dir_dirty = true;
        }
        Ok(())
    }
}
