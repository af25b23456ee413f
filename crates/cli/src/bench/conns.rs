//! `weir bench conns`: open many idle connections and report the server's memory.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::progress::Progress;
use super::raw::RawConn;
use super::system::{raise_fd_limit, rss_bytes};
use super::BenchCommon;
use crate::connect::Global;
use crate::error::{describe_io, CliError, Result};
use crate::output::{commas, emit, human_bytes, log, print_json};

#[derive(Debug, clap::Args)]
pub struct ConnsArgs {
    /// Number of connections to open
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Keep the connections open this many seconds after connecting (Ctrl-C ends it early)
    #[arg(long, default_value_t = 0)]
    pub hold: u64,
    /// Server process id: report its resident memory (VmRSS) before and after
    #[arg(long)]
    pub pid: Option<u32>,
    /// Handshakes in flight at once
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// Server memory before and after the load, when `--pid` is given.
#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    pub pid: u32,
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    pub rss_delta_bytes: i64,
    pub rss_delta_per_item_bytes: f64,
}

impl Footprint {
    pub fn describe(&self, item: &str) -> String {
        format!(
            "Server RSS (pid {}): {} before, {} after ({}{} total, {:.0} bytes per {item})",
            self.pid,
            human_bytes(self.rss_before_bytes),
            human_bytes(self.rss_after_bytes),
            if self.rss_delta_bytes < 0 { "-" } else { "+" },
            human_bytes(self.rss_delta_bytes.unsigned_abs()),
            self.rss_delta_per_item_bytes
        )
    }
}

/// Measures the server's RSS after `items` were added, given the `before` reading.
/// Waits briefly first so the server has finished processing.
pub async fn footprint(pid: u32, before: u64, items: u64) -> Result<Footprint> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes(pid)?;
    let delta = after as i64 - before as i64;
    Ok(Footprint {
        pid,
        rss_before_bytes: before,
        rss_after_bytes: after,
        rss_delta_bytes: delta,
        rss_delta_per_item_bytes: if items > 0 {
            delta as f64 / items as f64
        } else {
            0.0
        },
    })
}

/// Waits `hold_secs` or until Ctrl-C.
pub async fn hold_for(hold_secs: u64, quiet: bool, what: &str) {
    if hold_secs == 0 {
        return;
    }
    if !quiet {
        log(format!("Holding {what} for {hold_secs}s (Ctrl-C to stop)"));
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(hold_secs)) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[derive(Debug, Serialize)]
pub struct ConnsSummary {
    pub bench: &'static str,
    pub server: String,
    pub requested: u64,
    pub connected: u64,
    pub failed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub elapsed_ms: f64,
    pub conns_per_sec: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Footprint>,
    pub hold_secs: u64,
    pub still_open_after_hold: u64,
}

pub async fn run(global: &Global, args: &ConnsArgs) -> Result<()> {
    let addr = global.tcp_addr()?;
    let quiet = global.json;
    let fd_limit = raise_fd_limit(args.count + 256)?;
    if fd_limit < args.count + 64 && !quiet {
        log(format!(
            "warning: the open-file limit is {fd_limit}; some of the {} connections will fail \
             (raise it with `ulimit -n`)",
            commas(args.count)
        ));
    }
    let rss_before = args.pid.map(rss_bytes).transpose()?;
    if !quiet {
        log(format!(
            "Opening {} connections to {addr}",
            commas(args.count)
        ));
    }
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let bar = progress.bar("conns", args.count);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut held = JoinSet::new();
    let mut failed = 0u64;
    let mut first_error = None;
    let started = Instant::now();
    let mut handshakes = futures::stream::iter(0..args.count)
        .map(|i| {
            let addr = addr.clone();
            let timeout = global.timeout;
            async move { RawConn::handshake(&addr, &format!("weir-bench-conn-{i}"), timeout).await }
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some(result) = handshakes.next().await {
        match result {
            Ok(conn) => {
                held.spawn(conn.hold(stop_rx.clone()));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| describe_io(&e));
            }
        }
        bar.inc(1);
    }
    let elapsed = started.elapsed();
    bar.finish();
    let connected = held.len() as u64;
    if connected == 0 {
        return Err(CliError::BenchIncomplete(format!(
            "no connection to {addr} succeeded: {} — {}",
            first_error.unwrap_or_default(),
            crate::error::START_HINT
        )));
    }
    let server_memory = match (args.pid, rss_before) {
        (Some(pid), Some(before)) => Some(footprint(pid, before, connected).await?),
        _ => None,
    };
    let elapsed_secs = elapsed.as_secs_f64();
    let mut summary = ConnsSummary {
        bench: "conns",
        server: global.server.clone(),
        requested: args.count,
        connected,
        failed,
        first_error,
        elapsed_ms: elapsed_secs * 1e3,
        conns_per_sec: if elapsed_secs > 0.0 {
            connected as f64 / elapsed_secs
        } else {
            0.0
        },
        server_memory,
        hold_secs: args.hold,
        still_open_after_hold: connected,
    };
    if !quiet {
        let mut text = format!(
            "\nOpened {} of {} connections in {:.1} ms ({} conns/sec)\n",
            commas(connected),
            commas(args.count),
            summary.elapsed_ms,
            commas(summary.conns_per_sec.round() as u64)
        );
        if failed > 0 {
            text.push_str(&format!(
                " {} failed: {}\n",
                commas(failed),
                summary.first_error.as_deref().unwrap_or("unknown error")
            ));
        }
        if let Some(memory) = &summary.server_memory {
            text.push_str(&format!(" {}\n", memory.describe("connection")));
        }
        emit(&text)?;
    }
    hold_for(
        args.hold,
        quiet,
        &format!("{} connections", commas(connected)),
    )
    .await;
    let _ = stop_tx.send(true);
    let mut still_open = 0u64;
    while let Some(joined) = held.join_next().await {
        still_open += u64::from(joined.unwrap_or(false));
    }
    summary.still_open_after_hold = still_open;
    if quiet {
        print_json(&summary)?;
    } else if args.hold > 0 {
        emit(&format!(
            " {} of {} connections were still open after the hold\n",
            commas(still_open),
            commas(connected)
        ))?;
    }
    if failed > 0 {
        return Err(CliError::BenchIncomplete(format!(
            "{} of {} connections failed",
            commas(failed),
            commas(args.count)
        )));
    }
    Ok(())
}
