//! `/metrics`: Prometheus text exposition format 0.0.4. Every name starts with `weir_`; every
//! family has HELP and TYPE lines. Stream and consumer values come from the same builders as
//! `$JS.API.STREAM.INFO` / `$JS.API.CONSUMER.INFO`, so they agree with the API.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::{ServerState, FSYNC_BUCKETS_SECONDS};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn handler(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&state))
}

/// A text-format writer: one family at a time, samples right after their HELP/TYPE lines.
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Label values escape `\`, `"` and newline.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escapes `\` and newline.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Prometheus renders `le` bounds as Go's `%g`-ish shortest form; Rust's `Display` of an f64
/// is already shortest round-trip (`0.0001`, `1`, `2.5`).
fn bound_text(bound: f64) -> String {
    format!("{bound}")
}

pub fn render(state: &ServerState) -> String {
    let mut m = Exposition { out: String::new() };
    server_metrics(state, &mut m);
    jetstream_metrics(state, &mut m);
    schema_metrics(state, &mut m);
    fsync_histogram(state, &mut m);
    m.out
}

fn server_metrics(state: &ServerState, m: &mut Exposition) {
    let traffic = super::traffic(state);
    let totals = &state.totals;
    m.single(
        "weir_connections",
        "gauge",
        "Client connections currently open.",
        state.connection_count(),
    );
    m.single(
        "weir_connections_accepted_total",
        "counter",
        "Client connections accepted since the server started.",
        totals.total_connections.load(Ordering::Relaxed),
    );
    m.single(
        "weir_in_msgs_total",
        "counter",
        "Messages received from clients.",
        traffic.in_msgs,
    );
    m.single(
        "weir_in_bytes_total",
        "counter",
        "Payload bytes received from clients.",
        traffic.in_bytes,
    );
    m.single(
        "weir_out_msgs_total",
        "counter",
        "Messages delivered to clients.",
        traffic.out_msgs,
    );
    m.single(
        "weir_out_bytes_total",
        "counter",
        "Payload bytes delivered to clients.",
        traffic.out_bytes,
    );
    m.single(
        "weir_slow_consumers_total",
        "counter",
        "Clients disconnected or dropped as slow consumers.",
        totals.slow_consumers.load(Ordering::Relaxed),
    );
    m.single(
        "weir_subscriptions",
        "gauge",
        "Subscriptions currently registered.",
        state.subscription_count(),
    );
}

const STREAM_GAUGES: [(&str, &str); 6] = [
    (
        "weir_jetstream_stream_messages",
        "Messages stored in the stream.",
    ),
    ("weir_jetstream_stream_bytes", "Bytes stored in the stream."),
    (
        "weir_jetstream_stream_first_seq",
        "First sequence in the stream.",
    ),
    (
        "weir_jetstream_stream_last_seq",
        "Last sequence in the stream.",
    ),
    (
        "weir_jetstream_stream_consumer_count",
        "Consumers of the stream.",
    ),
    (
        "weir_jetstream_stream_subjects",
        "Distinct subjects in the stream.",
    ),
];

const CONSUMER_GAUGES: [(&str, &str); 7] = [
    (
        "weir_jetstream_consumer_num_pending",
        "Messages left to deliver to the consumer.",
    ),
    (
        "weir_jetstream_consumer_num_ack_pending",
        "Messages delivered and awaiting an ack.",
    ),
    (
        "weir_jetstream_consumer_num_redelivered",
        "Messages redelivered and not yet acked.",
    ),
    (
        "weir_jetstream_consumer_num_waiting",
        "Pull requests waiting for messages.",
    ),
    (
        "weir_jetstream_consumer_delivered_stream_seq",
        "Last stream sequence delivered.",
    ),
    (
        "weir_jetstream_consumer_delivered_consumer_seq",
        "Last consumer sequence delivered.",
    ),
    (
        "weir_jetstream_consumer_ack_floor_stream_seq",
        "Stream sequence of the ack floor.",
    ),
];

/// Payload enforcement: publishes refused by a subject's schema, per account.
fn schema_metrics(state: &ServerState, m: &mut Exposition) {
    const NAME: &str = "weir_schema_rejections_total";
    m.family(
        NAME,
        "counter",
        "Publishes refused by their subject's payload schema.",
    );
    for account in state.accounts() {
        m.sample(
            NAME,
            &[("account", account.name.as_str())],
            account.schemas.rejected(),
        );
    }
}

fn jetstream_metrics(state: &ServerState, m: &mut Exposition) {
    let jetstreams = state.jetstreams();
    if jetstreams.is_empty() {
        m.single(
            "weir_jetstream_enabled",
            "gauge",
            "1 when JetStream is enabled.",
            0,
        );
        return;
    }
    m.single(
        "weir_jetstream_enabled",
        "gauge",
        "1 when JetStream is enabled.",
        1,
    );
    let info = super::jsz::total_usage(&jetstreams);
    let limits = super::jsz::server_js_limits(state);
    m.single(
        "weir_jetstream_memory_bytes",
        "gauge",
        "Bytes held by memory-storage streams.",
        info.memory,
    );
    m.single(
        "weir_jetstream_memory_max_bytes",
        "gauge",
        "The server's JetStream memory limit.",
        limits.max_memory,
    );
    m.single(
        "weir_jetstream_storage_bytes",
        "gauge",
        "Bytes held by file-storage streams.",
        info.storage,
    );
    m.single(
        "weir_jetstream_storage_max_bytes",
        "gauge",
        "The server's JetStream storage limit.",
        limits.max_storage,
    );
    m.single(
        "weir_jetstream_api_requests_total",
        "counter",
        "JetStream API requests served.",
        info.api.total,
    );
    m.single(
        "weir_jetstream_api_errors_total",
        "counter",
        "JetStream API requests answered with an error.",
        info.api.errors,
    );

    let mut streams = Vec::new();
    let mut consumers = Vec::new();
    for (account, js) in &jetstreams {
        let entries: Vec<_> = js.streams.read().values().cloned().collect();
        for entry in &entries {
            let si = js.info(entry, "", false);
            let name = si.config.name.clone();
            let st = &si.state;
            streams.push((
                account.clone(),
                name.clone(),
                [
                    st.messages,
                    st.bytes,
                    st.first_seq,
                    st.last_seq,
                    st.consumer_count.max(0) as u64,
                    st.num_subjects.max(0) as u64,
                ],
            ));
            for consumer in entry.consumers.all() {
                let ci = consumer.info();
                consumers.push((
                    account.clone(),
                    name.clone(),
                    ci.name.clone(),
                    [
                        ci.num_pending,
                        ci.num_ack_pending.max(0) as u64,
                        ci.num_redelivered.max(0) as u64,
                        ci.num_waiting.max(0) as u64,
                        ci.delivered.stream_seq,
                        ci.delivered.consumer_seq,
                        ci.ack_floor.stream_seq,
                    ],
                ));
            }
        }
    }
    for (i, (metric, help)) in STREAM_GAUGES.iter().enumerate() {
        m.family(metric, "gauge", help);
        for (account, stream, values) in &streams {
            m.sample(
                metric,
                &[("account", account), ("stream", stream)],
                values[i],
            );
        }
    }
    for (i, (metric, help)) in CONSUMER_GAUGES.iter().enumerate() {
        m.family(metric, "gauge", help);
        for (account, stream, consumer, values) in &consumers {
            let labels = [
                ("account", account.as_str()),
                ("stream", stream),
                ("consumer", consumer),
            ];
            m.sample(metric, &labels, values[i]);
        }
    }
}

fn fsync_histogram(state: &ServerState, m: &mut Exposition) {
    const NAME: &str = "weir_jetstream_fsync_seconds";
    let snap = state.fsync_latency.snapshot();
    m.family(NAME, "histogram", "Latency of stream store fsyncs.");
    let bucket = format!("{NAME}_bucket");
    for (bound, count) in FSYNC_BUCKETS_SECONDS.iter().zip(&snap.cumulative) {
        m.sample(&bucket, &[("le", &bound_text(*bound))], count);
    }
    m.sample(&bucket, &[("le", "+Inf")], snap.count);
    m.sample(&format!("{NAME}_sum"), &[], snap.sum_seconds);
    m.sample(&format!("{NAME}_count"), &[], snap.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
        let mut m = Exposition { out: String::new() };
        m.sample("weir_x", &[("stream", "s\"1"), ("account", "$G")], 3);
        assert_eq!(m.out, "weir_x{stream=\"s\\\"1\",account=\"$G\"} 3\n");
    }

    #[test]
    fn bounds_print_without_trailing_zeros() {
        assert_eq!(bound_text(0.0001), "0.0001");
        assert_eq!(bound_text(1.0), "1");
        assert_eq!(bound_text(2.5), "2.5");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = crate::state::LatencyHistogram::default();
        h.observe(std::time::Duration::from_micros(50));
        h.observe(std::time::Duration::from_millis(3));
        h.observe(std::time::Duration::from_secs(10));
        let snap = h.snapshot();
        assert_eq!(snap.count, 3);
        assert_eq!(snap.cumulative.first(), Some(&1));
        assert_eq!(snap.cumulative.last(), Some(&3));
        assert!(snap.cumulative.windows(2).all(|w| w[0] <= w[1]));
        assert!((snap.sum_seconds - 10.00305).abs() < 1e-9);
    }
}
