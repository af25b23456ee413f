//! Replays the `authenticate` fuzz corpus (`fuzz/corpus/authenticate/`) on stable: CONNECTs
//! under fixed authorization setups never authenticate without the configured credentials.
//! See `fuzz/README.md`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

#[test]
fn authenticate_corpus_never_admits_without_credentials() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/authenticate");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} unreadable: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("read corpus file");
            catch_unwind(AssertUnwindSafe(|| {
                weir_server::auth_fuzzing::authenticate_connect(&data)
            }))
            .is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "inputs that failed: {failed:?}");
    println!("replayed {} authenticate inputs", files.len());
}
