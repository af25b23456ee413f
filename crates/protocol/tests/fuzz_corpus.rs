//! Replays the cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the same harnesses the
//! fuzz targets call, on stable, so every seed and every fixed crash stays a regression
//! test in an ordinary `cargo test`. See `fuzz/README.md`.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use weir_protocol::fuzzing;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Runs `harness` on every file of the target's corpus and returns how many ran. Fails if
/// the directory is missing or empty, so a moved corpus cannot pass vacuously, and names
/// every input that panicked rather than stopping at the first.
fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let dir = corpus_dir(target);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {} unreadable: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());

    let mut failed = Vec::new();
    for path in &files {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs failed:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("{target}: replayed {} corpus inputs", files.len());
    files.len()
}

#[test]
fn client_protocol_corpus() {
    replay("client_protocol", fuzzing::client_stream);
}

#[test]
fn connect_corpus() {
    replay("connect", fuzzing::connect_json);
}

#[test]
fn server_protocol_corpus() {
    replay("server_protocol", fuzzing::server_stream);
}
