//! Core (non-JetStream) behaviour through a real client library, async-nats. Runs against Weir
//! or, with `WEIR_TEST_TARGET=nats-server`, the reference server.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use async_nats::{client::RequestErrorKind, ConnectOptions, Event, HeaderMap, Message};
use bytes::Bytes;
use common::{round_trip, test_options, try_next, within, RawConn, TestServer};
use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(5);

async fn server() -> TestServer {
    TestServer::start(test_options()).await
}

async fn client(s: &TestServer) -> async_nats::Client {
    within(WAIT, "client connect", async_nats::connect(s.url()))
        .await
        .expect("connect")
}

async fn next(sub: &mut async_nats::Subscriber) -> Message {
    within(WAIT, "a message", sub.next())
        .await
        .expect("subscription ended unexpectedly")
}

/// A server round trip (see `common::round_trip`).
async fn sync(c: &async_nats::Client) {
    round_trip(c).await;
}

/// The harness's own round-trip messages (see `common::round_trip`), seen by `>` subscribers.
fn is_round_trip(m: &Message) -> bool {
    m.subject.starts_with("_INBOX.")
}

/// Collects messages until one has payload `sentinel` (excluded from the result), skipping
/// round-trip messages.
async fn collect_until(sub: &mut async_nats::Subscriber, sentinel: &str) -> Vec<Message> {
    let mut out = Vec::new();
    loop {
        let m = next(sub).await;
        if m.payload == sentinel.as_bytes() {
            return out;
        }
        if !is_round_trip(&m) {
            out.push(m);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe() {
    let s = server().await;
    let c = client(&s).await;
    let mut sub = c.subscribe("greet.joe").await.unwrap();
    sync(&c).await;
    c.publish("greet.joe", "hello".into()).await.unwrap();
    c.publish("greet.other", "nope".into()).await.unwrap();
    c.publish("greet.joe", "".into()).await.unwrap();
    sync(&c).await;
    let m = next(&mut sub).await;
    assert_eq!(m.subject.as_str(), "greet.joe");
    assert_eq!(m.payload, "hello");
    assert!(m.reply.is_none());
    assert!(m.headers.is_none());
    let m = next(&mut sub).await;
    assert_eq!(m.payload, "", "empty payload is delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards() {
    let s = server().await;
    let c = client(&s).await;
    let mut star = c.subscribe("a.*").await.unwrap();
    let mut gt = c.subscribe("a.>").await.unwrap();
    let mut mid = c.subscribe("a.*.c").await.unwrap();
    let mut full = c.subscribe(">").await.unwrap();
    sync(&c).await;
    for subj in [
        "a.b", "a.b.c", "a", "b.a", "a.b.c.d", "a.x.c", "ab.c", "a.b.d",
    ] {
        c.publish(subj, subj.to_string().into()).await.unwrap();
    }
    // Sentinels: "a.end" matches `a.*`, `a.>`, `>`; "a.end.c" matches `a.*.c`, `a.>`, `>`.
    c.publish("a.end", "END".into()).await.unwrap();
    c.publish("a.end.c", "END2".into()).await.unwrap();
    sync(&c).await;
    let subjects =
        |v: Vec<Message>| -> Vec<String> { v.into_iter().map(|m| m.subject.to_string()).collect() };
    let star_got = subjects(collect_until(&mut star, "END").await);
    let mid_got = subjects(collect_until(&mut mid, "END2").await);
    let gt_got = subjects(collect_until(&mut gt, "END").await);
    assert_eq!(next(&mut gt).await.payload, "END2");
    let full_got = subjects(collect_until(&mut full, "END").await);
    assert_eq!(next(&mut full).await.payload, "END2");
    // Nothing else is pending on any of them.
    sync(&c).await;
    for sub in [&mut star, &mut gt, &mut mid, &mut full] {
        while let Some(m) = try_next(sub) {
            assert!(
                is_round_trip(&m),
                "unexpected extra message on {}",
                m.subject
            );
        }
    }
    assert_eq!(star_got, ["a.b"]);
    assert_eq!(gt_got, ["a.b", "a.b.c", "a.b.c.d", "a.x.c", "a.b.d"]);
    assert_eq!(mid_got, ["a.b.c", "a.x.c"]);
    assert_eq!(
        full_got,
        ["a.b", "a.b.c", "a", "b.a", "a.b.c.d", "a.x.c", "ab.c", "a.b.d"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_groups_share_work() {
    const N: usize = 4000;
    let s = server().await;
    let publisher = client(&s).await;
    let mut plain = publisher.subscribe("jobs").await.unwrap();
    let mut members = Vec::new();
    for i in 0..4 {
        let c = client(&s).await;
        let q = c.queue_subscribe("jobs", "workers".into()).await.unwrap();
        let fence = c.subscribe(format!("fence.{i}")).await.unwrap();
        sync(&c).await;
        members.push((c, q, fence));
    }
    for i in 0..N {
        publisher
            .publish("jobs", i.to_string().into())
            .await
            .unwrap();
    }
    for i in 0..4 {
        publisher
            .publish(format!("fence.{i}"), "F".into())
            .await
            .unwrap();
    }
    sync(&publisher).await;

    // The plain subscriber sees every message once, in order.
    for i in 0..N {
        assert_eq!(next(&mut plain).await.payload, i.to_string());
    }
    // Each member: once its fence (sent after all jobs, same publisher) has arrived, every job
    // routed to it is already queued in its subscription.
    let mut seen = HashSet::new();
    let mut counts = Vec::new();
    for (_c, q, fence) in members.iter_mut() {
        assert_eq!(next(fence).await.payload, "F");
        let mut n = 0;
        while let Some(m) = try_next(q) {
            let idx: usize = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
            assert!(seen.insert(idx), "job {idx} delivered to two members");
            n += 1;
        }
        counts.push(n);
    }
    assert_eq!(
        counts.iter().sum::<usize>(),
        N,
        "group total; per member {counts:?}"
    );
    assert_eq!(seen.len(), N);
    for n in &counts {
        assert!(
            (N * 15 / 100..=N * 35 / 100).contains(n),
            "uneven queue distribution: {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply() {
    let s = server().await;
    let responder = client(&s).await;
    let mut svc = responder.subscribe("svc.upper").await.unwrap();
    sync(&responder).await;
    let r = responder.clone();
    let task = tokio::spawn(async move {
        for _ in 0..3 {
            let m = next(&mut svc).await;
            let reply = m.reply.expect("request has a reply subject");
            let up = String::from_utf8(m.payload.to_vec())
                .unwrap()
                .to_uppercase();
            r.publish(reply, up.into()).await.unwrap();
        }
        r.flush().await.unwrap();
    });
    let c = client(&s).await;
    for word in ["abc", "hello", "weir"] {
        let resp = within(WAIT, "reply", c.request("svc.upper", word.into()))
            .await
            .expect("request");
        assert_eq!(resp.payload, word.to_uppercase());
    }
    within(WAIT, "responder", task).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders() {
    let s = server().await;
    let c = ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(s.url())
        .await
        .unwrap();
    let started = Instant::now();
    let err = within(WAIT, "no responders", c.request("nobody.home", "hi".into()))
        .await
        .expect_err("request without responders must fail");
    assert_eq!(err.kind(), RequestErrorKind::NoResponders, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no-responders took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_round_trip() {
    let s = server().await;
    let c = client(&s).await;
    let mut sub = c.subscribe("hdr").await.unwrap();
    sync(&c).await;
    let mut h = HeaderMap::new();
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    h.append("X-Multi", "three");
    h.insert("MiXeD-CaSe-Name", "Value With Spaces");
    h.insert("lowercase", "v");
    c.publish_with_headers("hdr", h, "body".into())
        .await
        .unwrap();
    sync(&c).await;
    let m = next(&mut sub).await;
    assert_eq!(m.payload, "body");
    let got = m.headers.expect("headers");
    let multi: Vec<&str> = got.get_all("X-Multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["one", "two", "three"]);
    assert_eq!(
        got.get("MiXeD-CaSe-Name").map(|v| v.as_str()),
        Some("Value With Spaces")
    );
    let names: HashSet<String> = got.iter().map(|(k, _)| k.to_string()).collect();
    let want: HashSet<String> = ["X-Multi", "MiXeD-CaSe-Name", "lowercase"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, want, "header names keep their case");
    assert!(got.get("mixed-case-name").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_payload_enforced() {
    let mut opts = test_options();
    opts.max_payload_bytes = 1024;
    let s = TestServer::start(opts).await;
    let c = client(&s).await;
    assert_eq!(c.server_info().max_payload, 1024);
    let mut sub = c.subscribe("big").await.unwrap();
    sync(&c).await;
    c.publish("big", Bytes::from(vec![b'x'; 1024]))
        .await
        .expect("exactly max_payload is allowed");
    let err = c
        .publish("big", Bytes::from(vec![b'x'; 2000]))
        .await
        .expect_err("over max_payload is refused");
    assert_eq!(
        err.kind(),
        async_nats::client::PublishErrorKind::MaxPayloadExceeded
    );
    sync(&c).await;
    assert_eq!(next(&mut sub).await.payload.len(), 1024);

    // The client checks locally; the server enforces it too.
    let mut raw = RawConn::connect(s.addr()).await;
    raw.send(b"CONNECT {\"verbose\":false}\r\nPUB big 2000\r\n")
        .await;
    raw.expect_line_then_closed("-ERR 'Maximum Payload Violation'")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_unsubscribe() {
    let s = server().await;
    let c = client(&s).await;
    let mut sub = c.subscribe("auto").await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    let mut other = c.subscribe("auto").await.unwrap();
    sync(&c).await;
    for i in 0..10 {
        c.publish("auto", i.to_string().into()).await.unwrap();
    }
    sync(&c).await;
    for i in 0..3 {
        assert_eq!(next(&mut sub).await.payload, i.to_string());
    }
    let end = within(WAIT, "subscription end", sub.next()).await;
    assert!(end.is_none(), "got a 4th message: {end:?}");
    // The others still flow.
    for i in 0..10 {
        assert_eq!(next(&mut other).await.payload, i.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_drain() {
    let s = server().await;
    let c = client(&s).await;
    let mut sub = c.subscribe("drain.sub").await.unwrap();
    sync(&c).await;
    for i in 0..100 {
        c.publish("drain.sub", i.to_string().into()).await.unwrap();
    }
    sync(&c).await;
    sub.drain().await.unwrap();
    let mut got = Vec::new();
    while let Some(m) = within(WAIT, "drained message or end", sub.next()).await {
        got.push(String::from_utf8(m.payload.to_vec()).unwrap());
    }
    let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    // Unsubscribed at the server: later publishes go nowhere, and the client still works.
    let mut probe = c.subscribe("drain.sub").await.unwrap();
    sync(&c).await;
    c.publish("drain.sub", "after".into()).await.unwrap();
    assert_eq!(next(&mut probe).await.payload, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_drain() {
    let s = server().await;
    let c = client(&s).await;
    let mut a = c.subscribe("drain.a").await.unwrap();
    let mut b = c.subscribe("drain.b").await.unwrap();
    sync(&c).await;
    let p = client(&s).await;
    for i in 0..50 {
        p.publish("drain.a", i.to_string().into()).await.unwrap();
        p.publish("drain.b", i.to_string().into()).await.unwrap();
    }
    sync(&p).await;
    // Round trip on the subscriber's connection too, so the messages have reached it.
    sync(&c).await;
    within(WAIT, "client drain", c.drain()).await.unwrap();
    for sub in [&mut a, &mut b] {
        let mut n = 0;
        while let Some(m) = within(WAIT, "drained message or end", sub.next()).await {
            assert_eq!(m.payload, n.to_string());
            n += 1;
        }
        assert_eq!(n, 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_echo() {
    let s = server().await;
    let a = ConnectOptions::new()
        .no_echo()
        .connect(s.url())
        .await
        .unwrap();
    let b = client(&s).await;
    let mut sub = a.subscribe("echo").await.unwrap();
    let mut b_sub = b.subscribe("echo").await.unwrap();
    // `a` cannot round-trip through itself (no echo), so b watches a's markers.
    let mut a_marks = b.subscribe("mark.a").await.unwrap();
    round_trip(&b).await;
    a.publish("echo", "from-a".into()).await.unwrap();
    a.publish("mark.a", "done".into()).await.unwrap();
    // a's SUB and PUB have been processed once b sees the marker.
    assert_eq!(next(&mut a_marks).await.payload, "done");
    b.publish("echo", "from-b".into()).await.unwrap();
    round_trip(&b).await;
    // Had "from-a" been echoed, it would have arrived first (the server handled it first).
    assert_eq!(next(&mut sub).await.payload, "from-b");
    // Other connections do get a's messages.
    assert_eq!(next(&mut b_sub).await.payload, "from-a");
    assert_eq!(next(&mut b_sub).await.payload, "from-b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_server_restart() {
    let mut s = server().await;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let c = ConnectOptions::new()
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e);
            }
        })
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(s.url())
        .await
        .unwrap();
    let mut old_sub = c.subscribe("before").await.unwrap();
    sync(&c).await;
    let first_id = c.server_info().server_id;

    s.restart().await;

    within(
        Duration::from_secs(15),
        "Disconnected then Connected",
        async {
            let mut disconnected = false;
            loop {
                match events.recv().await.expect("event channel") {
                    Event::Disconnected => disconnected = true,
                    Event::Connected if disconnected => break,
                    _ => {}
                }
            }
        },
    )
    .await;
    let info = c.server_info();
    assert!(!info.server_id.is_empty());
    if s.is_reference() {
        // nats-server generates a new id at each start; Weir may or may not.
        assert_ne!(info.server_id, first_id);
    }

    let mut sub = c.subscribe("after").await.unwrap();
    sync(&c).await;
    c.publish("after", "new".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "new");
    // Subscriptions made before the restart were re-established by the client.
    c.publish("before", "old".into()).await.unwrap();
    assert_eq!(next(&mut old_sub).await.payload, "old");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_fields() {
    let mut opts = test_options();
    opts.max_payload_bytes = 4096;
    let s = TestServer::start(opts).await;
    let a = client(&s).await;
    let b = client(&s).await;
    let info = a.server_info();
    assert!(!info.server_id.is_empty());
    assert_eq!(info.proto, 1);
    assert!(info.headers);
    assert_eq!(info.max_payload, 4096);
    assert!(!info.auth_required);
    assert!(info.client_id > 0);
    assert_ne!(
        info.client_id,
        b.server_info().client_id,
        "client ids differ"
    );
    assert_eq!(info.server_id, b.server_info().server_id);
    assert_eq!(info.port, s.addr().port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subjects_fan_out() {
    const SUBJECTS: usize = 300;
    let s = server().await;
    let subs_client = client(&s).await;
    let mut subs = Vec::new();
    for i in 0..SUBJECTS {
        subs.push(subs_client.subscribe(format!("fan.{i}")).await.unwrap());
    }
    let mut all = subs_client.subscribe("fan.*").await.unwrap();
    let other = client(&s).await;
    let mut all2 = other.subscribe("fan.>").await.unwrap();
    sync(&subs_client).await;
    sync(&other).await;
    let p = client(&s).await;
    for i in 0..SUBJECTS {
        p.publish(format!("fan.{i}"), i.to_string().into())
            .await
            .unwrap();
    }
    sync(&p).await;
    for (i, sub) in subs.iter_mut().enumerate() {
        let m = next(sub).await;
        assert_eq!(m.subject.as_str(), format!("fan.{i}"));
        assert_eq!(m.payload, i.to_string());
    }
    for w in [&mut all, &mut all2] {
        for i in 0..SUBJECTS {
            assert_eq!(next(w).await.payload, i.to_string());
        }
    }
    // Exactly one message per subject subscription.
    sync(&subs_client).await;
    for sub in subs.iter_mut() {
        assert!(try_next(sub).is_none(), "extra message");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_per_publisher() {
    const N: usize = 10_000;
    let s = server().await;
    let sub_client = client(&s).await;
    let mut sub = sub_client.subscribe("ordered").await.unwrap();
    sync(&sub_client).await;
    let p = client(&s).await;
    let publish = tokio::spawn(async move {
        for i in 0..N {
            p.publish("ordered", i.to_string().into()).await.unwrap();
        }
        p.flush().await.unwrap();
    });
    for i in 0..N {
        assert_eq!(next(&mut sub).await.payload, i.to_string(), "out of order");
    }
    within(WAIT, "publisher", publish).await.unwrap();
}
