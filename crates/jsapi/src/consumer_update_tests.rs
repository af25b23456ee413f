use serde_json::{json, Value};

use super::*;
use crate::consumer_requests::CreateConsumerRequest;
use crate::consumer_validate::{prepare_consumer_create, ConsumerCreateSubject};
use crate::validate::{prepare_stream_create, ServerLimits};
use crate::versioning::REQUIRED_LEVEL_KEY;

fn stream(retention: RetentionPolicy) -> StreamConfig {
    let mut s = StreamConfig::named("S");
    s.subjects = vec!["s.>".into()];
    s.retention = retention;
    prepare_stream_create(&s, &ServerLimits::default()).unwrap()
}

/// A prepared durable (name `D` unless the body says otherwise).
fn prepared_on(st: &StreamConfig, mut cfg: Value) -> ConsumerConfig {
    let obj = cfg.as_object_mut().unwrap();
    obj.entry("durable_name").or_insert(json!("D"));
    let config: ConsumerConfig = serde_json::from_value(cfg).unwrap();
    let name = config.durable_name.clone();
    let req = CreateConsumerRequest {
        stream_name: "S".into(),
        config,
        ..Default::default()
    };
    let subject = ConsumerCreateSubject {
        stream: "S",
        name: Some(&name),
        filter: None,
        legacy_durable: false,
    };
    prepare_consumer_create(st, req, subject).unwrap()
}

fn prepared(cfg: Value) -> ConsumerConfig {
    prepared_on(&stream(RetentionPolicy::Limits), cfg)
}

#[test]
fn actions() {
    let old = prepared(json!({"ack_policy":"explicit"}));
    let same = prepared(json!({"ack_policy":"explicit"}));
    let other = prepared(json!({"ack_policy":"explicit","description":"x"}));
    assert_eq!(
        check_consumer_action(ConsumerAction::Update, None, &same),
        Err(JsError::ConsumerDoesNotExist)
    );
    assert_eq!(
        check_consumer_action(ConsumerAction::Create, Some(&old), &other),
        Err(JsError::ConsumerAlreadyExists)
    );
    assert!(check_consumer_action(ConsumerAction::Create, Some(&old), &same).is_ok());
    assert!(check_consumer_action(ConsumerAction::Create, None, &same).is_ok());
    assert!(check_consumer_action(ConsumerAction::Update, Some(&old), &other).is_ok());
    assert!(check_consumer_action(ConsumerAction::CreateOrUpdate, Some(&old), &other).is_ok());
    // A paused consumer re-created with the same config is still "equal":
    // the pause deadline and its API level come from the existing one.
    let paused = apply_consumer_pause(&old, Some(Timestamp::from_unix_nanos(5)));
    assert!(check_consumer_action(ConsumerAction::Create, Some(&paused), &same).is_ok());
}

#[test]
fn every_refused_update_has_its_error() {
    let pull = prepared(json!({"ack_policy":"explicit"}));
    let push = prepared(json!({"ack_policy":"explicit","deliver_subject":"d",
        "idle_heartbeat":1000000000,"flow_control":true}));
    let t = "2020-01-01T00:00:00Z";
    let cases = [
        (
            &pull,
            json!({"ack_policy":"explicit","deliver_policy":"new"}),
            "deliver policy can not be updated",
        ),
        (
            &pull,
            json!({"ack_policy":"explicit","mem_storage":true}),
            "storage type can not be updated",
        ),
        (
            &pull,
            json!({"ack_policy":"explicit","sourcing":true}),
            "sourcing can not be updated",
        ),
        (
            &pull,
            json!({"ack_policy":"all"}),
            "ack policy can not be updated",
        ),
        (
            &pull,
            json!({"ack_policy":"explicit","replay_policy":"original"}),
            "replay policy can not be updated",
        ),
        (
            &push,
            json!({"ack_policy":"explicit","deliver_subject":"d","idle_heartbeat":2000000000,"flow_control":true}),
            "heart beats can not be updated",
        ),
        (
            &push,
            json!({"ack_policy":"explicit","deliver_subject":"d","idle_heartbeat":1000000000}),
            "flow control can not be updated",
        ),
        (
            &pull,
            json!({"ack_policy":"explicit","deliver_subject":"e"}),
            "can not update pull consumer to push based",
        ),
        (
            &pull,
            json!({"ack_policy":"explicit","max_waiting":5}),
            "max waiting can not be updated",
        ),
    ];
    for (old, body, text) in cases {
        let new = prepared(body.clone());
        assert_eq!(
            apply_consumer_update(old, &new),
            Err(JsError::consumer_create(text)),
            "{body}"
        );
    }
    let mut direct = push.clone();
    direct.direct = true;
    assert_eq!(
        apply_consumer_update(&push, &direct),
        Err(JsError::consumer_create("direct can not be updated"))
    );
    // Start positions.
    let seq = prepared(json!({"deliver_policy":"by_start_sequence","opt_start_seq":2}));
    let new = prepared(json!({"deliver_policy":"by_start_sequence","opt_start_seq":3}));
    assert_eq!(
        apply_consumer_update(&seq, &new),
        Err(JsError::consumer_create(
            "start sequence can not be updated"
        ))
    );
    let time = prepared(json!({"deliver_policy":"by_start_time","opt_start_time":t}));
    let new =
        prepared(json!({"deliver_policy":"by_start_time","opt_start_time":"2021-01-01T00:00:00Z"}));
    assert_eq!(
        apply_consumer_update(&time, &new),
        Err(JsError::consumer_create("start time can not be updated"))
    );
    // Push to pull (a push consumer without heartbeats).
    let bare = prepared(json!({"ack_policy":"explicit","deliver_subject":"d"}));
    let new = prepared(json!({"ack_policy":"explicit"}));
    assert_eq!(
        apply_consumer_update(&bare, &new),
        Err(JsError::consumer_create(
            "can not update push consumer to pull based"
        ))
    );
    // Backoff longer than max_deliver (stored configs can get here only
    // through an update path that skipped the config check).
    let mut new = prepared(json!({"ack_policy":"explicit"}));
    new.backoff = vec![1, 2];
    new.max_deliver = 1;
    assert_eq!(
        apply_consumer_update(&pull, &new),
        Err(JsError::ConsumerMaxDeliverBackoff)
    );
}

#[test]
fn allowed_updates_keep_pause_and_recompute_level() {
    let old = prepared(json!({"ack_policy":"explicit","filter_subject":"s.a"}));
    let paused = apply_consumer_pause(&old, Some(Timestamp::from_unix_nanos(7)));
    assert_eq!(paused.metadata.as_ref().unwrap()[REQUIRED_LEVEL_KEY], "1");
    let new = prepared(json!({"ack_policy":"explicit","filter_subject":"s.b",
        "description":"d","max_ack_pending":3,"ack_wait":5,"max_deliver":4,"headers_only":true,
        "max_batch":2,"max_expires":1000000,"max_bytes":9,"sample_freq":"5","inactive_threshold":9,
        "metadata":{"k":"v"},"backoff":[1,2]}));
    let applied = apply_consumer_update(&paused, &new).unwrap();
    assert_eq!(applied.pause_until, paused.pause_until);
    assert_eq!(applied.filter_subject, "s.b");
    assert_eq!(applied.ack_wait, 1);
    let md = applied.metadata.unwrap();
    assert_eq!(
        (md["k"].as_str(), md[REQUIRED_LEVEL_KEY].as_str()),
        ("v", "1")
    );
    // Identical configs are fine, and so is a push deliver subject change.
    assert_eq!(apply_consumer_update(&old, &old).unwrap(), old);
    let push = prepared(json!({"deliver_subject":"a"}));
    let moved = prepared(json!({"deliver_subject":"b"}));
    assert_eq!(
        apply_consumer_update(&push, &moved)
            .unwrap()
            .deliver_subject,
        "b"
    );
}

#[test]
fn sourcing_durables_keep_their_start() {
    let mut old = prepared(json!({"deliver_policy":"by_start_sequence","opt_start_seq":4}));
    old.sourcing = true;
    let mut new = prepared(json!({}));
    new.sourcing = true;
    let applied = apply_consumer_update(&old, &new).unwrap();
    assert_eq!(
        (applied.deliver_policy, applied.opt_start_seq),
        (DeliverPolicy::ByStartSequence, 4)
    );
}

#[test]
fn pause_and_resume() {
    let old = prepared(json!({}));
    let until = Timestamp::from_unix_nanos(1_000);
    let p = apply_consumer_pause(&old, Some(until));
    assert_eq!(p.pause_until, Some(until));
    let r = apply_consumer_pause(&p, Some(Timestamp::ZERO));
    assert_eq!(r.pause_until, None);
    assert_eq!(r.metadata.unwrap()[REQUIRED_LEVEL_KEY], "0");
}

#[test]
fn reset_rules() {
    let all = prepared(json!({}));
    assert!(check_consumer_reset(&all, 0, 0).is_ok());
    assert!(check_consumer_reset(&all, 9, 0).is_ok());
    let seq = prepared(json!({"deliver_policy":"by_start_sequence","opt_start_seq":5}));
    assert_eq!(
        check_consumer_reset(&seq, 4, 0).unwrap_err().to_string(),
        "invalid reset: below start seq"
    );
    assert!(check_consumer_reset(&seq, 5, 0).is_ok());
    let time =
        prepared(json!({"deliver_policy":"by_start_time","opt_start_time":"2020-01-01T00:00:00Z"}));
    assert_eq!(
        check_consumer_reset(&time, 2, 3),
        Err(JsError::consumer_invalid_reset("below start time"))
    );
    assert!(check_consumer_reset(&time, 3, 3).is_ok());
    let last = prepared(json!({"deliver_policy":"last"}));
    assert_eq!(
        check_consumer_reset(&last, 1, 0),
        Err(JsError::consumer_invalid_reset("not allowed"))
    );
    assert!(check_consumer_reset(&last, 0, 0).is_ok());
}

#[test]
fn consumer_limit() {
    let mut st = stream(RetentionPolicy::Limits);
    let a = prepared(json!({}));
    let mut direct = prepared(json!({"durable_name":"X"}));
    direct.direct = true;
    assert!(check_consumer_limit(&st, -1, &[&a, &a]).is_ok());
    assert_eq!(
        check_consumer_limit(&st, 2, &[&a, &a]),
        Err(JsError::MaximumConsumersLimit)
    );
    st.max_consumers = 1;
    assert_eq!(
        check_consumer_limit(&st, -1, &[&a]),
        Err(JsError::MaximumConsumersLimit)
    );
    assert!(check_consumer_limit(&st, -1, &[&direct]).is_ok());
    st.max_consumers = 5;
    assert_eq!(
        check_consumer_limit(&st, 1, &[&a]),
        Err(JsError::MaximumConsumersLimit)
    );
}

#[test]
fn workqueue_rules() {
    let wq = stream(RetentionPolicy::WorkQueue);
    let first = prepared_on(
        &wq,
        json!({"durable_name":"A","ack_policy":"explicit","filter_subject":"s.a.*"}),
    );
    let all_ack = prepared_on(
        &stream(RetentionPolicy::Limits),
        json!({"ack_policy":"all"}),
    );
    assert_eq!(
        check_workqueue_consumer(&wq, &all_ack, &[]),
        Err(JsError::ConsumerWqRequiresExplicitAck)
    );
    let last = prepared_on(
        &wq,
        json!({"ack_policy":"explicit","deliver_policy":"last"}),
    );
    assert_eq!(
        check_workqueue_consumer(&wq, &last, &[]),
        Err(JsError::ConsumerWqConsumerNotDeliverAll)
    );
    let unfiltered = prepared_on(&wq, json!({"durable_name":"U","ack_policy":"explicit"}));
    assert!(check_workqueue_consumer(&wq, &unfiltered, &[]).is_ok());
    assert_eq!(
        check_workqueue_consumer(&wq, &unfiltered, &[&first]),
        Err(JsError::ConsumerWqMultipleUnfiltered)
    );
    let overlap = prepared_on(
        &wq,
        json!({"ack_policy":"explicit","filter_subject":"s.*.b"}),
    );
    assert_eq!(
        check_workqueue_consumer(&wq, &overlap, &[&first]),
        Err(JsError::ConsumerWqConsumerNotUnique)
    );
    let apart = prepared_on(
        &wq,
        json!({"ack_policy":"explicit","filter_subjects":["s.b","s.c.>"]}),
    );
    assert!(check_workqueue_consumer(&wq, &apart, &[&first]).is_ok());
    assert_eq!(
        check_workqueue_consumer(&wq, &apart, &[&unfiltered]),
        Err(JsError::ConsumerWqConsumerNotUnique)
    );
    // Limits streams and direct/sourcing consumers are exempt.
    assert!(check_workqueue_consumer(&stream(RetentionPolicy::Limits), &all_ack, &[]).is_ok());
    let mut direct = all_ack.clone();
    direct.direct = true;
    assert!(check_workqueue_consumer(&wq, &direct, &[&first]).is_ok());
    // Updates: only the filters' exclusivity, never counting itself.
    assert!(check_workqueue_update(&wq, &first, &[&first]).is_ok());
    assert!(check_workqueue_update(&wq, &unfiltered, &[&first]).is_ok());
    assert_eq!(
        check_workqueue_update(&wq, &overlap, &[&first]),
        Err(JsError::ConsumerWqConsumerNotUnique)
    );
}
