//! JetStream consumer configs: validation errors, work-queue stream rules, and what creating an
//! existing consumer again does (idempotent, an update, or an error). Part of the consumer
//! suite; the measured nats-server 2.9.10 answers are tabled in `js_consumers.rs` (every row
//! with a code is checked here or there). Where 2.9.10 and 2.14 differ, a test branches on the
//! target and says why. Tests skip while Weir does not serve consumers.

mod common;
mod js_common;

use async_nats::Client;

use js_common::*;
use serde_json::{json, Value};

fn e(code: u64, err_code: u64, description: &str) -> ApiErr {
    ApiErr::new(code, err_code, description)
}

fn create_body(stream: &str, config: Value) -> String {
    json!({"stream_name": stream, "config": config}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rejects_invalid_configs() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    let invalid_policy = |text: &str| e(400, 10094, text);
    let cases: Vec<(Value, ApiErr)> = vec![
        (
            json!({"deliver_subject": "x", "ack_policy": "none", "max_ack_pending": 5}),
            e(400, 10082, "consumer requires ack policy for max ack pending"),
        ),
        (
            json!({"deliver_subject": "x.*"}),
            e(400, 10079, "consumer deliver subject has wildcards"),
        ),
        (
            json!({"deliver_subject": "x", "idle_heartbeat": 50_000_000u64}),
            e(400, 10083, "consumer idle heartbeat needs to be >= 100ms"),
        ),
        (
            json!({"deliver_subject": "x", "max_waiting": 5}),
            e(400, 10080, "consumer in push mode can not set max waiting"),
        ),
        (
            json!({"flow_control": true}),
            e(400, 10089, "consumer flow control requires a push based consumer"),
        ),
        (
            json!({"idle_heartbeat": 1_000_000_000u64}),
            e(400, 10088, "consumer idle heartbeat requires a push based consumer"),
        ),
        (
            json!({"flow_control": true, "deliver_subject": "fc"}),
            e(400, 10108, "consumer with flow control also needs heartbeats"),
        ),
        (
            json!({"ack_policy": "explicit", "backoff": [1_000_000_000u64, 2_000_000_000u64],
                   "max_deliver": 1}),
            e(400, 10116, "max deliver is required to be > length of backoff values"),
        ),
        (
            json!({"deliver_policy": "by_start_sequence"}),
            invalid_policy(
                "consumer delivery policy is deliver by start sequence, but optional start sequence is not set",
            ),
        ),
        (
            json!({"deliver_policy": "by_start_time"}),
            invalid_policy(
                "consumer delivery policy is deliver by start time, but optional start time is not set",
            ),
        ),
        (
            json!({"opt_start_seq": 2}),
            invalid_policy(
                "consumer delivery policy is deliver all, but optional start sequence is also set",
            ),
        ),
        (
            json!({"deliver_policy": "last_per_subject"}),
            invalid_policy(
                "consumer delivery policy is deliver last per subject, but optional filter subject is not set",
            ),
        ),
    ];
    for (cfg, want) in cases {
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.S",
                create_body("S", cfg.clone())
            )
            .await,
            want,
            "config {cfg}"
        );
    }

    // Where 2.9.10 and 2.14 differ.
    let outside = json!({"filter_subject": "x.y"});
    if j.server.is_reference() {
        assert_eq!(
            api_err(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", outside)).await,
            e(
                400,
                10093,
                "consumer filter subject is not a valid subset of the interest subjects"
            )
        );
    } else {
        // 2.10+ dropped the subset check: a filter outside the stream just matches nothing.
        let v = api_ok(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", outside)).await;
        assert_eq!(v["config"]["filter_subject"], "x.y", "{v}");
        assert_eq!(v["num_pending"], 0, "{v}");
    }
    let neg = json!({"max_waiting": -1});
    let backoff_default_max = json!({"ack_policy": "explicit", "backoff": [1_000_000_000u64]});
    if j.server.is_reference() {
        assert_eq!(
            api_err(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", neg)).await,
            e(400, 10087, "consumer max waiting needs to be positive")
        );
        // 2.9.10 wants max_deliver > len(backoff) even when max_deliver is unlimited.
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.S",
                create_body("S", backoff_default_max)
            )
            .await,
            e(
                400,
                10116,
                "max deliver is required to be > length of backoff values"
            )
        );
    } else {
        // 2.14 (setConsumerConfigDefaults): a negative max_waiting becomes the default, and an
        // unlimited max_deliver fits any backoff.
        let v = api_ok(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", neg)).await;
        assert_eq!(v["config"]["max_waiting"], 512, "{v}");
        let v = api_ok(
            c,
            "$JS.API.CONSUMER.CREATE.S",
            create_body("S", backoff_default_max),
        )
        .await;
        assert_eq!(v["config"]["max_deliver"], -1, "{v}");
    }

    // Accepted, perhaps surprisingly.
    let dg = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body("S", json!({"deliver_group": "g"})),
    )
    .await;
    assert_eq!(dg["config"]["deliver_group"], "g", "{dg}");
    assert_eq!(
        dg["config"]["max_waiting"], 512,
        "still a pull consumer: {dg}"
    );
    let an = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body(
            "S",
            json!({"ack_policy": "none", "max_ack_pending": 5, "max_deliver": 5}),
        ),
    )
    .await;
    assert_eq!(an["config"]["max_ack_pending"], 5, "{an}");
    assert_eq!(an["config"]["max_deliver"], 5, "{an}");
    let md = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body("S", json!({"max_deliver": 0})),
    )
    .await;
    assert_eq!(
        md["config"]["max_deliver"], -1,
        "max_deliver 0 means unlimited: {md}"
    );
    let hb = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body(
            "S",
            json!({"deliver_subject": "hb", "flow_control": true,
                   "idle_heartbeat": 1_000_000_000u64, "headers_only": true}),
        ),
    )
    .await;
    assert_eq!(hb["config"]["flow_control"], true, "{hb}");
    assert_eq!(hb["config"]["idle_heartbeat"], 1_000_000_000u64, "{hb}");
    assert_eq!(hb["config"]["headers_only"], true, "{hb}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workqueue_consumer_rules() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "WQ", "subjects": ["wq.>"], "retention": "workqueue"}),
    )
    .await;
    let create = |cfg: Value| create_body("WQ", cfg);
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.WQ",
            create(json!({"ack_policy": "all"}))
        )
        .await,
        e(400, 10098, "workqueue stream requires explicit ack")
    );
    let none = api_err(
        c,
        "$JS.API.CONSUMER.CREATE.WQ",
        create(json!({"ack_policy": "none"})),
    )
    .await;
    if j.server.is_reference() {
        assert_eq!(
            none,
            e(400, 10084, "consumer in pull mode requires ack policy")
        );
    } else {
        assert_eq!(
            none,
            e(
                400,
                10084,
                "consumer in pull mode requires explicit ack policy on workqueue stream"
            )
        );
    }
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.WQ",
            create(json!({"ack_policy": "explicit", "deliver_policy": "last"}))
        )
        .await,
        e(
            400,
            10101,
            "consumer must be deliver all on workqueue stream"
        )
    );
    create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W1", "ack_policy": "explicit"}),
    )
    .await;
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.WQ.W2",
            create(json!({"durable_name": "W2", "ack_policy": "explicit"}))
        )
        .await,
        e(
            400,
            10099,
            "multiple non-filtered consumers not allowed on workqueue stream"
        )
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.WQ.W2",
            create(
                json!({"durable_name": "W2", "ack_policy": "explicit", "filter_subject": "wq.a"})
            )
        )
        .await,
        e(
            400,
            10100,
            "filtered consumer not unique on workqueue stream"
        )
    );
    api_ok(c, "$JS.API.CONSUMER.DELETE.WQ.W1", "").await;
    create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W2", "ack_policy": "explicit", "filter_subject": "wq.a"}),
    )
    .await;
    for filter in ["wq.*", "wq.a", "wq.>"] {
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.WQ.W3",
                create(json!({"durable_name": "W3", "ack_policy": "explicit",
                              "filter_subject": filter}))
            )
            .await,
            e(
                400,
                10100,
                "filtered consumer not unique on workqueue stream"
            ),
            "filter {filter}"
        );
    }
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.WQ.W4",
            create(json!({"durable_name": "W4", "ack_policy": "explicit"}))
        )
        .await,
        e(
            400,
            10099,
            "multiple non-filtered consumers not allowed on workqueue stream"
        )
    );
    // Disjoint filters are fine, pull or push.
    create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W3", "ack_policy": "explicit", "filter_subject": "wq.b"}),
    )
    .await;
    let push = create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W5", "ack_policy": "explicit", "filter_subject": "wq.c",
               "deliver_subject": "pp"}),
    )
    .await;
    assert_eq!(push["config"]["deliver_subject"], "pp", "{push}");
    // Re-creating an existing one with the same filter is not an overlap with itself.
    create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W3", "ack_policy": "explicit", "filter_subject": "wq.b"}),
    )
    .await;
    let names = api_ok(c, "$JS.API.CONSUMER.NAMES.WQ", "").await;
    assert_eq!(names["consumers"], json!(["W2", "W3", "W5"]), "{names}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_again_is_idempotent_or_an_update() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_ok(c, "s.1", &[], "a").await;
    publish_ok(c, "s.2", &[], "b").await;
    let base = json!({"durable_name": "D", "ack_policy": "explicit"});
    let v = create_consumer(c, "S", base.clone()).await;
    let again = create_consumer(c, "S", base.clone()).await;
    assert_eq!(again["created"], v["created"], "idempotent");
    assert_eq!(again["config"], v["config"]);

    // Allowed changes, each echoed.
    let with = |extra: Value| {
        let mut cfg = base.clone();
        for (k, val) in extra.as_object().unwrap() {
            cfg[k] = val.clone();
        }
        cfg
    };
    for (k, val) in [
        ("description", json!("d")),
        ("ack_wait", json!(1_000_000_000u64)),
        ("max_deliver", json!(3)),
        ("max_ack_pending", json!(7)),
        ("sample_freq", json!("50")),
        ("max_batch", json!(4)),
        ("max_expires", json!(5_000_000_000u64)),
    ] {
        let u = create_consumer(c, "S", with(json!({ k: val.clone() }))).await;
        assert_eq!(u["config"][k], val, "update of {k}: {u}");
        assert_eq!(u["created"], v["created"], "update keeps the consumer: {u}");
    }
    let f = create_consumer(c, "S", with(json!({"filter_subject": "s.1"}))).await;
    assert_eq!(f["config"]["filter_subject"], "s.1", "{f}");
    assert_eq!(f["num_pending"], 1, "the new filter applies: {f}");

    // Forbidden changes.
    for (extra, text) in [
        (
            json!({"deliver_policy": "last"}),
            "deliver policy can not be updated",
        ),
        (
            json!({"ack_policy": "all"}),
            "ack policy can not be updated",
        ),
        (
            json!({"replay_policy": "original"}),
            "replay policy can not be updated",
        ),
        (json!({"max_waiting": 7}), "max waiting can not be updated"),
        (
            json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 2}),
            "deliver policy can not be updated",
        ),
    ] {
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.S.D",
                create_body("S", with(extra.clone()))
            )
            .await,
            e(500, 10012, text),
            "update {extra}"
        );
    }
    let to_push = api_err(
        c,
        "$JS.API.CONSUMER.CREATE.S.D",
        create_body("S", with(json!({"deliver_subject": "x"}))),
    )
    .await;
    if j.server.is_reference() {
        // 2.9.10 compares max_waiting (512 vs none) before the deliver subject.
        assert_eq!(to_push, e(500, 10012, "max waiting can not be updated"));
    } else {
        assert_eq!(
            to_push,
            e(500, 10012, "can not update pull consumer to push based")
        );
    }
    if j.server.is_reference() {
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.S.D",
                create_body("S", with(json!({"filter_subject": "zz"})))
            )
            .await,
            e(
                400,
                10093,
                "consumer filter subject is not a valid subset of the interest subjects"
            )
        );
    }
    let info = consumer_info(c, "S", "D").await;
    assert_eq!(
        info["config"]["deliver_policy"], "all",
        "failed updates change nothing"
    );
    assert_eq!(info["config"]["filter_subject"], "s.1");

    // A push durable: its deliver subject can move only while nobody listens.
    let push = json!({"durable_name": "P", "deliver_subject": "dp1", "ack_policy": "explicit"});
    create_consumer(c, "S", push.clone()).await;
    let sub = c.subscribe("dp1").await.expect("subscribe");
    round_trip_js(c).await;
    let mut moved = push.clone();
    moved["deliver_subject"] = json!("dp2");
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.S.P",
            create_body("S", moved.clone())
        )
        .await,
        e(400, 10013, "consumer name already in use")
    );
    drop(sub);
    round_trip_js(c).await;
    let v = create_consumer(c, "S", moved).await;
    assert_eq!(v["config"]["deliver_subject"], "dp2", "{v}");
}

/// A PING round trip: the server has processed every operation this client sent before.
async fn round_trip_js(c: &Client) {
    common::round_trip(c).await;
}
