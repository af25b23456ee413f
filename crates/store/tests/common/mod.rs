//! Store factories shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use weir_store::*;

pub trait Factory {
    type S: Store;
    fn create(&mut self, limits: StoreLimits, first_seq: u64) -> Self::S;
    /// Clean restart (close + reopen). Memory: the same store.
    fn restart(&mut self, s: Self::S) -> Self::S;
}

pub struct MemFactory;

impl Factory for MemFactory {
    type S = MemStore;
    fn create(&mut self, limits: StoreLimits, first_seq: u64) -> MemStore {
        memory_store(MemStoreConfig { limits, first_seq })
    }
    fn restart(&mut self, s: MemStore) -> MemStore {
        s
    }
}

pub struct FileFactory {
    pub root: tempfile::TempDir,
    pub n: usize,
    pub block_size_bytes: u64,
    pub compression: bool,
    pub preallocate_bytes: u64,
    pub current: Option<PathBuf>,
}

impl FileFactory {
    pub fn new(block_size_bytes: u64, compression: bool) -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
            n: 0,
            block_size_bytes,
            compression,
            preallocate_bytes: 0,
            current: None,
        }
    }
    pub fn preallocated(mut self, bytes: u64) -> Self {
        self.preallocate_bytes = bytes;
        self
    }
    pub fn cfg(&self, limits: StoreLimits, first_seq: u64) -> FileStoreConfig {
        FileStoreConfig {
            block_size_bytes: self.block_size_bytes,
            compression: self.compression,
            limits,
            first_seq,
            preallocate_bytes: self.preallocate_bytes,
            ..Default::default()
        }
    }
}

impl Factory for FileFactory {
    type S = FileStore;
    fn create(&mut self, limits: StoreLimits, first_seq: u64) -> FileStore {
        self.n += 1;
        let dir = self.root.path().join(format!("s{}", self.n));
        let (s, report) = open_file_store(&dir, self.cfg(limits, first_seq)).unwrap();
        assert!(report.corrupt.is_empty());
        self.current = Some(dir);
        s
    }
    fn restart(&mut self, mut s: FileStore) -> FileStore {
        let limits = s.limits();
        let dir = s.dir().to_path_buf();
        s.close().unwrap();
        drop(s);
        let (s, report) = open_file_store(&dir, self.cfg(limits, 1)).unwrap();
        assert!(report.clean_shutdown, "clean restart uses the snapshot");
        assert_eq!(report.scanned_records, 0);
        assert!(report.corrupt.is_empty());
        s
    }
}

/// Full observable contents: state plus every stored message.
pub fn dump<S: Store>(s: &S) -> (StreamState, Vec<StoredMsg>) {
    let st = s.state();
    let mut msgs = Vec::new();
    let mut seq = st.first_seq;
    while let Some(m) = s.next_matching(seq, None).unwrap() {
        seq = m.seq + 1;
        msgs.push(m);
    }
    (st, msgs)
}

pub fn sync<S: Store>(s: &mut S) {
    s.flush().unwrap().sync().unwrap();
}
