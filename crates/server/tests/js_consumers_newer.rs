//! JetStream consumer features newer than nats-server 2.9: `filter_subjects` and `metadata`
//! (2.10, ADR-34/ADR-33), the create request's `action` (2.10), consumer pause (2.11), priority
//! groups with overflow and pinned clients (2.11, ADR-42) and consumer reset (2.14, ADR-60).
//! Part of the consumer suite (see `js_consumers.rs`). None of this exists in the 2.9.10
//! reference, so every test here skips on it (`// 2.10+: not checked against the 2.9.10
//! reference`); the expected values come from nats-server 2.14 sources: `server/consumer.go`
//! (checkConsumerCfg, processNextMsgRequest, processResetReq), `server/errors.json`,
//! `server/jetstream_events.go`, and the jsm.go API schemas. Tests also skip while Weir does not
//! serve consumers.
//!
//! | case | expected (2.14) |
//! |---|---|
//! | `filter_subject` and `filter_subjects` together | 400/10136 `consumer cannot have both FilterSubject and FilterSubjects specified` |
//! | overlapping `filter_subjects` | 400/10138 `consumer subject filters cannot overlap` |
//! | an empty entry in `filter_subjects` | 400/10139 `consumer filter in FilterSubjects cannot be empty` |
//! | `filter_subjects` through `CREATE.<stream>.<name>.<filter>` | 400/10137 `consumer with multiple subject filters cannot use subject based API` |
//! | `action: "update"` of a missing consumer | 400/10149 `consumer does not exist` |
//! | `action: "create"` of an existing one with another config | 400/10148 `consumer already exists` (same config: OK) |
//! | `$JS.API.CONSUMER.PAUSE.<s>.<c>` `{"pause_until"}` | `{"type":"io.nats.jetstream.api.v1.consumer_pause_response","paused","pause_until","pause_remaining"}`; `{}` resumes; advisory `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<s>.<c>` `{"type":"io.nats.jetstream.advisory.v1.consumer_pause","stream","consumer","paused","pause_until"}`; info `paused` |
//! | `priority_policy` without `priority_groups` | 400/10159 `Setting PriorityPolicy requires at least one PriorityGroup to be set` |
//! | invalid group name (not `^[a-zA-Z0-9/_=-]{1,16}$`) | 400/10162 `Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters` |
//! | priority groups on a push consumer | 400/10178 `priority groups can not be used with push consumers` |
//! | pinned_client default `priority_timeout` | 120 s |
//! | pull without `group` / with an unknown group | `NATS/1.0 400 Bad Request - Priority Group missing` / `NATS/1.0 400 Bad Request - Invalid Priority Group` |
//! | pull with a stale pin `id` | `NATS/1.0 423 Nats-Pin-Id mismatch` |
//! | pinned delivery | header `Nats-Pin-Id: <nuid>`; info `priority_groups: [{"group","pinned_client_id","pinned_ts"}]` |
//! | `$JS.API.CONSUMER.UNPIN.<s>.<c>` `{"group"}` | `{"type":"io.nats.jetstream.api.v1.consumer_unpin_response"}`; the next pull gets a new pin |
//! | overflow pull with `min_pending` above num_pending | waits (408 at expiry) |
//! | `$JS.API.CONSUMER.RESET.<s>.<c>` `{"seq"}` | `{"type":"io.nats.jetstream.api.v1.consumer_reset_response", <consumer info>, "reset_seq"}`; delivery restarts at `seq` |

mod common;
mod js_common;

use async_nats::Client;
use js_common::*;
use serde_json::{json, Value};

/// Returns early (with a note) on the 2.9.10 reference.
macro_rules! skip_on_reference {
    ($j:expr, $what:expr) => {
        if $j.server.is_reference() {
            println!("note: {} is 2.10+; skipped on the 2.9.10 reference", $what);
            return;
        }
    };
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_subjects_and_metadata() {
    // 2.10+: not checked against the 2.9.10 reference (filter_subjects and metadata are 2.10,
    // ADR-34/ADR-33; error codes from 2.14 errors.json).
    let j = setup!();
    skip_on_reference!(j, "filter_subjects");
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    for s in ["s.a", "s.b", "s.c", "s.a"] {
        publish_ok(c, s, &[], s).await;
    }
    let v = create_consumer(
        c,
        "S",
        json!({"durable_name": "M", "ack_policy": "explicit",
               "filter_subjects": ["s.a", "s.c"], "metadata": {"owner": "weir"}}),
    )
    .await;
    assert_eq!(v["config"]["filter_subjects"], json!(["s.a", "s.c"]), "{v}");
    assert!(v["config"].get("filter_subject").is_none(), "{v}");
    assert_eq!(v["config"]["metadata"]["owner"], "weir", "{v}");
    assert_eq!(v["num_pending"], 3, "{v}");
    let mut ib = inbox(c).await;
    pull(c, "S", "M", &ib.subject, r#"{"batch":10,"no_wait":true}"#).await;
    let (msgs, _end) = until_status(&mut ib.sub, "the filtered batch").await;
    let subjects: Vec<&str> = msgs.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["s.a", "s.c", "s.a"]);

    for (cfg, want) in [
        (
            json!({"filter_subject": "s.a", "filter_subjects": ["s.b"]}),
            e(
                400,
                10136,
                "consumer cannot have both FilterSubject and FilterSubjects specified",
            ),
        ),
        (
            json!({"filter_subjects": ["s.*", "s.a"]}),
            e(400, 10138, "consumer subject filters cannot overlap"),
        ),
        (
            json!({"filter_subjects": ["s.a", ""]}),
            e(
                400,
                10139,
                "consumer filter in FilterSubjects cannot be empty",
            ),
        ),
    ] {
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
    assert_eq!(
        api_err(
            c,
            "$JS.API.CONSUMER.CREATE.S.X.s.a",
            create_body("S", json!({"filter_subjects": ["s.a", "s.b"]}))
        )
        .await,
        e(
            400,
            10137,
            "consumer with multiple subject filters cannot use subject based API"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_action_create_and_update() {
    // 2.10+: not checked against the 2.9.10 reference (2.9.10 ignores `action`).
    let j = setup!();
    skip_on_reference!(j, "the create request's action");
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    let cfg = json!({"durable_name": "D", "ack_policy": "explicit"});
    let req = |action: &str, cfg: &Value| {
        json!({"stream_name": "S", "config": cfg, "action": action}).to_string()
    };
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.CREATE.S.D", req("update", &cfg)).await,
        e(400, 10149, "consumer does not exist")
    );
    let v = api_ok(c, "$JS.API.CONSUMER.CREATE.S.D", req("create", &cfg)).await;
    // Same config again with create: fine.
    let again = api_ok(c, "$JS.API.CONSUMER.CREATE.S.D", req("create", &cfg)).await;
    assert_eq!(again["created"], v["created"]);
    let mut changed = cfg.clone();
    changed["description"] = json!("changed");
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.CREATE.S.D", req("create", &changed)).await,
        e(400, 10148, "consumer already exists")
    );
    let u = api_ok(c, "$JS.API.CONSUMER.CREATE.S.D", req("update", &changed)).await;
    assert_eq!(u["config"]["description"], "changed", "{u}");
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.CREATE.S.D", req("bogus", &cfg))
            .await
            .err_code,
        10025,
        "an unknown action is a JSON error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume() {
    // 2.10+: not checked against the 2.9.10 reference (consumer pause is 2.11, ADR-42 era;
    // `$JS.API.CONSUMER.PAUSE.<stream>.<consumer>`, JSApiConsumerPauseResponse, advisory
    // io.nats.jetstream.advisory.v1.consumer_pause).
    let j = setup!();
    skip_on_reference!(j, "consumer pause");
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    create_consumer(
        c,
        "S",
        json!({"durable_name": "P", "ack_policy": "explicit"}),
    )
    .await;
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.S.P")
        .await
        .expect("subscribe");
    let until = "2099-01-01T00:00:00Z";
    let v = api_ok(
        c,
        "$JS.API.CONSUMER.PAUSE.S.P",
        json!({"pause_until": until}).to_string(),
    )
    .await;
    assert_eq!(
        v["type"], "io.nats.jetstream.api.v1.consumer_pause_response",
        "{v}"
    );
    assert_eq!(v["paused"], true, "{v}");
    assert!(
        v["pause_until"]
            .as_str()
            .unwrap_or("")
            .starts_with("2099-01-01T00:00:00"),
        "{v}"
    );
    assert!(u(&v["pause_remaining"]) > 0, "{v}");
    let a = json_of(&next_msg(&mut adv, "the pause advisory").await);
    assert_eq!(
        a["type"], "io.nats.jetstream.advisory.v1.consumer_pause",
        "{a}"
    );
    assert_eq!(a["paused"], true, "{a}");
    assert_eq!(a["stream"], "S");
    assert_eq!(a["consumer"], "P");
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(info["paused"], true, "{info}");

    // Paused: a pull waits, nothing is delivered.
    publish_ok(c, "s.a", &[], "x").await;
    let mut ib = inbox(c).await;
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":1,"expires":300000000}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the request timeout while paused").await;
    expect_status(&m, 408, "Request Timeout");

    // Resume (no pause_until): delivered.
    let v = api_ok(c, "$JS.API.CONSUMER.PAUSE.S.P", "{}").await;
    assert_eq!(v["paused"], false, "{v}");
    let a = json_of(&next_msg(&mut adv, "the resume advisory").await);
    assert_eq!(a["paused"], false, "{a}");
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":1,"expires":2000000000}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the message after resume").await;
    assert_eq!(m.payload.as_ref(), b"x");
    let info = consumer_info(c, "S", "P").await;
    assert!(
        info.get("paused").is_none() || info["paused"] == false,
        "{info}"
    );
    assert_eq!(
        api_err(c, "$JS.API.CONSUMER.PAUSE.S.nope", "{}").await,
        e(404, 10014, "consumer not found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_groups_overflow_and_pinned_client() {
    // 2.10+: not checked against the 2.9.10 reference (priority groups are 2.11, ADR-42; texts
    // from 2.14 consumer.go processNextMsgRequest and errors.json).
    let j = setup!();
    skip_on_reference!(j, "priority groups");
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_n(c, "s.a", 4).await;
    for (cfg, want) in [
        (
            json!({"priority_policy": "overflow", "ack_policy": "explicit"}),
            e(400, 10159, "Setting PriorityPolicy requires at least one PriorityGroup to be set"),
        ),
        (
            json!({"priority_policy": "overflow", "priority_groups": ["bad name!"],
                   "ack_policy": "explicit"}),
            e(
                400,
                10162,
                "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters",
            ),
        ),
        (
            json!({"priority_policy": "pinned_client", "priority_groups": ["g"],
                   "deliver_subject": "d", "ack_policy": "explicit"}),
            e(400, 10178, "priority groups can not be used with push consumers"),
        ),
    ] {
        assert_eq!(
            api_err(c, "$JS.API.CONSUMER.CREATE.S", create_body("S", cfg.clone())).await,
            want,
            "config {cfg}"
        );
    }

    // Pinned client.
    let v = create_consumer(
        c,
        "S",
        json!({"durable_name": "PIN", "ack_policy": "explicit",
               "priority_policy": "pinned_client", "priority_groups": ["g"]}),
    )
    .await;
    assert_eq!(
        v["config"]["priority_timeout"], 120_000_000_000u64,
        "default pinned TTL: {v}"
    );
    let mut ib = inbox(c).await;
    pull(c, "S", "PIN", &ib.subject, r#"{"batch":1,"no_wait":true}"#).await;
    let m = next_msg(&mut ib.sub, "the group-less pull").await;
    expect_status(&m, 400, "Bad Request - Priority Group missing");
    pull(
        c,
        "S",
        "PIN",
        &ib.subject,
        r#"{"batch":1,"no_wait":true,"group":"other"}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the wrong-group pull").await;
    expect_status(&m, 400, "Bad Request - Invalid Priority Group");
    pull(
        c,
        "S",
        "PIN",
        &ib.subject,
        r#"{"batch":1,"expires":2000000000,"group":"g"}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the first pinned delivery").await;
    let pin = header(&m, "Nats-Pin-Id").expect("Nats-Pin-Id on the pinned delivery");
    ack_sync(c, &m, "").await;
    pull(
        c,
        "S",
        "PIN",
        &ib.subject,
        r#"{"batch":1,"expires":2000000000,"group":"g","id":"not-the-pin"}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the wrong-pin pull").await;
    expect_status(&m, 423, "Nats-Pin-Id mismatch");
    let req = json!({"batch": 1, "expires": 2_000_000_000u64, "group": "g", "id": pin});
    pull(c, "S", "PIN", &ib.subject, &req.to_string()).await;
    let m = next_msg(&mut ib.sub, "the pinned client's pull").await;
    assert_eq!(header(&m, "Nats-Pin-Id").as_deref(), Some(pin.as_str()));
    ack_sync(c, &m, "").await;
    let info = consumer_info(c, "S", "PIN").await;
    assert_eq!(info["priority_groups"][0]["group"], "g", "{info}");
    assert_eq!(
        info["priority_groups"][0]["pinned_client_id"], pin,
        "{info}"
    );
    // Unpin: the old id is refused, a new pin is handed out.
    let v = api_ok(
        c,
        "$JS.API.CONSUMER.UNPIN.S.PIN",
        json!({"group": "g"}).to_string(),
    )
    .await;
    assert_eq!(
        v["type"], "io.nats.jetstream.api.v1.consumer_unpin_response",
        "{v}"
    );
    pull(c, "S", "PIN", &ib.subject, &req.to_string()).await;
    let m = next_msg(&mut ib.sub, "the old pin's pull after unpin").await;
    expect_status(&m, 423, "Nats-Pin-Id mismatch");
    pull(
        c,
        "S",
        "PIN",
        &ib.subject,
        r#"{"batch":1,"expires":2000000000,"group":"g"}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the delivery to the new pin").await;
    let new_pin = header(&m, "Nats-Pin-Id").expect("a new Nats-Pin-Id");
    assert_ne!(new_pin, pin);

    // Overflow: served only above min_pending.
    create_consumer(
        c,
        "S",
        json!({"durable_name": "OVF", "ack_policy": "explicit",
               "priority_policy": "overflow", "priority_groups": ["g"]}),
    )
    .await;
    let mut ob = inbox(c).await;
    pull(
        c,
        "S",
        "OVF",
        &ob.subject,
        r#"{"batch":1,"expires":300000000,"group":"g","min_pending":100}"#,
    )
    .await;
    let m = next_msg(&mut ob.sub, "the overflow pull below min_pending").await;
    expect_status(&m, 408, "Request Timeout");
    pull(
        c,
        "S",
        "OVF",
        &ob.subject,
        r#"{"batch":1,"expires":2000000000,"group":"g","min_pending":2}"#,
    )
    .await;
    let m = next_msg(&mut ob.sub, "the overflow pull above min_pending").await;
    assert!(m.status.is_none(), "{m:?}");
    assert_eq!(ack_of(&m).stream_seq, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_moves_the_consumer() {
    // 2.10+: not checked against the 2.9.10 reference (consumer reset is 2.14, ADR-60;
    // `$JS.API.CONSUMER.RESET.<stream>.<consumer>` `{"seq"}`, reply = consumer info + reset_seq).
    let j = setup!();
    skip_on_reference!(j, "consumer reset");
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_n(c, "s.a", 5).await;
    create_consumer(
        c,
        "S",
        json!({"durable_name": "R", "ack_policy": "explicit"}),
    )
    .await;
    let mut ib = inbox(c).await;
    pull(c, "S", "R", &ib.subject, "3").await;
    for m in take_msgs(&mut ib.sub, 3, "the first three").await {
        ack_sync(c, &m, "").await;
    }
    let v = api_ok(
        c,
        "$JS.API.CONSUMER.RESET.S.R",
        json!({"seq": 2}).to_string(),
    )
    .await;
    assert_eq!(
        v["type"], "io.nats.jetstream.api.v1.consumer_reset_response",
        "{v}"
    );
    assert_eq!(v["reset_seq"], 2, "{v}");
    pull(c, "S", "R", &ib.subject, "1").await;
    let m = next_msg(&mut ib.sub, "the delivery after reset").await;
    assert_eq!(
        ack_of(&m).stream_seq,
        2,
        "delivery restarts at the reset sequence"
    );
}
