//! `weir object put` and `get`: moving object data between files (or stdin/stdout) and a
//! bucket, with a progress bar on large transfers.

use std::io::IsTerminal;
use std::path::{Component, Path};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_nats::jetstream::object_store::{GetErrorKind, ObjectMetadata};
use async_nats::HeaderMap;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::object::args::{GetArgs, PutArgs};
use crate::object::bucket::{missing_object, show_object, Bucket};
use crate::output::{emit, human_bytes, print_json};

/// Transfers smaller than this finish too fast for a bar to help (the `nats` CLI's threshold).
const PROGRESS_MIN_BYTES: u64 = 20 * 1024;
/// Read size when copying an object out; the clients store 128 KiB chunks.
const COPY_BUFFER_BYTES: usize = 128 * 1024;

/// A bar on stderr counting bytes, with rate and ETA when the size is known; hidden when
/// disabled, for JSON output, off a terminal or for small transfers.
fn transfer_bar(enabled: bool, len: Option<u64>) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(len) if len < PROGRESS_MIN_BYTES => return ProgressBar::hidden(),
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()),
            "{binary_bytes:>10}/{binary_total_bytes} [{bar:40.cyan/blue}] \
             {binary_bytes_per_sec} ETA {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Counts the bytes read through it on a progress bar.
struct CountingReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: AsyncRead + Unpin> AsyncRead for CountingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            self.bar.inc((buf.filled().len() - before) as u64);
        }
        polled
    }
}

/// The object name for a file: its path as given, without `.` steps (as the `nats` CLI
/// names it).
pub fn name_for_path(path: &str) -> String {
    let parts: Vec<String> = Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::CurDir => None,
            Component::RootDir => Some(String::new()),
            other => Some(other.as_os_str().to_string_lossy().into_owned()),
        })
        .collect();
    match parts.as_slice() {
        [root] if root.is_empty() => "/".to_string(),
        _ => parts.join("/"),
    }
}

fn is_stdio(path: &Option<String>) -> bool {
    matches!(path.as_deref(), None | Some("-"))
}

pub async fn put(global: &Global, args: &PutArgs) -> Result<()> {
    let name = match (&args.name, is_stdio(&args.file)) {
        (Some(name), _) => name.clone(),
        (None, true) => {
            return Err(CliError::Usage(
                "--name is required when the object is read from stdin".to_string(),
            ))
        }
        (None, false) => name_for_path(args.file.as_deref().unwrap_or_default()),
    };
    if name.is_empty() {
        return Err(CliError::Usage("the object name is empty".to_string()));
    }
    let (source, size): (Box<dyn AsyncRead + Unpin + Send>, Option<u64>) = match &args.file {
        Some(path) if path != "-" => {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| CliError::io(format!("cannot open {path}"), e))?;
            let size = file
                .metadata()
                .await
                .map_err(|e| CliError::io(format!("cannot read the size of {path}"), e))?
                .len();
            (Box::new(file), Some(size))
        }
        _ => (Box::new(tokio::io::stdin()), None),
    };
    let mut headers = HeaderMap::new();
    for header in &args.headers {
        headers.append(header.key.as_str(), header.value.as_str());
    }
    let meta = ObjectMetadata {
        name: name.clone(),
        description: args.description.clone(),
        headers: (!args.headers.is_empty()).then_some(headers),
        ..Default::default()
    };

    let bucket = Bucket::open(global, &args.bucket).await?;
    let bar = transfer_bar(!args.no_progress && !global.json, size);
    let mut reader = CountingReader { inner: source, bar };
    let stored = bucket.store.put(meta, &mut reader).await;
    reader.bar.finish_and_clear();
    let info =
        stored.map_err(|e| bucket.failure(&format!("cannot put {} > {name}", args.bucket), e))?;
    show_object(global, &info)
}

#[derive(Serialize)]
struct Fetched<'a> {
    bucket: &'a str,
    name: &'a str,
    output: &'a str,
    size: u64,
    digest: Option<&'a str>,
    seconds: f64,
}

/// Copies `object` into `out`, each read bounded by `idle` so a stalled server cannot hang
/// the command; returns the bytes copied.
async fn copy_object<R, W>(
    object: &mut R,
    out: &mut W,
    bar: &ProgressBar,
    global: &Global,
) -> Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut copied = 0u64;
    loop {
        let read = tokio::time::timeout(global.timeout, object.read(&mut buffer))
            .await
            .map_err(|_| {
                CliError::Unsupported(format!(
                    "the server at {} sent no object data for {:?} (raise --timeout if it is busy)",
                    global.server, global.timeout
                ))
            })?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    CliError::io("the object's data does not match its SHA-256 digest", e)
                }
                _ => CliError::io("cannot read the object", e),
            })?;
        if read == 0 {
            break;
        }
        out.write_all(&buffer[..read])
            .await
            .map_err(|e| CliError::io("cannot write the object", e))?;
        copied += read as u64;
        bar.inc(read as u64);
    }
    out.flush()
        .await
        .map_err(|e| CliError::io("cannot write the object", e))?;
    Ok(copied)
}

pub async fn get(global: &Global, args: &GetArgs) -> Result<()> {
    let to_stdout = is_stdio(&args.output);
    if to_stdout && global.json {
        return Err(CliError::Usage(
            "--json needs --output FILE: without it the object itself is written to stdout"
                .to_string(),
        ));
    }
    let output = args.output.clone().unwrap_or_else(|| "-".to_string());
    if !to_stdout
        && Path::new(&output).exists()
        && !crate::kv::js::confirm(&format!("overwrite {output}"), args.force)?
    {
        return emit("Skipping get\n");
    }
    let bucket = Bucket::open(global, &args.bucket).await?;
    let mut object = bucket
        .store
        .get(&args.name)
        .await
        .map_err(|e| match e.kind() {
            GetErrorKind::NotFound => missing_object(&args.bucket, &args.name),
            _ => bucket.failure(&format!("cannot get {} > {}", args.bucket, args.name), e),
        })?;
    let size = object.info.size as u64;
    let digest = object.info.digest.clone();
    let started = Instant::now();
    let bar = transfer_bar(!args.no_progress, Some(size));
    let copied = if to_stdout {
        copy_object(&mut object, &mut tokio::io::stdout(), &bar, global).await
    } else {
        let mut file = tokio::fs::File::create(&output)
            .await
            .map_err(|e| CliError::io(format!("cannot create {output}"), e))?;
        let copied = copy_object(&mut object, &mut file, &bar, global).await;
        if copied.is_err() {
            // Leave no partial file behind to be mistaken for the object.
            drop(file);
            let _ = tokio::fs::remove_file(&output).await;
        }
        copied
    };
    bar.finish_and_clear();
    let copied = copied?;
    if copied != size {
        return Err(CliError::Unsupported(format!(
            "{} > {}: received {copied} bytes but the object is {size} bytes",
            args.bucket, args.name
        )));
    }
    if to_stdout {
        return Ok(());
    }
    let seconds = started.elapsed().as_secs_f64();
    if global.json {
        return print_json(&Fetched {
            bucket: &args.bucket,
            name: &args.name,
            output: &output,
            size,
            digest: digest.as_deref(),
            seconds,
        });
    }
    emit(&format!(
        "Wrote {} to {output} in {seconds:.2}s ({}/s)\n",
        human_bytes(size),
        human_bytes((size as f64 / seconds.max(1e-9)) as u64)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_cleaned_path() {
        assert_eq!(name_for_path("photo.jpg"), "photo.jpg");
        assert_eq!(name_for_path("./photo.jpg"), "photo.jpg");
        assert_eq!(name_for_path("dir/./sub//a.bin"), "dir/sub/a.bin");
        assert_eq!(name_for_path("/tmp/a.bin"), "/tmp/a.bin");
    }

    #[tokio::test]
    async fn counting_reader_counts_every_byte() {
        let bar = ProgressBar::hidden();
        let mut reader = CountingReader {
            inner: &[7u8; 1000][..],
            bar: bar.clone(),
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 1000);
        assert_eq!(bar.position(), 1000);
    }

    #[test]
    fn small_or_disabled_transfers_get_no_bar() {
        assert!(transfer_bar(false, Some(1 << 30)).is_hidden());
        assert!(transfer_bar(true, Some(100)).is_hidden());
    }
}
