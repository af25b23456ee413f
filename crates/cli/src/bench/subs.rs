//! `weir bench subs`: one connection holding many distinct subscriptions.

use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;

use super::conns::{footprint, hold_for, Footprint};
use super::progress::Progress;
use super::raw::RawConn;
use super::system::rss_bytes;
use super::BenchCommon;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, log, print_json};

/// Subscriptions sent per write.
const BATCH: u64 = 10_000;

#[derive(Debug, clap::Args)]
pub struct SubsArgs {
    /// Number of subscriptions
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Subjects are PREFIX.<i>
    #[arg(long, default_value = "bench.subs")]
    pub prefix: String,
    /// Keep the subscriptions this many seconds after they are registered (Ctrl-C ends it early)
    #[arg(long, default_value_t = 0)]
    pub hold: u64,
    /// Server process id: report its resident memory (VmRSS) before and after
    #[arg(long)]
    pub pid: Option<u32>,
    #[command(flatten)]
    pub common: BenchCommon,
}

#[derive(Debug, Serialize)]
pub struct SubsSummary {
    pub bench: &'static str,
    pub server: String,
    pub subscriptions: u64,
    pub elapsed_ms: f64,
    pub subs_per_sec: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Footprint>,
    pub hold_secs: u64,
    pub still_open_after_hold: bool,
}

/// The SUB lines for subscriptions `from..to` (sid = i + 1).
pub fn sub_lines(prefix: &str, from: u64, to: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(((to - from) as usize) * (prefix.len() + 24));
    for i in from..to {
        out.extend_from_slice(format!("SUB {prefix}.{i} {}\r\n", i + 1).as_bytes());
    }
    out
}

pub async fn run(global: &Global, args: &SubsArgs) -> Result<()> {
    if args.prefix.is_empty() || args.prefix.contains(char::is_whitespace) {
        return Err(CliError::Usage(
            "--prefix must be a non-empty subject without spaces".to_string(),
        ));
    }
    let addr = global.tcp_addr()?;
    let quiet = global.json;
    let mut conn = RawConn::handshake(&addr, "weir-bench-subs", global.timeout)
        .await
        .map_err(|e| CliError::connect_io(&global.server, &e))?;
    let rss_before = args.pid.map(rss_bytes).transpose()?;
    if !quiet {
        log(format!(
            "Subscribing to {} subjects {}.<i> on one connection",
            commas(args.count),
            args.prefix
        ));
    }
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let bar = progress.bar("subs", args.count);
    let started = Instant::now();
    let mut from = 0;
    while from < args.count {
        let to = (from + BATCH).min(args.count);
        conn.write_all(&sub_lines(&args.prefix, from, to))
            .await
            .map_err(|e| CliError::io("cannot send subscriptions", e))?;
        bar.set_position(to);
        from = to;
    }
    conn.sync().await.map_err(|e| {
        CliError::io(
            "the server did not confirm the subscriptions (PING/PONG)",
            e,
        )
    })?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    bar.finish();
    let server_memory = match (args.pid, rss_before) {
        (Some(pid), Some(before)) => Some(footprint(pid, before, args.count).await?),
        _ => None,
    };
    let mut summary = SubsSummary {
        bench: "subs",
        server: global.server.clone(),
        subscriptions: args.count,
        elapsed_ms: elapsed_secs * 1e3,
        subs_per_sec: if elapsed_secs > 0.0 {
            args.count as f64 / elapsed_secs
        } else {
            0.0
        },
        server_memory,
        hold_secs: args.hold,
        still_open_after_hold: true,
    };
    if !quiet {
        let mut text = format!(
            "\nRegistered {} subscriptions in {:.1} ms ({} subs/sec)\n",
            commas(args.count),
            summary.elapsed_ms,
            commas(summary.subs_per_sec.round() as u64)
        );
        if let Some(memory) = &summary.server_memory {
            text.push_str(&format!(" {}\n", memory.describe("subscription")));
        }
        emit(&text)?;
    }
    if args.hold > 0 {
        let (stop_tx, stop_rx) = watch::channel(false);
        let holder = tokio::spawn(conn.hold(stop_rx));
        hold_for(
            args.hold,
            quiet,
            &format!("{} subscriptions", commas(args.count)),
        )
        .await;
        let _ = stop_tx.send(true);
        summary.still_open_after_hold = holder.await.unwrap_or(false);
        if !quiet && !summary.still_open_after_hold {
            emit(" the server closed the connection during the hold\n")?;
        }
    }
    if quiet {
        print_json(&summary)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_lines_number_sids_from_one() {
        let lines = sub_lines("bench.subs", 0, 2);
        assert_eq!(
            String::from_utf8(lines).unwrap(),
            "SUB bench.subs.0 1\r\nSUB bench.subs.1 2\r\n"
        );
    }
}
