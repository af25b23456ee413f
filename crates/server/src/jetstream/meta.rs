//! Stream (and later consumer) metadata on disk: `meta.json`, a versioned envelope holding
//! the JSON config and a CRC32 of it. Written to a temporary file, fsynced, renamed over the
//! old one, and the directory fsynced, so a crash leaves either the old or the new version,
//! never a torn one. A file whose checksum fails is reported, never silently replaced.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const META_FILE: &str = "meta.json";
#[cfg(test)]
const META_TMP: &str = "meta.json.tmp";
/// Bumped when the envelope or the meaning of its content changes.
pub const META_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a Weir metadata file: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("{path}: metadata version {found} is newer than this weir-server understands ({META_VERSION}); upgrade weir-server")]
    TooNew { path: PathBuf, found: u32 },
    #[error("{path}: checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file is corrupt; restore it from a backup or remove the stream directory")]
    Checksum {
        path: PathBuf,
        stored: u32,
        computed: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    version: u32,
    crc32: u32,
    /// The config as JSON text, so the checksum covers exactly the stored bytes.
    config: String,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MetaError + '_ {
    move |source| MetaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Atomically replaces `dir/meta.json` with `value`.
pub fn save<T: Serialize>(dir: &Path, value: &T) -> Result<(), MetaError> {
    let config = serde_json::to_string(value).map_err(|e| MetaError::Malformed {
        path: dir.join(META_FILE),
        why: e.to_string(),
    })?;
    let envelope = Envelope {
        version: META_VERSION,
        crc32: crc32fast::hash(config.as_bytes()),
        config,
    };
    let bytes = serde_json::to_vec_pretty(&envelope).map_err(|e| MetaError::Malformed {
        path: dir.join(META_FILE),
        why: e.to_string(),
    })?;
    write_atomic(dir, META_FILE, &bytes)
}

/// Atomically replaces `dir/<name>` with `bytes`: a temp file written and fsynced, renamed
/// over the old one, and the directory fsynced, so a crash leaves the old or the new file.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MetaError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    let target = dir.join(name);
    fs::rename(&tmp, &target).map_err(io_err(&target))?;
    sync_dir(dir)
}

/// Reads `dir/meta.json`.
pub fn load<T: DeserializeOwned>(dir: &Path) -> Result<T, MetaError> {
    let path = dir.join(META_FILE);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| MetaError::Malformed {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if envelope.version > META_VERSION {
        return Err(MetaError::TooNew {
            path,
            found: envelope.version,
        });
    }
    let computed = crc32fast::hash(envelope.config.as_bytes());
    if computed != envelope.crc32 {
        return Err(MetaError::Checksum {
            path,
            stored: envelope.crc32,
            computed,
        });
    }
    serde_json::from_str(&envelope.config).map_err(|e| MetaError::Malformed {
        path,
        why: e.to_string(),
    })
}

/// Makes renames and creations inside `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), MetaError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Cfg {
        name: String,
        max_msgs: i64,
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-meta-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trip_and_replace() {
        let dir = temp_dir("rt");
        let a = Cfg {
            name: "ORDERS".into(),
            max_msgs: 10,
        };
        save(&dir, &a).unwrap();
        assert_eq!(load::<Cfg>(&dir).unwrap(), a);
        let b = Cfg {
            name: "ORDERS".into(),
            max_msgs: 20,
        };
        save(&dir, &b).unwrap();
        assert_eq!(load::<Cfg>(&dir).unwrap(), b);
        assert!(!dir.join(META_TMP).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corruption_and_newer_versions_are_reported() {
        let dir = temp_dir("bad");
        save(
            &dir,
            &Cfg {
                name: "X".into(),
                max_msgs: 1,
            },
        )
        .unwrap();
        let path = dir.join(META_FILE);
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("\\\"X\\\"", "\\\"Y\\\"");
        fs::write(&path, text).unwrap();
        assert!(matches!(load::<Cfg>(&dir), Err(MetaError::Checksum { .. })));
        fs::write(&path, r#"{"version":99,"crc32":0,"config":"{}"}"#).unwrap();
        assert!(matches!(
            load::<Cfg>(&dir),
            Err(MetaError::TooNew { found: 99, .. })
        ));
        fs::write(&path, "not json").unwrap();
        let err = load::<Cfg>(&dir).unwrap_err();
        assert!(matches!(err, MetaError::Malformed { .. }), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
