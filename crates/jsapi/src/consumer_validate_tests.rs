use serde_json::{json, Value};

use super::*;
use crate::consumer_checks::go_atoi;
use crate::stream_config::{Placement, StreamConsumerLimits};
use crate::validate::prepare_stream_create;
use crate::versioning::REQUIRED_LEVEL_KEY;

fn stream_with(f: impl FnOnce(&mut StreamConfig)) -> StreamConfig {
    let mut s = StreamConfig::named("S");
    s.subjects = vec!["s.>".into()];
    f(&mut s);
    prepare_stream_create(&s, &ServerLimits::default()).unwrap()
}

fn stream() -> StreamConfig {
    stream_with(|_| {})
}

/// Creates on `CONSUMER.CREATE.S.<durable>`, or the legacy ephemeral
/// subject when there is no durable name.
fn create_on(
    stream: &StreamConfig,
    cfg: Value,
    pedantic: bool,
    limits: &ConsumerLimits,
) -> Result<ConsumerConfig, JsError> {
    let config: ConsumerConfig = serde_json::from_value(cfg).unwrap();
    let durable = config.durable_name.clone();
    let req = CreateConsumerRequest {
        stream_name: "S".into(),
        config,
        pedantic,
        ..Default::default()
    };
    let subject = ConsumerCreateSubject {
        stream: "S",
        name: (!durable.is_empty()).then_some(durable.as_str()),
        filter: None,
        legacy_durable: false,
    };
    prepare_consumer_create_with(stream, req, subject, limits)
}

fn create(cfg: Value) -> Result<ConsumerConfig, JsError> {
    create_on(&stream(), cfg, false, &ConsumerLimits::default())
}

fn err(cfg: Value) -> JsError {
    create(cfg.clone()).expect_err(&cfg.to_string())
}

#[test]
fn pull_durable_defaults() {
    let c = create(json!({"durable_name":"D","ack_policy":"explicit"})).unwrap();
    assert_eq!(c.name, "D");
    assert_eq!(c.ack_wait, DEFAULT_ACK_WAIT);
    assert_eq!(c.max_deliver, -1);
    assert_eq!(c.max_waiting, DEFAULT_MAX_WAITING);
    assert_eq!(c.max_ack_pending, DEFAULT_MAX_ACK_PENDING);
    assert_eq!(c.inactive_threshold, 0);
    assert_eq!(c.metadata.unwrap()[REQUIRED_LEVEL_KEY], "0");
}

#[test]
fn ephemeral_push_and_ack_none_defaults() {
    let c = create(json!({"deliver_subject":"d"})).unwrap();
    assert_eq!(c.name, "");
    assert_eq!(c.inactive_threshold, DEFAULT_EPHEMERAL_INACTIVE_THRESHOLD);
    assert_eq!((c.max_waiting, c.max_ack_pending, c.ack_wait), (0, 0, 0));
    let c = create(json!({"inactive_threshold":7})).unwrap();
    assert_eq!(c.inactive_threshold, 7);
    let c = create(json!({"ack_policy":"all"})).unwrap();
    assert_eq!((c.ack_wait, c.max_ack_pending), (DEFAULT_ACK_WAIT, 1000));
}

#[test]
fn defaults_from_stream_server_and_account_limits() {
    let st = stream_with(|s| {
        s.consumer_limits = StreamConsumerLimits {
            inactive_threshold: 10 * SECOND,
            max_ack_pending: 50,
        }
    });
    let none = ConsumerLimits::default();
    let c = create_on(&st, json!({"durable_name":"D"}), false, &none).unwrap();
    assert_eq!((c.max_ack_pending, c.inactive_threshold), (50, 10 * SECOND));
    let limits = ConsumerLimits {
        server_max_ack_pending: 100,
        account_max_ack_pending: 200,
        server_max_request_batch: 10,
        clustered: false,
    };
    let c = create_on(&stream(), json!({"ack_policy":"explicit"}), false, &limits).unwrap();
    assert_eq!((c.max_ack_pending, c.max_batch), (100, 10));
    let limits = ConsumerLimits {
        account_max_ack_pending: 20,
        ..limits
    };
    let c = create_on(&stream(), json!({"ack_policy":"explicit"}), false, &limits).unwrap();
    assert_eq!(c.max_ack_pending, 20);
}

#[test]
fn backoff_pinned_and_flow_control_defaults() {
    let c = create(json!({"ack_policy":"explicit","backoff":[5,6]})).unwrap();
    assert_eq!(c.ack_wait, 5);
    let c = create(json!({"priority_policy":"pinned_client","priority_groups":["g"]})).unwrap();
    assert_eq!(c.priority_timeout, DEFAULT_PINNED_TTL);
    assert_eq!(c.metadata.unwrap()[REQUIRED_LEVEL_KEY], "1");
    let c = create(json!({"ack_policy":"flow_control","deliver_subject":"d"})).unwrap();
    assert!(c.flow_control);
    assert_eq!(
        (c.idle_heartbeat, c.ack_wait),
        (FLOW_CONTROL_ACK_HEARTBEAT, 0)
    );
    assert_eq!(c.max_ack_pending, DEFAULT_MAX_ACK_PENDING);
    assert_eq!(c.metadata.unwrap()[REQUIRED_LEVEL_KEY], "4");
}

#[test]
fn negative_values_become_defaults() {
    let c = create(
        json!({"max_deliver":-9,"max_waiting":-3,"max_ack_pending":-7,
        "max_batch":-1,"max_expires":-1,"max_bytes":-1,"inactive_threshold":-5,
        "priority_timeout":-1}),
    )
    .unwrap();
    assert_eq!(
        (c.max_deliver, c.max_waiting, c.max_ack_pending),
        (-1, 512, -1)
    );
    assert_eq!((c.max_batch, c.max_expires, c.max_bytes), (0, 0, 0));
    assert_eq!((c.inactive_threshold, c.priority_timeout), (5 * SECOND, 0));
    let c = create(json!({"deliver_subject":"d","idle_heartbeat":-1})).unwrap();
    assert_eq!(c.idle_heartbeat, 0);
}

#[test]
fn pedantic_refuses_each_default_it_would_change() {
    let st = stream_with(|s| {
        s.consumer_limits = StreamConsumerLimits {
            inactive_threshold: SECOND,
            max_ack_pending: 5,
        }
    });
    let limits = ConsumerLimits {
        server_max_request_batch: 10,
        ..Default::default()
    };
    let full = json!({"max_ack_pending":5,"inactive_threshold":1,"max_batch":1});
    let cases = [
        (json!({"max_deliver":-2}), "max_deliver must be set to -1"),
        (
            json!({"max_waiting":-1}),
            "max_waiting must not be negative",
        ),
        (
            json!({"max_ack_pending":-2}),
            "max_ack_pending must be set to -1",
        ),
        (json!({"max_batch":-1}), "max_batch must not be negative"),
        (
            json!({"max_expires":-1}),
            "max_expires must not be negative",
        ),
        (json!({"max_bytes":-1}), "max_bytes must not be negative"),
        (
            json!({"idle_heartbeat":-1}),
            "idle_heartbeat must not be negative",
        ),
        (
            json!({"inactive_threshold":-1}),
            "inactive_threshold must not be negative",
        ),
        (
            json!({"priority_timeout":-1}),
            "priority_timeout must not be negative",
        ),
        (
            json!({"ack_policy":"explicit","backoff":[1]}),
            "first backoff value has to equal batch AckWait",
        ),
        (
            json!({"max_ack_pending":0}),
            "max_ack_pending must be set if it's configured in stream limits",
        ),
        (
            json!({"inactive_threshold":0}),
            "inactive_threshold must be set if it's configured in stream limits",
        ),
        (
            json!({"max_batch":0}),
            "max_request_batch must be set if it's JetStream limits are set",
        ),
    ];
    for (cfg, text) in cases {
        let mut body = full.clone();
        body.as_object_mut()
            .unwrap()
            .extend(cfg.as_object().unwrap().clone());
        let e = create_on(&st, body, true, &limits).expect_err(&cfg.to_string());
        assert_eq!(e, JsError::Pedantic { err: text.into() }, "{cfg}");
        assert_eq!(e.to_string(), format!("pedantic mode: {text}"));
    }
    assert!(create_on(&st, full.clone(), true, &limits).is_ok());
    // Flow-control acks are not completed in pedantic mode.
    let fc = json!({"ack_policy":"flow_control","deliver_subject":"d","max_ack_pending":5,
        "inactive_threshold":1});
    assert_eq!(
        create_on(&st, fc, true, &limits).unwrap_err(),
        JsError::ConsumerAckFcRequiresFc
    );
}

fn on_subject(subject: &str, body: Value) -> Result<ConsumerConfig, JsError> {
    let req: CreateConsumerRequest = serde_json::from_value(body).unwrap();
    prepare_consumer_create(
        &stream(),
        req,
        ConsumerCreateSubject::parse(subject).unwrap(),
    )
}

#[test]
fn subject_rules() {
    let cases = [
        (
            "$JS.API.CONSUMER.CREATE.S.C",
            json!({"stream_name":"T"}),
            JsError::StreamMismatch,
        ),
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.S.C.x",
            json!({"stream_name":"S"}),
            JsError::ConsumerDurableNameNotInSubject,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S",
            json!({"stream_name":"S","config":{"name":"a/b"}}),
            JsError::ConsumerNameContainsPathSeparators,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.a\\b",
            json!({"stream_name":"S"}),
            JsError::ConsumerNameContainsPathSeparators,
        ),
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.S.C",
            json!({"stream_name":"S"}),
            JsError::ConsumerDurableNameNotSet,
        ),
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.S.C",
            json!({"stream_name":"S","config":{"durable_name":"D"}}),
            JsError::ConsumerDurableNameNotMatchSubject,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.C",
            json!({"stream_name":"S","config":{"durable_name":"D"}}),
            JsError::ConsumerDurableNameNotMatchSubject,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S",
            json!({"stream_name":"S","config":{"durable_name":"D"}}),
            JsError::ConsumerEphemeralWithDurableName,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.C.s.a",
            json!({"stream_name":"S","config":{"filter_subjects":["s.a"]}}),
            JsError::ConsumerMultipleFiltersNotAllowed,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.C.s.a",
            json!({"stream_name":"S","config":{"filter_subject":"s.b"}}),
            JsError::ConsumerCreateFilterSubjectMismatch,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.C",
            json!({"stream_name":"S","config":{"num_replicas":2}}),
            JsError::StreamReplicasNotSupported,
        ),
    ];
    for (subject, body, want) in cases {
        assert_eq!(
            on_subject(subject, body.clone()).unwrap_err(),
            want,
            "{subject} {body}"
        );
    }
    // The subject's name wins over the body's.
    let c = on_subject(
        "$JS.API.CONSUMER.CREATE.S.C.s.a",
        json!({"stream_name":"S","config":{"name":"X","filter_subject":"s.a"}}),
    )
    .unwrap();
    assert_eq!(c.name, "C");
    let c = on_subject(
        "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
        json!({"stream_name":"S","config":{"durable_name":"D"}}),
    )
    .unwrap();
    assert_eq!((c.name.as_str(), c.inactive_threshold), ("D", 0));
    let long = "n".repeat(256);
    let e = on_subject(
        &format!("$JS.API.CONSUMER.CREATE.S.{long}"),
        json!({"stream_name":"S","config":{"durable_name":long}}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "consumer name is too long, maximum allowed is 255"
    );
}

#[test]
fn subjects_parse() {
    let p = ConsumerCreateSubject::parse;
    assert_eq!(
        p("$JS.API.CONSUMER.CREATE.S").unwrap(),
        ConsumerCreateSubject {
            stream: "S",
            name: None,
            filter: None,
            legacy_durable: false
        }
    );
    let s = p("$JS.API.CONSUMER.CREATE.S.C.a.*.>").unwrap();
    assert_eq!((s.name, s.filter), (Some("C"), Some("a.*.>")));
    let s = p("$JS.API.CONSUMER.DURABLE.CREATE.S.D").unwrap();
    assert!(s.legacy_durable && s.name == Some("D"));
    assert_eq!(
        p("$JS.API.CONSUMER.DURABLE.CREATE.S.D.E").unwrap().name,
        None
    );
    assert!(p("$JS.API.CONSUMER.INFO.S.C").is_none());
}

#[test]
fn every_config_rule_has_its_error() {
    let long = "x".repeat(4097);
    let big = json!({ "k": "v".repeat(128 * 1024) });
    let cases = [
        (json!({"name":"a.b"}), JsError::invalid_config(r"consumer name can not contain '.', '*', '>', '\', '/'")),
        (json!({"num_replicas":-1}), JsError::ReplicasCountCannotBeNegative),
        (json!({"ack_policy":"explicit","backoff":[-1]}), JsError::ConsumerBackOffNegative),
        (json!({"ack_policy":"explicit","ack_wait":-1}), JsError::ConsumerAckWaitNegative),
        (json!({"ack_policy":"flow_control"}), JsError::ConsumerAckFcRequiresPush),
        (json!({"ack_policy":"flow_control","deliver_subject":"d","max_ack_pending":-1}), JsError::ConsumerAckFcRequiresMaxAckPending),
        (json!({"ack_policy":"flow_control","deliver_subject":"d","ack_wait":1}), JsError::ConsumerAckFcRequiresNoAckWait),
        (json!({"ack_policy":"flow_control","deliver_subject":"d","max_deliver":3}), JsError::ConsumerAckFcRequiresNoMaxDeliver),
        (json!({"ack_policy":"explicit","backoff":[1,2,3],"max_deliver":2}), JsError::ConsumerMaxDeliverBackoff),
        (json!({"description":long}), JsError::consumer_description_too_long(4096)),
        (json!({"deliver_subject":"d.*"}), JsError::ConsumerDeliverToWildcards),
        (json!({"deliver_subject":"d..e"}), JsError::ConsumerInvalidDeliverSubject),
        (json!({"deliver_subject":"s.x"}), JsError::ConsumerDeliverCycle),
        (json!({"deliver_subject":"d","max_waiting":1}), JsError::ConsumerPushMaxWaiting),
        (json!({"deliver_subject":"d","max_ack_pending":1}), JsError::ConsumerMaxPendingAckPolicyRequired),
        (json!({"deliver_subject":"d","idle_heartbeat":99_999_999}), JsError::ConsumerSmallHeartbeat),
        (json!({"rate_limit_bps":1}), JsError::ConsumerPullWithRateLimit),
        (json!({"idle_heartbeat":1}), JsError::ConsumerHbRequiresPush),
        (json!({"flow_control":true}), JsError::ConsumerFcRequiresPush),
        (json!({"max_expires":999_999}), JsError::ConsumerMaxRequestExpiresTooSmall),
        (json!({"direct":true}), JsError::ConsumerDirectRequiresPush),
        (json!({"direct":true,"deliver_subject":"d","durable_name":"D"}), JsError::ConsumerDirectRequiresEphemeral),
        (json!({"filter_subject":"s.a","filter_subjects":["s.b"]}), JsError::ConsumerDuplicateFilterSubjects),
        (json!({"filter_subject":"s..a"}), JsError::invalid_config("invalid subject")),
        (json!({"filter_subjects":["s.a",""]}), JsError::ConsumerEmptyFilter),
        (json!({"filter_subjects":["s.a","s. b"]}), JsError::invalid_config("invalid subject")),
        (json!({"filter_subjects":["s.*","s.a"]}), JsError::ConsumerOverlappingSubjectFilters),
        (json!({"filter_subjects":["s.a","s.a"]}), JsError::ConsumerOverlappingSubjectFilters),
        (json!({"opt_start_seq":1}), JsError::consumer_invalid_policy("consumer delivery policy is deliver all, but optional start sequence is also set")),
        (json!({"deliver_policy":"last","opt_start_time":"2020-01-01T00:00:00Z"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver last, but optional start time is also set")),
        (json!({"deliver_policy":"last_per_subject"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver last per subject, but optional filter subject is not set")),
        (json!({"deliver_policy":"new","opt_start_seq":2}), JsError::consumer_invalid_policy("consumer delivery policy is deliver new, but optional start sequence is also set")),
        (json!({"deliver_policy":"by_start_sequence"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver by start sequence, but optional start sequence is not set")),
        (json!({"deliver_policy":"by_start_sequence","opt_start_seq":1,"opt_start_time":"2020-01-01T00:00:00Z"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver by start sequence, but optional start time is also set")),
        (json!({"deliver_policy":"by_start_time"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver by start time, but optional start time is not set")),
        (json!({"deliver_policy":"by_start_time","opt_start_seq":1,"opt_start_time":"2020-01-01T00:00:00Z"}), JsError::consumer_invalid_policy("consumer delivery policy is deliver by start time, but optional start start sequence is also set")),
        (json!({"sample_freq":"x%"}), JsError::consumer_invalid_sampling("strconv.Atoi: parsing \"x\": invalid syntax")),
        (json!({"sample_freq":"-1"}), JsError::consumer_invalid_sampling("<nil>")),
        (json!({"deliver_subject":"d","flow_control":true}), JsError::ConsumerWithFlowControlNeedsHeartbeats),
        (json!({"metadata":big}), JsError::ConsumerMetadataLength { limit: "128KB".into() }),
        (json!({"priority_policy":"overflow","priority_groups":["g"],"deliver_subject":"d"}), JsError::ConsumerPushWithPriorityGroup),
        (json!({"priority_policy":"overflow"}), JsError::ConsumerPriorityPolicyWithoutGroup),
        (json!({"priority_policy":"prioritized","priority_groups":[""]}), JsError::ConsumerEmptyGroupName),
        (json!({"priority_policy":"overflow","priority_groups":["bad group"]}), JsError::ConsumerInvalidGroupName),
        (json!({"priority_groups":["g"]}), JsError::ConsumerPriorityGroupWithPolicyNone),
        (json!({"priority_timeout":1}), JsError::ConsumerPinnedTtlWithoutPriorityPolicyNone),
    ];
    for (cfg, want) in cases {
        assert_eq!(err(cfg.clone()), want, "{cfg}");
    }
}

#[test]
fn durable_name_rule_behind_the_name_rule() {
    // Through the API the name always equals the durable name, so the
    // name's message comes first; the durable's is reachable directly.
    let cfg = ConsumerConfig {
        durable_name: "a*b".into(),
        ..Default::default()
    };
    assert_eq!(
        check_consumer_config(&cfg, &stream(), &ConsumerLimits::default()),
        Err(JsError::invalid_config(
            r"consumer durable name can not contain '.', '*', '>', '\', '/'"
        ))
    );
    let e = create(json!({"durable_name":"a*b"})).unwrap_err();
    assert_eq!(
        e,
        JsError::invalid_config(r"consumer name can not contain '.', '*', '>', '\', '/'")
    );
}

#[test]
fn rules_that_need_the_stream_or_limits() {
    let limits = ConsumerLimits {
        server_max_ack_pending: 10,
        server_max_request_batch: 10,
        account_max_ack_pending: 20,
        clustered: true,
    };
    let c = |v: Value| create_on(&stream(), v, false, &limits).unwrap_err();
    assert_eq!(
        c(json!({"num_replicas":2})),
        JsError::ConsumerReplicasExceedsStream
    );
    assert_eq!(
        c(json!({"max_batch":11})),
        JsError::consumer_max_request_batch_exceeded(10)
    );
    assert_eq!(
        c(json!({"max_ack_pending":11})),
        JsError::consumer_max_pending_ack_excess(10)
    );
    let acct = ConsumerLimits {
        server_max_ack_pending: 0,
        ..limits
    };
    let e = create_on(&stream(), json!({"max_ack_pending":21}), false, &acct).unwrap_err();
    assert_eq!(
        e.to_string(),
        "consumer max ack pending exceeds system limit of 20"
    );
    let st = stream_with(|s| {
        s.consumer_limits = StreamConsumerLimits {
            inactive_threshold: 60 * SECOND,
            max_ack_pending: 30,
        }
    });
    let none = ConsumerLimits::default();
    let e = create_on(&st, json!({"max_ack_pending":31}), false, &none).unwrap_err();
    assert_eq!(e, JsError::consumer_max_pending_ack_excess(30));
    let e = create_on(
        &st,
        json!({"inactive_threshold":61_000_000_000i64}),
        false,
        &none,
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "consumer inactive threshold exceeds system limit of 1m0s"
    );
    // Interest streams need the stream's replica count (or 0).
    let interest = stream_with(|s| s.retention = RetentionPolicy::Interest);
    let mut r3 = interest.clone();
    r3.num_replicas = 3;
    let e = create_on(&r3, json!({"num_replicas":2}), false, &limits).unwrap_err();
    assert_eq!(e, JsError::ConsumerReplicasShouldMatchStream);
    let wq = stream_with(|s| s.retention = RetentionPolicy::WorkQueue);
    assert_eq!(
        create_on(&wq, json!({}), false, &none).unwrap_err(),
        JsError::ConsumerPullRequiresAck
    );
    let placed = stream_with(|s| {
        s.placement = Some(Placement {
            cluster: "c".into(),
            ..Default::default()
        })
    });
    let mut preferred = placed.clone();
    preferred.placement.as_mut().unwrap().preferred = "p".into();
    assert_eq!(
        create_on(&preferred, json!({}), false, &none).unwrap_err(),
        JsError::invalid_config("preferred server not permitted in placement")
    );
    // A stream's consumer max_ack_pending limit also reaches ack-none push
    // consumers, which then fail 10082 (as in nats-server).
    let lim = stream_with(|s| s.consumer_limits.max_ack_pending = 5);
    assert_eq!(
        create_on(&lim, json!({"deliver_subject":"d"}), false, &none).unwrap_err(),
        JsError::ConsumerMaxPendingAckPolicyRequired
    );
}

#[test]
fn direct_sourcing_consumer_becomes_durable_on_interest_streams() {
    let interest = stream_with(|s| s.retention = RetentionPolicy::Interest);
    let body = json!({"name":"src","direct":true,"sourcing":true,"deliver_subject":"d",
        "ack_policy":"none","max_deliver":1,"inactive_threshold":5});
    let c = create_on(&interest, body.clone(), false, &ConsumerLimits::default()).unwrap();
    assert!(!c.direct && c.is_durable() && c.durable_name == "src");
    assert_eq!(c.ack_policy, AckPolicy::FlowControl);
    assert_eq!((c.max_deliver, c.inactive_threshold), (-1, 0));
    let c = create_on(&stream(), body, false, &ConsumerLimits::default()).unwrap();
    assert!(c.direct && !c.is_durable());
}

#[test]
fn go_atoi_matches_strconv() {
    assert_eq!(go_atoi("+5"), Ok(5));
    assert_eq!(go_atoi("-5"), Ok(-5));
    assert!(go_atoi("5 ").is_err());
    assert!(go_atoi("").unwrap_err().ends_with("invalid syntax"));
    assert!(go_atoi("9223372036854775808")
        .unwrap_err()
        .ends_with("value out of range"));
}
