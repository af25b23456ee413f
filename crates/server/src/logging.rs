//! Log output in nats-server's line format, `[pid] 2026/11/21 23:49:51.123456 [INF] message`,
//! to stderr or a file. Client test suites and operators grep these lines (for example
//! `Listening for client connections on`), so the wording of key lines matches nats-server.
//!
//! A log file can rotate by size as nats-server's does (`logfile_size_limit` /
//! `--log_size_limit`): once a write takes the file past the limit it is renamed
//! `<file>.YYYY.MM.DD.HH.MM.SS.NNNNNNNNN` (UTC here, local time in nats-server), a new file is
//! started with the line `Rotated log, backup saved as "<backup>"`, and with
//! `logfile_max_num: N` the oldest backups are removed so at most N files remain (the active
//! one included), each removal logged as `Purged log file "<backup>"`. SIGUSR1 reopens the
//! file (for external rotation tools).
//!
//! `--log-json` / `log_json: true` (a Weir extension) writes one JSON object per line instead:
//! `{"timestamp":…,"level":"INFO","message":…,"target":…}` plus any structured fields.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::timefmt;

#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub debug: bool,
    pub trace: bool,
    pub file: Option<PathBuf>,
    pub log_time: bool,
    /// Rotate the log file once it grows past this many bytes (0: never).
    pub size_limit: u64,
    /// Keep at most this many log files, the active one included (0: keep all backups).
    pub max_files: u64,
    /// One JSON object per line instead of nats-server's text lines.
    pub json: bool,
}

/// Lets SIGHUP change the levels and SIGUSR1 reopen the file of a running server.
pub struct LogHandle {
    filter: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    file: Option<Arc<LogFile>>,
}

impl LogHandle {
    pub fn set_levels(&self, debug: bool, trace: bool) {
        let _ = self.filter.reload(filter(debug, trace));
    }

    /// Closes and reopens the log file (SIGUSR1), so a file renamed by an external tool is
    /// replaced by a fresh one. No-op when logging to stderr.
    pub fn reopen(&self) -> io::Result<()> {
        match &self.file {
            Some(file) => file.reopen(),
            None => Ok(()),
        }
    }
}

fn filter(debug: bool, trace: bool) -> EnvFilter {
    // Our crates at the chosen level; libraries only when something is wrong.
    let level = if trace {
        "trace"
    } else if debug {
        "debug"
    } else {
        "info"
    };
    EnvFilter::new(format!("warn,weir_server={level},weir={level}"))
}

type Base = tracing_subscriber::layer::Layered<
    reload::Layer<EnvFilter, tracing_subscriber::Registry>,
    tracing_subscriber::Registry,
>;

/// The subscriber `init` installs, writing to `writer`; separate so tests can use it locally.
fn build(
    config: &LogConfig,
    writer: BoxMakeWriter,
) -> (
    impl Subscriber + Send + Sync,
    reload::Handle<EnvFilter, tracing_subscriber::Registry>,
) {
    let (filter_layer, handle) = reload::Layer::new(filter(config.debug, config.trace));
    let output: Box<dyn Layer<Base> + Send + Sync> = if config.json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_ansi(false)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .event_format(NatsFormat {
                pid: std::process::id(),
                with_time: config.log_time,
            })
            .with_ansi(false)
            .with_writer(writer)
            .boxed()
    };
    let subscriber = tracing_subscriber::registry()
        .with(filter_layer)
        .with(output);
    (subscriber, handle)
}

/// Installs the global subscriber. Fails only when the log file cannot be opened.
pub fn init(config: &LogConfig) -> io::Result<LogHandle> {
    let file = match &config.file {
        Some(path) => Some(Arc::new(LogFile::open(path, config)?)),
        None => None,
    };
    let writer = match &file {
        Some(file) => BoxMakeWriter::new(file.clone()),
        None => BoxMakeWriter::new(io::stderr),
    };
    let (subscriber, filter) = build(config, writer);
    subscriber.try_init().map_err(io::Error::other)?;
    Ok(LogHandle { filter, file })
}

/// How lines the file writes itself (rotation notices) look: like the other lines.
#[derive(Debug, Clone, Copy)]
struct DirectFormat {
    json: bool,
    with_time: bool,
    pid: u32,
}

impl DirectFormat {
    fn line(&self, level: Level, message: &str) -> String {
        if self.json {
            let mut line = serde_json::json!({
                "timestamp": timefmt::rfc3339(SystemTime::now()),
                "level": level.to_string(),
                "message": message,
                "target": "weir_server::logging",
            })
            .to_string();
            line.push('\n');
            return line;
        }
        let mut line = format!("[{}] ", self.pid);
        if self.with_time {
            line.push_str(&timefmt::log_stamp(SystemTime::now()));
            line.push(' ');
        }
        line.push_str(&format!("[{}] {message}\n", label(&level)));
        line
    }
}

struct FileState {
    file: File,
    /// Bytes in the current file.
    written: u64,
}

/// A log file that rotates by size. Each event reaches it as one `write` (the formatter
/// buffers the line), so rotation never splits a line.
pub struct LogFile {
    path: PathBuf,
    size_limit: u64,
    max_files: u64,
    format: DirectFormat,
    state: Mutex<FileState>,
}

impl LogFile {
    pub fn open(path: &Path, config: &LogConfig) -> io::Result<LogFile> {
        let file = open_append(path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile {
            path: path.to_path_buf(),
            size_limit: config.size_limit,
            max_files: config.max_files,
            format: DirectFormat {
                json: config.json,
                with_time: config.log_time,
                pid: std::process::id(),
            },
            state: Mutex::new(FileState { file, written }),
        })
    }

    pub fn reopen(&self) -> io::Result<()> {
        let file = open_append(&self.path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        *self.state.lock() = FileState { file, written };
        Ok(())
    }

    fn write_line(&self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state.lock();
        let n = state.file.write(buf)?;
        state.written += n as u64;
        if self.size_limit > 0 && state.written > self.size_limit {
            // A failed rotation leaves the current file in place: logging must go on.
            if let Err(err) = self.rotate(&mut state) {
                let line = self.format.line(
                    Level::ERROR,
                    &format!("Unable to rotate logfile {:?}: {err}", self.path),
                );
                if state.file.write_all(line.as_bytes()).is_ok() {
                    state.written += line.len() as u64;
                }
            }
        }
        Ok(n)
    }

    fn rotate(&self, state: &mut FileState) -> io::Result<()> {
        let c = timefmt::civil(SystemTime::now());
        let mut backup = self.path.clone().into_os_string();
        backup.push(format!(
            ".{:04}.{:02}.{:02}.{:02}.{:02}.{:02}.{:09}",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.nanos
        ));
        let backup = PathBuf::from(backup);
        std::fs::rename(&self.path, &backup)?;
        let file = open_append(&self.path)?;
        *state = FileState { file, written: 0 };
        let line = self.format.line(
            Level::INFO,
            &format!(
                "Rotated log, backup saved as {:?}",
                backup.display().to_string()
            ),
        );
        state.file.write_all(line.as_bytes())?;
        state.written = line.len() as u64;
        if self.max_files > 0 {
            self.purge(state);
        }
        Ok(())
    }

    /// Removes the oldest backups so at most `max_files` files remain, the active included.
    fn purge(&self, state: &mut FileState) {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(base) = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return;
        };
        let mut backups = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stamp = name.strip_prefix(&base)?.strip_prefix('.')?;
                    (is_backup_stamp(stamp) && e.path().is_file()).then_some(name)
                })
                .collect::<Vec<_>>(),
            Err(err) => {
                self.log_direct(
                    state,
                    Level::ERROR,
                    &format!("Unable to read directory {dir:?} for log purge ({err}), will attempt next rotation"),
                );
                return;
            }
        };
        // The stamps sort oldest first.
        backups.sort();
        let keep = usize::try_from(self.max_files.saturating_sub(1)).unwrap_or(usize::MAX);
        let excess = backups.len().saturating_sub(keep);
        for name in backups.into_iter().take(excess) {
            match std::fs::remove_file(dir.join(&name)) {
                Ok(()) => self.log_direct(state, Level::INFO, &format!("Purged log file {name:?}")),
                Err(err) => {
                    self.log_direct(
                        state,
                        Level::ERROR,
                        &format!("Unable to remove backup log file {name:?} ({err}), will attempt next rotation"),
                    );
                    return;
                }
            }
        }
    }

    fn log_direct(&self, state: &mut FileState, level: Level, message: &str) {
        let line = self.format.line(level, message);
        if state.file.write_all(line.as_bytes()).is_ok() {
            state.written += line.len() as u64;
        }
    }
}

/// `YYYY.MM.DD.HH.MM.SS.NNNNNNNNN`: digits in seven dot-separated groups.
fn is_backup_stamp(stamp: &str) -> bool {
    let groups: Vec<&str> = stamp.split('.').collect();
    groups.len() == 7
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `Arc<LogFile>` is the formatter's writer (tracing-subscriber makes `Arc<W>` a `MakeWriter`
/// when `&W` writes); each event arrives as one `write`.
impl Write for &LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_line(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn label(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERR",
        Level::WARN => "WRN",
        Level::INFO => "INF",
        Level::DEBUG => "DBG",
        Level::TRACE => "TRC",
    }
}

struct NatsFormat {
    pid: u32,
    with_time: bool,
}

impl<S, N> FormatEvent<S, N> for NatsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "[{}] ", self.pid)?;
        if self.with_time {
            write!(writer, "{} ", timefmt::log_stamp(SystemTime::now()))?;
        }
        write!(writer, "[{}] ", label(event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "weir-logging-{name}-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Logs `lines` events through a subscriber built like `init`'s, writing to `file`.
    fn log_through(config: &LogConfig, file: &Arc<LogFile>, lines: usize) {
        let (subscriber, _handle) = build(config, BoxMakeWriter::new(file.clone()));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..lines {
                tracing::info!("line number {i:04} with some padding to make it longer");
            }
            tracing::warn!(stream = "ORDERS", "a structured warning");
        });
    }

    #[test]
    fn rotates_past_the_limit_and_prunes_old_backups() {
        let dir = temp_dir("rotate");
        let path = dir.join("weir.log");
        let config = LogConfig {
            file: Some(path.clone()),
            log_time: true,
            size_limit: 1000,
            max_files: 3,
            ..LogConfig::default()
        };
        let file = Arc::new(LogFile::open(&path, &config).expect("open"));
        // Each line is about 100 bytes: dozens of rotations.
        log_through(&config, &file, 300);
        let names = files_in(&dir);
        assert_eq!(names.len(), 3, "active file plus two backups: {names:?}");
        assert!(names.contains(&"weir.log".to_string()));
        for backup in names.iter().filter(|n| *n != "weir.log") {
            let stamp = backup.strip_prefix("weir.log.").expect("backup name");
            assert!(is_backup_stamp(stamp), "{backup}");
            let len = std::fs::metadata(dir.join(backup)).expect("stat").len();
            // A file rotates on the write that crosses the limit: one line past it at most
            // (plus the purge notices written after the rotation notice).
            assert!(len > 1000 && len < 1000 + 400, "{backup}: {len} bytes");
        }
        let active = std::fs::read_to_string(&path).expect("read active");
        let first = active.lines().next().expect("a first line");
        assert!(
            first.contains("[INF] Rotated log, backup saved as \""),
            "{first}"
        );
        // The newest backup starts with its own rotation notice and a purge notice.
        let newest = names
            .iter()
            .filter(|n| *n != "weir.log")
            .max()
            .expect("backup");
        let text = std::fs::read_to_string(dir.join(newest)).expect("read backup");
        assert!(text.contains("Purged log file \"weir.log."), "{text}");
        assert!(
            text.lines()
                .chain(active.lines())
                .all(|l| l.starts_with(&format!("[{}] ", std::process::id()))),
            "every line in nats-server's format"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_max_files_every_backup_is_kept() {
        let dir = temp_dir("keep");
        let path = dir.join("weir.log");
        let config = LogConfig {
            file: Some(path.clone()),
            size_limit: 2000,
            ..LogConfig::default()
        };
        let file = Arc::new(LogFile::open(&path, &config).expect("open"));
        log_through(&config, &file, 100);
        let names = files_in(&dir);
        assert!(names.len() >= 4, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn json_lines_parse_with_level_and_message() {
        let dir = temp_dir("json");
        let path = dir.join("weir.log");
        let config = LogConfig {
            file: Some(path.clone()),
            json: true,
            size_limit: 1500,
            ..LogConfig::default()
        };
        let file = Arc::new(LogFile::open(&path, &config).expect("open"));
        log_through(&config, &file, 40);
        let mut lines = 0;
        let mut rotated = false;
        let mut structured = false;
        for name in files_in(&dir) {
            let text = std::fs::read_to_string(dir.join(&name)).expect("read");
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}"));
                let level = v["level"].as_str().expect("level");
                assert!(["INFO", "WARN"].contains(&level), "{line}");
                let message = v["message"].as_str().expect("message");
                rotated |= message.starts_with("Rotated log, backup saved as");
                if message == "a structured warning" {
                    assert_eq!(v["stream"], "ORDERS", "{line}");
                    structured = true;
                }
                lines += 1;
            }
        }
        assert!(lines > 40 && rotated && structured);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_lines_only_with_debug() {
        let dir = temp_dir("levels");
        for (debug, expect) in [(false, false), (true, true)] {
            let path = dir.join(format!("debug-{debug}.log"));
            let config = LogConfig {
                debug,
                file: Some(path.clone()),
                ..LogConfig::default()
            };
            let file = Arc::new(LogFile::open(&path, &config).expect("open"));
            let (subscriber, _h) = build(&config, BoxMakeWriter::new(file.clone()));
            tracing::subscriber::with_default(subscriber, || {
                tracing::debug!("a debug line");
                tracing::info!("an info line");
            });
            let text = std::fs::read_to_string(&path).expect("read");
            assert_eq!(text.contains("[DBG] a debug line"), expect, "{text}");
            assert!(text.contains("[INF] an info line"), "{text}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
