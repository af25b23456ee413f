//! In-memory store: the shared `Table` plus a slab of message bodies.

use crate::limits;
use crate::query::{last_seq_for, next_matching_seq, state_of, subjects_of};
use crate::table::{Removed, Table};
use crate::{
    msg_size, ExpiredMsg, PurgeRequest, StorageKind, Store, StoreError, StoreLimits, StoredMsg,
    StreamState, SubjectState, SyncBatch,
};
use bytes::{Bytes, BytesMut};

#[derive(Clone, Debug, Default)]
pub struct MemStoreConfig {
    pub limits: StoreLimits,
    /// Sequence of the first message of a new stream (0 or 1 = 1).
    pub first_seq: u64,
}

struct MemMsg {
    ts_ns: i64,
    headers_len: u32,
    /// headers followed by payload, in one allocation.
    data: Bytes,
}

pub struct MemStore {
    table: Table,
    limits: StoreLimits,
    slab: Vec<Option<MemMsg>>,
    free: Vec<u32>,
}

pub fn memory_store(cfg: MemStoreConfig) -> MemStore {
    MemStore {
        table: Table::new(cfg.first_seq),
        limits: cfg.limits,
        slab: Vec::new(),
        free: Vec::new(),
    }
}

/// Largest headers + payload accepted (matches the file store's record cap).
pub(crate) const MAX_MSG_BYTES: usize = 64 << 20;

pub(crate) fn validate(subject: &[u8], headers: &[u8], payload: &[u8]) -> Result<(), StoreError> {
    if subject.is_empty() || subject.len() > u16::MAX as usize {
        return Err(StoreError::InvalidArgument(format!(
            "subject length {}",
            subject.len()
        )));
    }
    let body = headers.len() + payload.len();
    if body > MAX_MSG_BYTES {
        return Err(StoreError::TooLarge(body));
    }
    Ok(())
}

impl MemStore {
    fn free_sink<'a>(
        slab: &'a mut [Option<MemMsg>],
        free: &'a mut Vec<u32>,
    ) -> impl FnMut(Removed) + 'a {
        move |r: Removed| {
            if r.seq == 0 {
                return; // "everything": the caller clears the slab
            }
            slab[r.loc as usize] = None;
            free.push(r.loc);
        }
    }

    fn msg(&self, seq: u64) -> Option<StoredMsg> {
        let slot = self.table.slot(seq)?;
        let m = self.slab[slot.loc as usize].as_ref()?;
        let h = m.headers_len as usize;
        Some(StoredMsg {
            seq,
            ts_ns: m.ts_ns,
            subject: self.table.subjects.name(slot.subj).clone(),
            headers: m.data.slice(..h),
            payload: m.data.slice(h..),
        })
    }

    fn first_ts(&self) -> Option<i64> {
        let slot = self.table.slot(self.table.first_seq)?;
        self.slab[slot.loc as usize].as_ref().map(|m| m.ts_ns)
    }
}

impl Store for MemStore {
    fn kind(&self) -> StorageKind {
        StorageKind::Memory
    }

    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        ts_ns: i64,
        ttl_ns: Option<i64>,
    ) -> Result<u64, StoreError> {
        validate(subject, headers, payload)?;
        let seq = self.table.last_seq + 1;
        let mut data = BytesMut::with_capacity(headers.len() + payload.len());
        data.extend_from_slice(headers);
        data.extend_from_slice(payload);
        let m = MemMsg {
            ts_ns,
            headers_len: headers.len() as u32,
            data: data.freeze(),
        };
        let loc = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(m);
                i
            }
            None => {
                self.slab.push(Some(m));
                (self.slab.len() - 1) as u32
            }
        };
        let size = msg_size(subject.len(), headers.len(), payload.len()) as u32;
        self.table.push(seq, subject, size, loc, ts_ns, ttl_ns);
        let mut sink = Self::free_sink(&mut self.slab, &mut self.free);
        limits::enforce_after_append(&mut self.table, &self.limits, subject, &mut sink);
        self.table.fix_stale();
        Ok(seq)
    }

    fn flush(&mut self) -> Result<SyncBatch, StoreError> {
        Ok(SyncBatch::default())
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        Ok(self.msg(seq))
    }

    fn next_matching(
        &self,
        start: u64,
        filter: Option<&[u8]>,
    ) -> Result<Option<StoredMsg>, StoreError> {
        Ok(next_matching_seq(&self.table, start, filter).and_then(|s| self.msg(s)))
    }

    fn last_for_subject(&self, filter: &[u8]) -> Result<Option<StoredMsg>, StoreError> {
        Ok(last_seq_for(&self.table, filter).and_then(|s| self.msg(s)))
    }

    fn delete(&mut self, seq: u64, _erase: bool) -> Result<bool, StoreError> {
        let mut sink = Self::free_sink(&mut self.slab, &mut self.free);
        let removed = self.table.remove(seq, &mut sink);
        self.table.fix_stale();
        Ok(removed)
    }

    fn purge(&mut self, req: &PurgeRequest) -> Result<u64, StoreError> {
        let n = {
            let mut sink = Self::free_sink(&mut self.slab, &mut self.free);
            limits::purge(&mut self.table, req, &mut sink)?
        };
        if self.table.msgs == 0 {
            self.slab.clear();
            self.free.clear();
        }
        Ok(n)
    }

    fn expire(&mut self, now_ns: i64) -> Result<Vec<ExpiredMsg>, StoreError> {
        // Reading timestamps borrows the slab, so frees are applied afterwards.
        let slab = &self.slab;
        let mut freed: Vec<u32> = Vec::new();
        let mut ts_of = |t: &Table, seq: u64| -> Result<i64, StoreError> {
            let loc = t.slot(seq).map(|s| s.loc as usize);
            Ok(loc
                .and_then(|l| slab[l].as_ref())
                .map_or(i64::MIN, |m| m.ts_ns))
        };
        let mut headers_of = |t: &Table, seq: u64| -> Result<Bytes, StoreError> {
            let loc = t.slot(seq).map(|s| s.loc as usize);
            Ok(loc
                .and_then(|l| slab[l].as_ref())
                .map_or_else(Bytes::new, |m| m.data.slice(..m.headers_len as usize)))
        };
        let mut sink = |r: Removed| freed.push(r.loc);
        let out = limits::expire(
            &mut self.table,
            &self.limits,
            now_ns,
            &mut ts_of,
            &mut headers_of,
            &mut sink,
        )?;
        for loc in freed {
            self.slab[loc as usize] = None;
            self.free.push(loc);
        }
        Ok(out)
    }

    fn next_expiry_ns(&self) -> Option<i64> {
        limits::next_expiry(&self.table, &self.limits, self.first_ts())
    }

    fn set_limits(&mut self, limits: StoreLimits) -> Result<(), StoreError> {
        self.limits = limits;
        let mut sink = Self::free_sink(&mut self.slab, &mut self.free);
        limits::enforce_all(&mut self.table, &self.limits, &mut sink);
        self.table.fix_stale();
        Ok(())
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn state(&self) -> StreamState {
        state_of(&self.table, self.first_ts().unwrap_or(0), None)
    }

    fn deleted(&self) -> Vec<u64> {
        self.table.deleted()
    }

    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)> {
        subjects_of(&self.table, filter)
    }

    fn num_pending(&self, start: u64, filter: Option<&[u8]>) -> u64 {
        crate::query::num_pending(&self.table, start, filter)
    }

    fn last_seqs_per_subject(&self, filters: &[&[u8]], up_to_seq: u64) -> Vec<u64> {
        crate::query::last_seqs_per_subject(&self.table, filters, up_to_seq)
    }

    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        self.table.subject_state(subject)
    }

    fn close(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}
