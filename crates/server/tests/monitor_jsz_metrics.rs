//! `/jsz` (both targets) and `/metrics` (Weir only: nats-server has none) after a known
//! JetStream workload: a file stream ORDERS with 10 messages on 3 subjects, a memory stream
//! MEM with 2 messages and `max_bytes` 100000, and a pull consumer C on ORDERS that fetched 5,
//! acked 3, nak'd one (then got it redelivered) and left 2 awaiting acks.
//!
//! Expected `/jsz` shapes were measured on nats-server 2.9.10.

mod common;
mod js_common;

use std::time::Duration;

use async_nats::Client;
use bytes::Bytes;
use common::{http_get, http_json, within, TempDir, TestServer};
use js_common::*;
use prometheus_parse::{Scrape, Value as PValue};
use serde_json::{json, Value};

const SUBJECTS: [(&str, usize); 3] = [("orders.a", 4), ("orders.b", 3), ("orders.c", 3)];
const TOTAL: u64 = 10;

struct Fixture {
    c: Client,
    server: TestServer,
    store: TempDir,
}

async fn start() -> Fixture {
    let store = TempDir::new();
    let mut opts = common::js_options(&store.path().join("jetstream"));
    opts.http_port = Some(0);
    let server = TestServer::start(opts).await;
    let c = connect(&server.url()).await;
    Fixture { c, server, store }
}

/// The workload described at the top; returns once the consumer's state is settled.
async fn workload(c: &Client) {
    create_stream(
        c,
        json!({"name": "ORDERS", "subjects": ["orders.>"], "storage": "file"}),
    )
    .await;
    create_stream(
        c,
        json!({"name": "MEM", "subjects": ["mem.>"], "storage": "memory", "max_bytes": 100000}),
    )
    .await;
    for (subject, n) in SUBJECTS {
        for i in 0..n {
            publish_ok(c, subject, &[], format!("{subject}-{i}")).await;
        }
    }
    publish_ok(c, "mem.x", &[], "one").await;
    publish_ok(c, "mem.y", &[], "two").await;
    create_consumer(
        c,
        "ORDERS",
        json!({"durable_name": "C", "ack_policy": "explicit"}),
    )
    .await;

    let mut ib = inbox(c).await;
    pull(c, "ORDERS", "C", &ib.subject, r#"{"batch":5}"#).await;
    let msgs = take_msgs(&mut ib.sub, 5, "first 5 messages").await;
    for (i, msg) in msgs.iter().enumerate() {
        let reply = msg.reply.clone().expect("an ack subject");
        let ack: &'static str = match i {
            0..=2 => "+ACK",
            3 => "-NAK",
            _ => continue,
        };
        // A double ack: the reply says the server applied it, so the next pull sees the nak.
        within(
            API_TIMEOUT,
            "an ack reply",
            c.request(reply, Bytes::from(ack)),
        )
        .await
        .expect("ack reply");
    }
    // The nak'd message (stream seq 4) comes back first.
    pull(c, "ORDERS", "C", &ib.subject, r#"{"batch":1}"#).await;
    let again = next_msg(&mut ib.sub, "the redelivery").await;
    assert_eq!(again.payload, Bytes::from("orders.a-3"));
    within(Duration::from_secs(5), "consumer state to settle", async {
        loop {
            let info = consumer_info(c, "ORDERS", "C").await;
            if info["ack_floor"]["stream_seq"] == 3 && info["num_redelivered"] == 1 {
                break;
            }
            // Short poll interval of a bounded wait.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

async fn jsz(server: &TestServer, query: &str) -> Value {
    let (status, v) = http_json(&format!("{}/jsz?{query}", server.monitor_url())).await;
    assert_eq!(status, 200, "/jsz?{query}: {v}");
    v
}

fn stream_of<'a>(account: &'a Value, name: &str) -> &'a Value {
    account["stream_detail"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no stream {name} in {account}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsz_reports_streams_and_consumers() {
    let f = start().await;
    if !jetstream_served(&f.c).await {
        return;
    }
    workload(&f.c).await;
    let orders = stream_info_with(&f.c, "ORDERS", json!({})).await;
    let mem = stream_info_with(&f.c, "MEM", json!({})).await;
    let cinfo = consumer_info(&f.c, "ORDERS", "C").await;
    let (ob, mb) = (u(&orders["state"]["bytes"]), u(&mem["state"]["bytes"]));

    // Top level only.
    let v = jsz(&f.server, "").await;
    assert!(
        v["server_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
    assert!(v["now"].is_string(), "{v}");
    let store_dir = f.store.path().join("jetstream").join("jetstream");
    assert_eq!(
        v["config"]["store_dir"],
        store_dir.to_string_lossy().as_ref()
    );
    assert!(u(&v["config"]["max_memory"]) > 0 && u(&v["config"]["max_storage"]) > 0);
    assert_eq!(
        (u(&v["memory"]), u(&v["storage"]), u(&v["bytes"])),
        (mb, ob, mb + ob)
    );
    assert_eq!(u(&v["reserved_memory"]), 100000);
    assert_eq!(u(&v["reserved_storage"]), 0);
    assert_eq!((u(&v["accounts"]), u(&v["ha_assets"])), (1, 0));
    assert_eq!((u(&v["streams"]), u(&v["consumers"])), (2, 1));
    assert_eq!(u(&v["messages"]), TOTAL + 2);
    assert!(u(&v["api"]["total"]) >= 5, "{v}");
    assert_eq!(u(&v["api"]["errors"]), 0);
    assert!(v.get("account_details").is_none(), "{v}");
    assert!(v.get("disabled").is_none(), "{v}");

    // accounts=true: the account without streams.
    let v = jsz(&f.server, "accounts=true").await;
    let acc = &v["account_details"][0];
    assert_eq!(v["account_details"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (acc["name"].as_str(), acc["id"].as_str()),
        (Some("$G"), Some("$G"))
    );
    assert_eq!((u(&acc["memory"]), u(&acc["storage"])), (mb, ob));
    assert_eq!(u(&acc["reserved_memory"]), u64::MAX);
    assert!(acc.get("stream_detail").is_none(), "{acc}");

    // streams=true implies accounts; no config, no consumers.
    let v = jsz(&f.server, "streams=true").await;
    let acc = &v["account_details"][0];
    assert_eq!(acc["stream_detail"].as_array().map(Vec::len), Some(2));
    let s = stream_of(acc, "ORDERS");
    assert_eq!(s["created"], orders["created"]);
    assert_eq!(s["cluster"]["leader"], v["server_id"]);
    assert!(
        s.get("config").is_none() && s.get("consumer_detail").is_none(),
        "{s}"
    );
    for field in [
        "messages",
        "bytes",
        "first_seq",
        "first_ts",
        "last_seq",
        "last_ts",
    ] {
        assert_eq!(s["state"][field], orders["state"][field], "state.{field}");
    }
    assert_eq!(u(&s["state"]["messages"]), TOTAL);
    assert_eq!(u(&s["state"]["last_seq"]), TOTAL);
    assert_eq!(u(&s["state"]["num_subjects"]), SUBJECTS.len() as u64);
    assert_eq!(u(&s["state"]["consumer_count"]), 1);
    assert_eq!(u(&stream_of(acc, "MEM")["state"]["messages"]), 2);

    // consumers=true implies streams; consumer details without config.
    let v = jsz(&f.server, "consumers=true").await;
    let acc = &v["account_details"][0];
    let s = stream_of(acc, "ORDERS");
    assert!(stream_of(acc, "MEM").get("consumer_detail").is_none());
    let cd = &s["consumer_detail"];
    assert_eq!(cd.as_array().map(Vec::len), Some(1), "{s}");
    let cd = &cd[0];
    assert_eq!(
        (cd["stream_name"].as_str(), cd["name"].as_str()),
        (Some("ORDERS"), Some("C"))
    );
    assert_eq!(cd["created"], cinfo["created"]);
    assert!(cd.get("config").is_none(), "{cd}");
    let expect = [
        ("num_ack_pending", 2),
        ("num_redelivered", 1),
        ("num_waiting", 0),
        ("num_pending", TOTAL - 5),
    ];
    for (field, want) in expect {
        assert_eq!(u(&cd[field]), want, "{field} in {cd}");
        assert_eq!(cd[field], cinfo[field], "{field} vs CONSUMER.INFO");
    }
    assert_eq!(u(&cd["delivered"]["stream_seq"]), 5);
    assert_eq!(u(&cd["delivered"]["consumer_seq"]), 6);
    assert_eq!(u(&cd["ack_floor"]["stream_seq"]), 3);
    assert_eq!(u(&cd["ack_floor"]["consumer_seq"]), 3);

    // config=true adds the configs.
    let v = jsz(&f.server, "consumers=true&config=true").await;
    let s = stream_of(&v["account_details"][0], "ORDERS");
    assert_eq!(s["config"]["subjects"], json!(["orders.>"]));
    assert_eq!(s["config"]["storage"], "file");
    assert_eq!(s["consumer_detail"][0]["config"]["durable_name"], "C");
    assert_eq!(s["consumer_detail"][0]["config"]["ack_policy"], "explicit");

    // The account filter: an existing account implies accounts=true; an unknown is ignored.
    let v = jsz(&f.server, "acc=$G").await;
    assert_eq!(v["account_details"][0]["name"], "$G");
    assert!(jsz(&f.server, "acc=nope")
        .await
        .get("account_details")
        .is_none());
    let v = jsz(&f.server, "acc=nope&accounts=true").await;
    assert_eq!(v["account_details"][0]["name"], "$G");

    // Paging the accounts; leader-only on a single server changes nothing.
    let v = jsz(&f.server, "accounts=true&offset=1").await;
    assert!(v.get("account_details").is_none(), "{v}");
    let v = jsz(&f.server, "accounts=true&limit=1&leader-only=true").await;
    assert_eq!(v["account_details"].as_array().map(Vec::len), Some(1));
    assert_eq!(u(&v["messages"]), TOTAL + 2);

    // A repeated parameter counts with its first value.
    let v = jsz(&f.server, "accounts=true&accounts=false").await;
    assert_eq!(v["account_details"][0]["name"], "$G");

    // Bad values are a 400 with Go's text.
    let (status, body) = http_get(&format!("{}/jsz?accounts=bogus", f.server.monitor_url())).await;
    assert_eq!(status, 400);
    assert_eq!(
        body.trim(),
        "Error decoding boolean for 'accounts': strconv.ParseBool: parsing \"bogus\": invalid syntax"
    );
    let (status, body) = http_get(&format!("{}/jsz?offset=x", f.server.monitor_url())).await;
    assert_eq!(status, 400);
    assert_eq!(
        body.trim(),
        "Error decoding int for 'offset': strconv.Atoi: parsing \"x\": invalid syntax"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsz_without_jetstream_says_disabled() {
    let mut opts = common::test_options();
    opts.http_port = Some(0);
    let server = TestServer::start(opts).await;
    let v = jsz(&server, "accounts=true&streams=true").await;
    assert_eq!(v["disabled"], true, "{v}");
    assert_eq!(v["config"], json!({"max_memory": 0, "max_storage": 0}));
    for field in [
        "memory",
        "storage",
        "accounts",
        "streams",
        "consumers",
        "messages",
        "bytes",
    ] {
        assert_eq!(u(&v[field]), 0, "{field} in {v}");
    }
    assert_eq!(v["api"], json!({"total": 0, "errors": 0}));
    assert!(v.get("account_details").is_none(), "{v}");
}

/// GET `url`; returns the status, the Content-Type header and the body.
async fn get_with_type(url: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    within(Duration::from_secs(10), &format!("GET {url}"), async {
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        let text = String::from_utf8(answer).expect("UTF-8 answer");
        let (head, body) = text.split_once("\r\n\r\n").expect("header end");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let content_type = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        (status, content_type, body.to_string())
    })
    .await
}

fn gauge(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"));
    match sample.value {
        PValue::Gauge(v) | PValue::Counter(v) | PValue::Untyped(v) => v,
        ref other => panic!("{name} is not a scalar: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_jetstream_api() {
    let f = start().await;
    if f.server.is_reference() {
        println!("note: nats-server has no /metrics; skipping");
        return;
    }
    if !jetstream_served(&f.c).await {
        return;
    }
    workload(&f.c).await;
    let (status, content_type, body) =
        get_with_type(&format!("{}/metrics", f.server.monitor_url())).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let scrape = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parses");

    // Every family is weir_-prefixed and documented.
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("weir_"), "unprefixed sample {line}");
    }
    for sample in &scrape.samples {
        // A histogram's `_sum` and `_count` belong to its family.
        let m = sample.metric.as_str();
        let family = m
            .strip_suffix("_sum")
            .or_else(|| m.strip_suffix("_count"))
            .filter(|base| scrape.docs.contains_key(*base))
            .unwrap_or(m);
        assert!(scrape.docs.contains_key(family), "no HELP for {m}");
    }

    // Server counters.
    assert!(gauge(&scrape, "weir_connections", &[]) >= 1.0);
    assert!(gauge(&scrape, "weir_connections_accepted_total", &[]) >= 1.0);
    assert!(gauge(&scrape, "weir_subscriptions", &[]) >= 1.0);
    assert!(gauge(&scrape, "weir_in_msgs_total", &[]) >= (TOTAL + 2) as f64);
    assert!(gauge(&scrape, "weir_out_msgs_total", &[]) >= 6.0);
    assert_eq!(gauge(&scrape, "weir_slow_consumers_total", &[]), 0.0);

    // Per stream: equal to STREAM.INFO.
    for name in ["ORDERS", "MEM"] {
        let info = stream_info_with(&f.c, name, json!({})).await;
        let st = &info["state"];
        let labels = [("stream", name), ("account", "$G")];
        for (metric, field) in [
            ("messages", "messages"),
            ("bytes", "bytes"),
            ("first_seq", "first_seq"),
            ("last_seq", "last_seq"),
            ("consumer_count", "consumer_count"),
            ("subjects", "num_subjects"),
        ] {
            let metric = format!("weir_jetstream_stream_{metric}");
            assert_eq!(
                gauge(&scrape, &metric, &labels),
                u(&st[field]) as f64,
                "{metric}{labels:?}"
            );
        }
    }
    assert_eq!(
        gauge(
            &scrape,
            "weir_jetstream_stream_subjects",
            &[("stream", "ORDERS")]
        ),
        3.0
    );

    // Per consumer: equal to CONSUMER.INFO.
    let ci = consumer_info(&f.c, "ORDERS", "C").await;
    let labels = [("stream", "ORDERS"), ("consumer", "C")];
    for (metric, want) in [
        ("num_pending", &ci["num_pending"]),
        ("num_ack_pending", &ci["num_ack_pending"]),
        ("num_redelivered", &ci["num_redelivered"]),
        ("num_waiting", &ci["num_waiting"]),
        ("delivered_stream_seq", &ci["delivered"]["stream_seq"]),
        ("delivered_consumer_seq", &ci["delivered"]["consumer_seq"]),
        ("ack_floor_stream_seq", &ci["ack_floor"]["stream_seq"]),
    ] {
        let metric = format!("weir_jetstream_consumer_{metric}");
        assert_eq!(gauge(&scrape, &metric, &labels), u(want) as f64, "{metric}");
    }
    assert_eq!(
        gauge(&scrape, "weir_jetstream_consumer_num_ack_pending", &labels),
        2.0
    );
    assert_eq!(
        gauge(
            &scrape,
            "weir_jetstream_consumer_delivered_consumer_seq",
            &labels
        ),
        6.0
    );

    // Storage used against the limits, as /jsz reports them.
    let v = jsz(&f.server, "").await;
    for (metric, field) in [
        ("weir_jetstream_memory_bytes", &v["memory"]),
        ("weir_jetstream_storage_bytes", &v["storage"]),
        (
            "weir_jetstream_memory_max_bytes",
            &v["config"]["max_memory"],
        ),
        (
            "weir_jetstream_storage_max_bytes",
            &v["config"]["max_storage"],
        ),
    ] {
        assert_eq!(gauge(&scrape, metric, &[]), u(field) as f64, "{metric}");
    }

    // The fsync histogram saw the file-store publishes.
    let hist = scrape
        .samples
        .iter()
        .find(|s| s.metric == "weir_jetstream_fsync_seconds")
        .expect("fsync histogram");
    let PValue::Histogram(buckets) = &hist.value else {
        panic!("not a histogram: {hist:?}");
    };
    assert!(buckets
        .windows(2)
        .all(|w| w[0].less_than < w[1].less_than && w[0].count <= w[1].count));
    let inf = buckets.last().expect("buckets");
    assert!(inf.less_than.is_infinite(), "{buckets:?}");
    let count = gauge(&scrape, "weir_jetstream_fsync_seconds_count", &[]);
    assert_eq!(inf.count, count);
    assert!(
        count >= TOTAL as f64,
        "only {count} fsyncs for {TOTAL} file-store publishes"
    );
    assert!(gauge(&scrape, "weir_jetstream_fsync_seconds_sum", &[]) > 0.0);
}
