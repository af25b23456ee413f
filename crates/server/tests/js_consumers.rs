//! JetStream consumers: the consumer API (create in all its subject forms, info, names, list,
//! delete, update rules, error paths) and the async-nats typed consumer API. Pull requests and
//! their status messages are in `js_consumers_pull.rs`, acks in `js_consumers_acks.rs`, push
//! consumers in `js_consumers_push.rs`, retention, fan-out, competing workers and restarts in
//! `js_consumers_retention.rs`, config validation and update rules in `js_consumers_config.rs`,
//! features newer than 2.9 (filter_subjects, metadata, action, pause, priority groups, reset) in
//! `js_consumers_newer.rs`. Run them all with
//! `WEIR_TEST_TARGET=nats-server cargo test -p weir-server --test 'js_consumers*'`.
//!
//! Runs against Weir or, with `WEIR_TEST_TARGET=nats-server`, the reference nats-server 2.9.10;
//! every expectation below was measured on the reference unless marked
//! `// 2.10+: not checked against the 2.9.10 reference` (those tests skip on the reference; their
//! expectations come from nats-server 2.14 `server/consumer.go`, `server/errors.json`,
//! `server/jetstream_events.go` and ADR-34/37/42). Where 2.9.10 and 2.14 differ, a test branches
//! on the target and says why.
//!
//! Until Weir serves consumers, each test prints a note and returns early when
//! `$JS.API.CONSUMER.NAMES.<stream>` gets no answer within 2 s (`js_common::consumers_served`).
//!
//! # Consumer API as nats-server 2.9.10 answers it
//!
//! Replies: `{"type":"io.nats.jetstream.api.v1.consumer_<create|info|names|list|delete>_response", …}`.
//! A created consumer's info (create and INFO reply the same shape):
//!
//! ```json
//! {"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"S","name":"P",
//!  "created":"2026-11-22T02:05:40.514958089Z",
//!  "config":{"durable_name":"P","name":"P","deliver_policy":"all","ack_policy":"explicit",
//!            "ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,
//!            "max_ack_pending":1000,"num_replicas":0},
//!  "delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},
//!  "num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":3}
//! ```
//!
//! - Defaults filled in: `deliver_policy` all, `ack_policy` **none** when absent (the clients
//!   send explicit), `max_deliver` -1, `replay_policy` instant, `num_replicas` 0; pull consumers
//!   get `max_waiting` 512 (push consumers have none); `ack_wait` 30 s and `max_ack_pending`
//!   1000 only when the ack policy is explicit or all (absent with ack none); ephemerals (no
//!   durable name) get `inactive_threshold` 5 s. With `backoff`, `ack_wait` becomes `backoff[0]`.
//! - Ephemeral names are 8 random alphanumerics. `CREATE.<stream>` (legacy ephemeral) echoes no
//!   `name` in config (2.14 does); `CREATE.<stream>.<name>` echoes `"name"`; with a
//!   `durable_name` it echoes both; `DURABLE.CREATE` echoes only `durable_name`.
//! - `delivered`/`ack_floor` gain `"last_active":"<RFC 3339>"` once something was delivered /
//!   acked (ack none: ack_floor follows delivered without `last_active`). No `cluster` field on a
//!   standalone 2.9.10; `push_bound: true` only while a push consumer's deliver subject has
//!   interest. 2.10+ adds `ts` (when the info was gathered).
//! - Creating again with the same config is idempotent (same `created`). A different config is
//!   an update: allowed for description, ack_wait, max_deliver, max_ack_pending, filter_subject,
//!   sample_freq, max_batch, max_expires, mem_storage (2.9.10; 2.14 forbids storage), backoff;
//!   forbidden ones fail with 500/10012 `<field> can not be updated`.
//! - NAMES/LIST are sorted by name; `limit` 1024 (NAMES) / 256 (LIST); an offset past the end
//!   answers `offset` = total and an empty list.
//! - Advisories `$JS.EVENT.ADVISORY.CONSUMER.{CREATED,DELETED}.<stream>.<consumer>`:
//!   `{"type":"io.nats.jetstream.advisory.v1.consumer_action","id":…,"timestamp":…,"stream":"S",
//!   "consumer":"P","action":"create"|"delete"}` (2.14 adds `domain` when set).
//!
//! | case | code | err_code | description |
//! |---|---|---|---|
//! | any consumer API on an unknown stream | 404 | 10059 | `stream not found` |
//! | INFO/DELETE of an unknown consumer | 404 | 10014 | `consumer not found` |
//! | CREATE with invalid JSON, an empty body, or an unknown enum value | 400 | 10025 | `invalid JSON` |
//! | CREATE body `stream_name` ≠ subject's stream (or missing) | 400 | 10056 | `stream name in subject does not match request` |
//! | `CREATE.<stream>` (ephemeral) with a `durable_name` | 400 | 10020 | `consumer expected to be ephemeral but a durable name was set in request` |
//! | `DURABLE.CREATE` without `durable_name` | 400 | 10018 | `consumer expected to be durable but a durable name was not set` |
//! | `DURABLE.CREATE.S.D` / `CREATE.S.D` with another `durable_name` | 400 | 10017 | `consumer name in subject does not match durable name in request` |
//! | `CREATE.S.N` with `name` N6 (not durable) | — | — | accepted, the consumer is named N (the subject wins) |
//! | `CREATE.S.N.<filter>` whose body has no / another `filter_subject` | 400 | 10131 | `Consumer create request did not match filtered subject from create subject` |
//! | name with `*`, `>` | 400 | 10103 | `durable name can not contain '.', '*', '>'` (2.14: 500/10052 `consumer [durable ]name can not contain '.', '*', '>', '\', '/'`) |
//! | `filter_subject` outside the stream's subjects | 400 | 10093 | `consumer filter subject is not a valid subset of the interest subjects` (2.10+ dropped the check: accepted, matches nothing) |
//! | `deliver_group` without `deliver_subject` | — | — | accepted (a pull consumer that echoes `deliver_group`) |
//! | `max_waiting` on a push consumer | 400 | 10080 | `consumer in push mode can not set max waiting` |
//! | push with ack none and `max_ack_pending` | 400 | 10082 | `consumer requires ack policy for max ack pending` |
//! | `deliver_subject` with a wildcard | 400 | 10079 | `consumer deliver subject has wildcards` |
//! | push `idle_heartbeat` under 100 ms | 400 | 10083 | `consumer idle heartbeat needs to be >= 100ms` |
//! | `max_waiting` -1 on pull | 400 | 10087 | `consumer max waiting needs to be positive` (2.14: reset to the default) |
//! | `flow_control` on pull | 400 | 10089 | `consumer flow control requires a push based consumer` |
//! | `idle_heartbeat` on pull | 400 | 10088 | `consumer idle heartbeat requires a push based consumer` |
//! | push `flow_control` without `idle_heartbeat` | 400 | 10108 | `consumer with flow control also needs heartbeats` |
//! | `backoff` longer than `max_deliver` allows | 400 | 10116 | `max deliver is required to be > length of backoff values` (2.9.10 wants max_deliver > len(backoff) even with the default -1, so any backoff without max_deliver fails; 2.14 accepts -1 and max_deliver = len) |
//! | `by_start_sequence` without `opt_start_seq` | 400 | 10094 | `consumer delivery policy is deliver by start sequence, but optional start sequence is not set` |
//! | `by_start_time` without `opt_start_time` | 400 | 10094 | `consumer delivery policy is deliver by start time, but optional start time is not set` |
//! | `all` with `opt_start_seq` | 400 | 10094 | `consumer delivery policy is deliver all, but optional start sequence is also set` |
//! | `last_per_subject` without filter | 400 | 10094 | `consumer delivery policy is deliver last per subject, but optional filter subject is not set` |
//! | pull with ack none (limits stream) | — | — | accepted; so are ack none + `max_ack_pending`/`max_deliver` on pull |
//! | workqueue: ack all | 400 | 10098 | `workqueue stream requires explicit ack` |
//! | workqueue: pull with ack none | 400 | 10084 | `consumer in pull mode requires ack policy` (2.14 text: `… requires explicit ack policy on workqueue stream`) |
//! | workqueue: deliver policy not all | 400 | 10101 | `consumer must be deliver all on workqueue stream` |
//! | workqueue: a second unfiltered consumer | 400 | 10099 | `multiple non-filtered consumers not allowed on workqueue stream` |
//! | workqueue: filter overlapping another consumer's (or any filter next to an unfiltered one) | 400 | 10100 | `filtered consumer not unique on workqueue stream` |
//! | update deliver_policy / ack_policy / replay_policy / max_waiting | 500 | 10012 | `deliver policy can not be updated` / `ack policy …` / `replay policy …` / `max waiting …` |
//! | update pull → push (add deliver_subject) | 500 | 10012 | 2.9.10: `max waiting can not be updated`; 2.14: `can not update pull consumer to push based` |
//! | update a push durable's deliver_subject while it has interest | 400 | 10013 | `consumer name already in use` |
//! | INFO/DELETE with a body | 400 | 10038 | `expected an empty request payload` |
//! | NAMES with invalid JSON | 400 | 10025 | `invalid JSON` (NAMES/LIST errors also carry `total/offset/limit` 0 and `consumers: []`) |
//!
//! 2.10+ API features (filter_subjects, metadata, action, pause, priority groups, reset) and
//! their errors are tabled and tested in `js_consumers_newer.rs`.

mod common;
mod js_common;

use std::time::Duration;

use async_nats::{jetstream, Client};
use bytes::Bytes;

use futures::StreamExt;
use js_common::*;
use serde_json::{json, Value};

fn e(code: u64, err_code: u64, description: &str) -> ApiErr {
    ApiErr::new(code, err_code, description)
}

async fn publish_n(c: &Client, subject: &str, n: usize) {
    for i in 0..n {
        publish_ok(c, subject, &[], format!("m{i}")).await;
    }
}

fn create_body(stream: &str, config: Value) -> String {
    json!({"stream_name": stream, "config": config}).to_string()
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .map(|s| s.len() >= 20 && s.contains('T') && s.ends_with('Z'))
        .unwrap_or(false)
}

fn assert_zero_state(v: &Value, num_pending: u64) {
    assert_eq!(
        v["delivered"],
        json!({"consumer_seq": 0, "stream_seq": 0}),
        "{v}"
    );
    assert_eq!(
        v["ack_floor"],
        json!({"consumer_seq": 0, "stream_seq": 0}),
        "{v}"
    );
    assert_eq!(v["num_ack_pending"], 0, "{v}");
    assert_eq!(v["num_redelivered"], 0, "{v}");
    assert_eq!(v["num_waiting"], 0, "{v}");
    assert_eq!(v["num_pending"], num_pending, "{v}");
}

// ---------------------------------------------------------------------------------------------
// CREATE
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_ephemeral_fills_defaults_and_info_matches() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_n(c, "s.a", 3).await;

    // Explicit ack pull ephemeral: every default filled in.
    let v = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body("S", json!({"ack_policy": "explicit"})),
    )
    .await;
    assert_eq!(
        v["type"],
        "io.nats.jetstream.api.v1.consumer_create_response"
    );
    assert_eq!(v["stream_name"], "S");
    let name = v["name"].as_str().expect("name").to_string();
    assert!(
        name.len() == 8 && name.chars().all(|ch| ch.is_ascii_alphanumeric()),
        "ephemeral names are 8 alphanumerics: {name:?}"
    );
    assert!(is_rfc3339(&v["created"]), "created in {v}");
    let cfg = &v["config"];
    for (k, want) in [
        ("deliver_policy", json!("all")),
        ("ack_policy", json!("explicit")),
        ("ack_wait", json!(30_000_000_000u64)),
        ("max_deliver", json!(-1)),
        ("replay_policy", json!("instant")),
        ("max_waiting", json!(512)),
        ("max_ack_pending", json!(1000)),
        ("inactive_threshold", json!(5_000_000_000u64)),
        ("num_replicas", json!(0)),
    ] {
        assert_eq!(cfg[k], want, "config.{k} in {v}");
    }
    for k in [
        "durable_name",
        "deliver_subject",
        "filter_subject",
        "backoff",
    ] {
        assert!(cfg.get(k).is_none(), "config.{k} should be absent: {v}");
    }
    // 2.9.10 echoes no name for a legacy ephemeral; 2.14 fills it in.
    if let Some(n) = cfg.get("name") {
        assert_eq!(n, &json!(name), "{v}");
    }
    assert_zero_state(&v, 3);
    if let Some(cluster) = v.get("cluster") {
        assert!(cluster.is_object(), "cluster is an object: {v}");
    }
    assert!(v.get("push_bound").is_none(), "{v}");

    // INFO: same shape, info response type.
    let info = consumer_info(c, "S", &name).await;
    assert_eq!(
        info["type"],
        "io.nats.jetstream.api.v1.consumer_info_response"
    );
    for k in ["stream_name", "name", "created", "config"] {
        assert_eq!(info[k], v[k], "info.{k} matches the create reply");
    }
    assert_zero_state(&info, 3);
    if !j.server.is_reference() {
        // 2.10+: not checked against the 2.9.10 reference (ConsumerInfo.ts).
        assert!(is_rfc3339(&info["ts"]), "ts in {info}");
    }

    // No ack policy given: ack none, so neither ack_wait nor max_ack_pending.
    let none = api_ok(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", json!({}))).await;
    let cfg = &none["config"];
    assert_eq!(cfg["ack_policy"], "none", "{none}");
    assert!(cfg.get("ack_wait").is_none(), "{none}");
    assert!(cfg.get("max_ack_pending").is_none(), "{none}");
    assert_eq!(cfg["max_waiting"], 512, "{none}");
    // A body without config is an empty config.
    let bare = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        json!({"stream_name": "S"}).to_string(),
    )
    .await;
    assert_eq!(bare["config"]["ack_policy"], "none", "{bare}");

    // Push ephemeral: no max_waiting.
    let push = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body(
            "S",
            json!({"deliver_subject": "dd", "ack_policy": "explicit"}),
        ),
    )
    .await;
    let cfg = &push["config"];
    assert_eq!(cfg["deliver_subject"], "dd", "{push}");
    assert!(
        cfg.get("max_waiting").is_none(),
        "push has no max_waiting: {push}"
    );
    assert_eq!(cfg["max_ack_pending"], 1000, "{push}");
    assert_zero_state(&push, 3);

    // Backoff sets ack_wait to its first value.
    let bo = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body(
            "S",
            json!({"ack_policy": "explicit", "backoff": [200_000_000u64, 700_000_000u64],
                   "max_deliver": 4}),
        ),
    )
    .await;
    assert_eq!(bo["config"]["ack_wait"], 200_000_000u64, "{bo}");
    assert_eq!(
        bo["config"]["backoff"],
        json!([200_000_000u64, 700_000_000u64]),
        "{bo}"
    );

    let names = api_ok(c, "$JS.API.CONSUMER.NAMES.S", "").await;
    assert_eq!(names["total"], 5, "{names}");
    assert!(
        names["consumers"]
            .as_array()
            .expect("consumers")
            .contains(&json!(name)),
        "{names}"
    );
    let acct = api_ok(c, "$JS.API.INFO", "").await;
    assert_eq!(
        acct["consumers"], 5,
        "account info counts consumers: {acct}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_subject_forms_and_name_rules() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_ok(c, "s.1", &[], "one").await;
    publish_ok(c, "s.2", &[], "two").await;
    publish_ok(c, "s.1", &[], "three").await;

    // CREATE.<stream>.<name> with `name`: a named ephemeral (inactive_threshold 5 s).
    let n1 = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.N1",
        create_body("S", json!({"name": "N1"})),
    )
    .await;
    assert_eq!(n1["name"], "N1");
    assert_eq!(n1["config"]["name"], "N1", "{n1}");
    assert!(n1["config"].get("durable_name").is_none(), "{n1}");
    assert_eq!(n1["config"]["inactive_threshold"], 5_000_000_000u64, "{n1}");
    // ... and without a name in the body, the subject names it.
    let n2 = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.N2",
        create_body("S", json!({})),
    )
    .await;
    assert_eq!(n2["name"], "N2");
    assert_eq!(n2["config"]["name"], "N2", "{n2}");
    // A different `name` in the body: the subject wins.
    let n3 = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.N3",
        create_body("S", json!({"name": "OTHER"})),
    )
    .await;
    assert_eq!(n3["name"], "N3", "{n3}");
    // With durable_name: a durable, no inactive threshold.
    let d1 = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.D1",
        create_body("S", json!({"durable_name": "D1", "ack_policy": "explicit"})),
    )
    .await;
    assert_eq!(d1["name"], "D1");
    assert_eq!(d1["config"]["durable_name"], "D1", "{d1}");
    assert_eq!(d1["config"]["name"], "D1", "{d1}");
    assert!(d1["config"].get("inactive_threshold").is_none(), "{d1}");
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.S.D2",
            create_body("S", json!({"durable_name": "X"}))
        )
        .await,
        e(
            400,
            10017,
            "consumer name in subject does not match durable name in request"
        )
    );

    // CREATE.<stream>.<name>.<filter>: the body's filter_subject must be the subject's.
    let f = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.F.s.1",
        create_body("S", json!({"name": "F", "filter_subject": "s.1"})),
    )
    .await;
    assert_eq!(f["config"]["filter_subject"], "s.1", "{f}");
    assert_eq!(f["num_pending"], 2, "{f}");
    let fw = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S.FW.s.>",
        create_body("S", json!({"filter_subject": "s.>"})),
    )
    .await;
    assert_eq!(fw["num_pending"], 3, "{fw}");
    for body in [
        json!({"name": "G"}),
        json!({"name": "G", "filter_subject": "s.2"}),
    ] {
        assert_eq!(
            api_err(
                c,
                "$JS.API.CONSUMER.CREATE.S.G.s.1",
                create_body("S", body.clone())
            )
            .await,
            e(
                400,
                10131,
                "Consumer create request did not match filtered subject from create subject"
            ),
            "body {body}"
        );
    }

    // Legacy DURABLE.CREATE: only durable_name echoed; idempotent.
    let body = create_body("S", json!({"durable_name": "L", "ack_policy": "explicit"}));
    let l = api_ok(c, "$JS.API.CONSUMER.DURABLE.CREATE.S.L", body.clone()).await;
    assert_eq!(l["name"], "L");
    assert_eq!(l["config"]["durable_name"], "L", "{l}");
    let again = api_ok(c, "$JS.API.CONSUMER.DURABLE.CREATE.S.L", body).await;
    assert_eq!(again["created"], l["created"], "same consumer: {again}");
    assert_eq!(again["config"], l["config"]);
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.DURABLE.CREATE.S.L2",
            create_body("S", json!({}))
        )
        .await,
        e(
            400,
            10018,
            "consumer expected to be durable but a durable name was not set"
        )
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.DURABLE.CREATE.S.L3",
            create_body("S", json!({"durable_name": "X"}))
        )
        .await,
        e(
            400,
            10017,
            "consumer name in subject does not match durable name in request"
        )
    );

    // Legacy ephemeral: no durable name; a `name` in the body names it.
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.S",
            create_body("S", json!({"durable_name": "A"}))
        )
        .await,
        e(
            400,
            10020,
            "consumer expected to be ephemeral but a durable name was set in request"
        )
    );
    let eph = api_ok(
        c,
        "$JS.API.CONSUMER.CREATE.S",
        create_body("S", json!({"name": "EPH"})),
    )
    .await;
    assert_eq!(eph["name"], "EPH", "{eph}");

    // Invalid names.
    for (subject, body) in [
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.S.a*b",
            json!({"durable_name": "a*b"}),
        ),
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.S.a>b",
            json!({"durable_name": "a>b"}),
        ),
        ("$JS.API.CONSUMER.CREATE.S.a*b", json!({"name": "a*b"})),
    ] {
        let err = api_err(c, subject, create_body("S", body)).await;
        if j.server.is_reference() {
            assert_eq!(
                err,
                e(400, 10103, "durable name can not contain '.', '*', '>'")
            );
        } else {
            // 2.14 rejects these in the config check (10052, its own text) or, like 2.9, with
            // 10103; either is an error naming the forbidden characters.
            assert!(
                err == e(400, 10103, "durable name can not contain '.', '*', '>'")
                    || err.err_code == 10052,
                "{subject}: {err:?}"
            );
        }
    }

    // Bad requests.
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.NOPE",
            create_body("NOPE", json!({}))
        )
        .await,
        e(404, 10059, "stream not found")
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.NOPE.X",
            create_body("NOPE", json!({"name": "X"}))
        )
        .await,
        e(404, 10059, "stream not found")
    );
    for body in [r#"{"stream_name":"S","config":{"#, ""] {
        assert_eq!(
            api_err(c, "$JS.API.CONSUMER.CREATE.S", body).await,
            e(400, 10025, "invalid JSON"),
            "body {body:?}"
        );
    }
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.S",
            create_body("S", json!({"ack_policy": "bogus"}))
        )
        .await,
        e(400, 10025, "invalid JSON"),
        "an unknown enum value is a JSON error"
    );
    for body in [
        json!({"stream_name": "T", "config": {}}),
        json!({"config": {}}),
    ] {
        assert_eq!(
            api_err(c, "$JS.API.CONSUMER.CREATE.S", body.to_string()).await,
            e(400, 10056, "stream name in subject does not match request"),
            "body {body}"
        );
    }
    // None of the failures created anything.
    let names = api_ok(c, "$JS.API.CONSUMER.NAMES.S", "").await;
    assert_eq!(
        names["consumers"],
        json!(["D1", "EPH", "F", "FW", "L", "N1", "N2", "N3"]),
        "{names}"
    );
}

// ---------------------------------------------------------------------------------------------
// INFO, NAMES, LIST, DELETE
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_list_paging_delete_and_advisories() {
    let j = setup!();
    let c = &j.c;
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.>")
        .await
        .expect("subscribe advisories");
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_n(c, "s.x", 2).await;
    for name in ["C", "A", "B"] {
        create_consumer(
            c,
            "S",
            json!({"durable_name": name, "ack_policy": "explicit"}),
        )
        .await;
    }
    for name in ["C", "A", "B"] {
        let m = next_msg(&mut adv, "a CREATED advisory").await;
        assert_eq!(
            m.subject.as_str(),
            format!("$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.{name}")
        );
        let v = json_of(&m);
        assert_eq!(
            v["type"], "io.nats.jetstream.advisory.v1.consumer_action",
            "{v}"
        );
        assert_eq!(v["stream"], "S", "{v}");
        assert_eq!(v["consumer"], name, "{v}");
        assert_eq!(v["action"], "create", "{v}");
        assert!(v["id"].is_string() && is_rfc3339(&v["timestamp"]), "{v}");
    }

    let names = api_ok(c, "$JS.API.CONSUMER.NAMES.S", "").await;
    assert_eq!(
        names["type"],
        "io.nats.jetstream.api.v1.consumer_names_response"
    );
    assert_eq!(names["total"], 3);
    assert_eq!(names["offset"], 0);
    assert_eq!(names["limit"], 1024);
    assert_eq!(names["consumers"], json!(["A", "B", "C"]), "sorted by name");
    let page = api_ok(c, "$JS.API.CONSUMER.NAMES.S", r#"{"offset":1}"#).await;
    assert_eq!(page["offset"], 1);
    assert_eq!(page["total"], 3);
    assert_eq!(page["consumers"], json!(["B", "C"]), "{page}");
    let past = api_ok(c, "$JS.API.CONSUMER.NAMES.S", r#"{"offset":100}"#).await;
    assert_eq!(past["offset"], 3, "offset past the end is clamped: {past}");
    assert_eq!(past["consumers"], json!([]), "{past}");

    let list = api_ok(c, "$JS.API.CONSUMER.LIST.S", "").await;
    assert_eq!(
        list["type"],
        "io.nats.jetstream.api.v1.consumer_list_response"
    );
    assert_eq!(list["total"], 3);
    assert_eq!(list["limit"], 256);
    let infos = list["consumers"].as_array().expect("consumers");
    let listed: Vec<&str> = infos.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["A", "B", "C"], "{list}");
    for i in infos {
        assert_eq!(i["stream_name"], "S");
        assert_eq!(i["num_pending"], 2, "{i}");
        assert!(i.get("type").is_none(), "list entries are bare infos: {i}");
        let info = consumer_info(c, "S", i["name"].as_str().unwrap()).await;
        assert_eq!(info["config"], i["config"]);
        assert_eq!(info["created"], i["created"]);
    }
    let page = api_ok(c, "$JS.API.CONSUMER.LIST.S", r#"{"offset":2}"#).await;
    assert_eq!(page["offset"], 2);
    assert_eq!(page["consumers"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["consumers"][0]["name"], "C", "{page}");
    let past = api_ok(c, "$JS.API.CONSUMER.LIST.S", r#"{"offset":100}"#).await;
    assert_eq!(past["offset"], 3, "{past}");
    assert_eq!(past["consumers"], json!([]), "{past}");

    // DELETE.
    let del = api_ok(c, "$JS.API.CONSUMER.DELETE.S.B", "").await;
    assert_eq!(
        del,
        json!({"type": "io.nats.jetstream.api.v1.consumer_delete_response", "success": true})
    );
    let m = next_msg(&mut adv, "the DELETED advisory").await;
    assert_eq!(
        m.subject.as_str(),
        "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.B"
    );
    let v = json_of(&m);
    assert_eq!(
        v["type"], "io.nats.jetstream.advisory.v1.consumer_action",
        "{v}"
    );
    assert_eq!(v["action"], "delete", "{v}");
    assert_eq!(v["consumer"], "B", "{v}");
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.INFO.S.B", "").await,
        e(404, 10014, "consumer not found")
    );
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.DELETE.S.B", "").await,
        e(404, 10014, "consumer not found")
    );
    let names = api_ok(c, "$JS.API.CONSUMER.NAMES.S", "").await;
    assert_eq!(names["consumers"], json!(["A", "C"]), "{names}");
    let stream = stream_info_with(c, "S", json!({})).await;
    assert_eq!(stream["state"]["consumer_count"], 2, "{stream}");

    // Error paths.
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.DELETE.S.A", "x").await,
        e(400, 10038, "expected an empty request payload")
    );
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.INFO.S.A", "x").await,
        e(400, 10038, "expected an empty request payload")
    );
    let bad = api(c, "$JS.API.CONSUMER.NAMES.S", "{").await;
    assert_eq!(err_of(&bad), e(400, 10025, "invalid JSON"));
    for subject in [
        "$JS.API.CONSUMER.INFO.NOPE.A",
        "$JS.API.CONSUMER.DELETE.NOPE.A",
        "$JS.API.CONSUMER.NAMES.NOPE",
        "$JS.API.CONSUMER.LIST.NOPE",
    ] {
        let v = api(c, subject, "").await;
        assert_eq!(err_of(&v), e(404, 10059, "stream not found"), "{subject}");
        if subject.contains("NAMES") || subject.contains("LIST") {
            assert_eq!(v["total"], 0, "{v}");
            assert_eq!(v["consumers"], json!([]), "{v}");
        }
    }
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.INFO.S.nope", "").await,
        e(404, 10014, "consumer not found")
    );

    // Deleting the stream deletes its consumers.
    api_ok(c, "$JS.API.STREAM.DELETE.S", "").await;
    let acct = api_ok(c, "$JS.API.INFO", "").await;
    assert_eq!(acct["consumers"], 0, "{acct}");
}

// ---------------------------------------------------------------------------------------------
// async-nats typed API
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_pull_consumer_api() {
    use jetstream::consumer::{pull, AckPolicy};
    use jetstream::AckKind;
    let j = setup!();
    let ctx = jetstream::new(j.c.clone());
    let stream = ctx
        .create_stream(jetstream::stream::Config {
            name: "T".to_string(),
            subjects: vec!["t.>".to_string()],
            ..Default::default()
        })
        .await
        .expect("create_stream");
    for i in 0..5 {
        publish_ok(&j.c, "t.a", &[], format!("m{i}")).await;
    }
    let mut consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("D".to_string()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("create_consumer");
    let info = consumer.info().await.expect("info").clone();
    assert_eq!(info.name, "D");
    assert_eq!(info.stream_name, "T");
    assert_eq!(info.num_pending, 5);
    assert_eq!(info.config.max_waiting, 512);
    assert_eq!(info.config.max_ack_pending, 1000);
    assert_eq!(info.config.ack_wait, Duration::from_secs(30));
    assert_eq!(info.config.max_deliver, -1);

    // fetch: what is there now, up to 3.
    let mut fetched = consumer
        .fetch()
        .max_messages(3)
        .messages()
        .await
        .expect("fetch");
    let mut got = Vec::new();
    while let Some(m) = fetched.next().await {
        let m = m.expect("fetched message");
        let i = m.info().expect("message info");
        got.push((i.stream_sequence, i.delivered, i.pending));
        m.double_ack().await.expect("double_ack");
    }
    assert_eq!(got, [(1, 1, 4), (2, 1, 3), (3, 1, 2)]);

    // batch: waits up to expires; NAK one of the two remaining.
    let mut batch = consumer
        .batch()
        .max_messages(5)
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .expect("batch");
    let mut payloads = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.expect("batch message");
        payloads.push(String::from_utf8_lossy(&m.payload).to_string());
        if m.payload.as_ref() == b"m3" && m.info().expect("info").delivered == 1 {
            m.ack_with(AckKind::Nak(None)).await.expect("nak");
        } else {
            m.ack().await.expect("ack");
        }
    }
    assert_eq!(
        payloads[..2],
        ["m3", "m4"],
        "then the NAKed m3 comes back: {payloads:?}"
    );

    // messages(): a continuous stream; the NAKed message is redelivered (delivered 2), then a
    // new one.
    let mut stream_msgs = consumer.messages().await.expect("messages");
    let mut seen_redelivery = payloads.len() > 2;
    if !seen_redelivery {
        let m = within_5s(stream_msgs.next())
            .await
            .expect("redelivery")
            .expect("ok");
        assert_eq!(m.payload.as_ref(), b"m3");
        assert_eq!(m.info().expect("info").delivered, 2);
        m.double_ack().await.expect("ack redelivery");
        seen_redelivery = true;
    }
    assert!(seen_redelivery);
    publish_ok(&j.c, "t.a", &[], "late").await;
    let m = within_5s(stream_msgs.next())
        .await
        .expect("late")
        .expect("ok");
    assert_eq!(m.payload.as_ref(), b"late");
    assert_eq!(m.info().expect("info").stream_sequence, 6);
    m.double_ack().await.expect("ack late");
    drop(stream_msgs);

    let info = consumer.info().await.expect("info").clone();
    assert_eq!(info.num_ack_pending, 0, "{info:?}");
    assert_eq!(info.num_pending, 0, "{info:?}");
    assert_eq!(info.delivered.stream_sequence, 6, "{info:?}");
    assert_eq!(info.ack_floor.stream_sequence, 6, "{info:?}");
    assert_eq!(
        info.num_redelivered, 0,
        "redelivered count drops once acked: {info:?}"
    );

    // get_consumer finds it again; delete_consumer removes it.
    let again: jetstream::consumer::PullConsumer =
        stream.get_consumer("D").await.expect("get_consumer");
    assert_eq!(again.cached_info().name, "D");
    stream.delete_consumer("D").await.expect("delete_consumer");
    let gone = api(&j.c, "$JS.API.CONSUMER.INFO.T.D", Bytes::new()).await;
    assert_eq!(err_of(&gone), e(404, 10014, "consumer not found"));
}

async fn within_5s<F: std::future::Future>(f: F) -> F::Output {
    common::within(Duration::from_secs(5), "a consumer message", f).await
}
