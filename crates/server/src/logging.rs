//! Log output in nats-server's line format, `[pid] 2026/11/21 23:49:51.123456 [INF] message`,
//! to stderr or a file. Client test suites and operators grep these lines (for example
//! `Listening for client connections on`), so the wording of key lines matches nats-server.

use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

use crate::timefmt;

#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub debug: bool,
    pub trace: bool,
    pub file: Option<PathBuf>,
    pub log_time: bool,
}

/// Lets SIGHUP change the levels of a running server.
pub struct LogHandle {
    filter: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
}

impl LogHandle {
    pub fn set_levels(&self, debug: bool, trace: bool) {
        let _ = self.filter.reload(filter(debug, trace));
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

/// Installs the global subscriber. Fails only when the log file cannot be opened.
pub fn init(config: &LogConfig) -> io::Result<LogHandle> {
    let (filter_layer, handle) = reload::Layer::new(filter(config.debug, config.trace));
    let format = NatsFormat {
        pid: std::process::id(),
        with_time: config.log_time,
    };
    let registry = tracing_subscriber::registry().with(filter_layer);
    match &config.file {
        Some(path) => {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .event_format(format)
                        .with_ansi(false)
                        .with_writer(Mutex::new(file)),
                )
                .try_init()
                .map_err(io::Error::other)?;
        }
        None => {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .event_format(format)
                        .with_ansi(false)
                        .with_writer(io::stderr),
                )
                .try_init()
                .map_err(io::Error::other)?;
        }
    }
    Ok(LogHandle { filter: handle })
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
        let level = match *event.metadata().level() {
            Level::ERROR => "ERR",
            Level::WARN => "WRN",
            Level::INFO => "INF",
            Level::DEBUG => "DBG",
            Level::TRACE => "TRC",
        };
        write!(writer, "[{}] ", self.pid)?;
        if self.with_time {
            write!(writer, "{} ", timefmt::log_stamp(SystemTime::now()))?;
        }
        write!(writer, "[{level}] ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
