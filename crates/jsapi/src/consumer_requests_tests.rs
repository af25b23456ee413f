use super::*;
use crate::consumer_config::AckPolicy;
use crate::requests::{decode_optional_request, decode_request};

#[test]
fn create_request_shape() {
    let r: CreateConsumerRequest = decode_request(
        br#"{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"},"action":"create","pedantic":true}"#,
        true,
    )
    .unwrap();
    assert_eq!(r.action, ConsumerAction::Create);
    assert!(r.pedantic);
    assert_eq!(r.config.ack_policy, AckPolicy::Explicit);
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(back["action"], "create");
    let plain = CreateConsumerRequest::default();
    assert_eq!(
        serde_json::to_string(&plain).unwrap(),
        r#"{"stream_name":"","config":{"deliver_policy":"all","ack_policy":"none","replay_policy":"instant","num_replicas":0},"action":""}"#
    );
}

#[test]
fn actions_parse_like_go() {
    for (s, a) in [
        ("\"\"", ConsumerAction::CreateOrUpdate),
        ("\"create\"", ConsumerAction::Create),
        ("\"update\"", ConsumerAction::Update),
    ] {
        assert_eq!(serde_json::from_str::<ConsumerAction>(s).unwrap(), a);
        assert_eq!(serde_json::to_string(&a).unwrap(), s);
    }
    for bad in ["\"CREATE\"", "\"delete\"", "1", "null"] {
        let e = serde_json::from_str::<ConsumerAction>(bad).unwrap_err();
        assert!(e.to_string().contains("unknown consumer action"), "{e}");
    }
    let e = decode_request::<CreateConsumerRequest>(br#"{"action":"x"}"#, false).unwrap_err();
    assert_eq!(e.err_code(), 10025);
}

#[test]
fn names_offset_clamps_negative() {
    let r: ConsumerNamesRequest = decode_optional_request(br#"{"offset":-5}"#, true).unwrap();
    assert_eq!(r.offset, 0);
    let r: ConsumerListRequest = decode_optional_request(br#"{"offset":7}"#, true).unwrap();
    assert_eq!(r.offset, 7);
    let r: ConsumerNamesRequest = decode_optional_request(b"", true).unwrap();
    assert_eq!(r.offset, 0);
    // Only the offset exists: `subject` is unknown to nats-server too.
    assert!(decode_request::<ConsumerNamesRequest>(br#"{"subject":"a"}"#, true).is_err());
}

#[test]
fn pause_request_zero_time_resumes() {
    let r: ConsumerPauseRequest =
        decode_request(br#"{"pause_until":"2030-01-02T03:04:05Z"}"#, true).unwrap();
    assert!(r.pause_until.is_some());
    let r: ConsumerPauseRequest =
        decode_request(br#"{"pause_until":"0001-01-01T00:00:00Z"}"#, true).unwrap();
    assert_eq!(r.pause_until, None);
    let r: ConsumerPauseRequest = decode_optional_request(b"", true).unwrap();
    assert_eq!(r.pause_until, None);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"pause_until":"0001-01-01T00:00:00Z"}"#
    );
}

#[test]
fn unpin_and_reset_requests() {
    let ok = ConsumerUnpinRequest {
        group: "A-b_c/=9".into(),
    };
    assert!(ok.validate().is_ok());
    let e = ConsumerUnpinRequest::default().validate().unwrap_err();
    assert_eq!(e.to_string(), "invalid JSON: consumer group not specified");
    for bad in ["a.b", "g h", "0123456789abcdefg"] {
        let e = ConsumerUnpinRequest { group: bad.into() }
            .validate()
            .unwrap_err();
        assert_eq!(e, JsError::ConsumerInvalidGroupName);
    }
    let r: ConsumerResetRequest = decode_request(br#"{"seq":9}"#, true).unwrap();
    assert_eq!(r.seq, 9);
    assert_eq!(
        serde_json::to_string(&ConsumerResetRequest::default()).unwrap(),
        "{}"
    );
}

#[test]
fn next_request_forms() {
    let one = parse_next_request(b"").unwrap();
    assert_eq!((one.batch, one.from_json), (1, false));
    assert_eq!(parse_next_request(b" \r\n").unwrap().batch, 1);
    assert_eq!(parse_next_request(b"10").unwrap().batch, 10);
    assert_eq!(parse_next_request(b" +3 ").unwrap().batch, 3);
    assert_eq!(parse_next_request(b"-4").unwrap().batch, 1);
    assert_eq!(parse_next_request(b"abc").unwrap().batch, 1);
    assert_eq!(parse_next_request(b"[1]").unwrap().batch, 1);
    assert_eq!(
        parse_next_request(b"99999999999999999999").unwrap().batch,
        1
    );
    let r = parse_next_request(
        br#"{"expires":5000000000,"batch":5,"max_bytes":100,"no_wait":true,"idle_heartbeat":1000000000,
            "group":"g","min_pending":1,"min_ack_pending":2,"id":"pin","priority":3,"other":1}"#,
    )
    .unwrap();
    assert_eq!(
        r,
        NextRequest {
            expires: 5_000_000_000,
            batch: 5,
            max_bytes: 100,
            no_wait: true,
            idle_heartbeat: 1_000_000_000,
            group: "g".into(),
            min_pending: 1,
            min_ack_pending: 2,
            id: "pin".into(),
            priority: 3,
            from_json: true,
        }
    );
    assert_eq!(parse_next_request(br#"{"expires":1}"#).unwrap().batch, 1);
}

#[test]
fn next_request_errors() {
    let e = parse_next_request(br#"{"idle_heartbeat":1000,"expires":1999}"#).unwrap_err();
    assert_eq!(e, "heartbeat value too large");
    assert_eq!(
        parse_next_request(br#"{"idle_heartbeat":1000}"#).unwrap_err(),
        "heartbeat value too large"
    );
    assert!(parse_next_request(br#"{"idle_heartbeat":1000,"expires":2000}"#).is_ok());
    assert!(parse_next_request(br#"{"batch":"x"}"#).is_err());
    assert!(parse_next_request(br#"{"batch":1.5}"#).is_err());
    assert!(parse_next_request(br#"{"batch":1"#).is_err());
}

#[test]
fn next_request_checks_in_order() {
    let mut cfg = ConsumerConfig::default();
    let status = |cfg: &ConsumerConfig, body: &str| {
        let s = next_request_for(cfg, body.as_bytes()).unwrap_err();
        (s.code, s.description)
    };
    cfg.deliver_subject = "d".into();
    assert_eq!(status(&cfg, ""), (409, "Consumer is push based".into()));
    cfg.deliver_subject.clear();
    assert_eq!(
        status(&cfg, r#"{"idle_heartbeat":5}"#),
        (400, "Bad Request - heartbeat value too large".into())
    );
    cfg.max_batch = 5;
    cfg.max_expires = 60_000_000_000;
    cfg.max_bytes = 100;
    assert_eq!(
        status(&cfg, "6"),
        (409, "Exceeded MaxRequestBatch of 5".into())
    );
    assert_eq!(
        status(&cfg, r#"{"expires":61000000000}"#),
        (409, "Exceeded MaxRequestExpires of 1m0s".into())
    );
    assert_eq!(
        status(&cfg, r#"{"max_bytes":101}"#),
        (409, "Exceeded MaxRequestMaxBytes of 100".into())
    );
    assert_eq!(
        status(&cfg, r#"{"min_pending":1}"#),
        (400, "Bad Request - Not a Overflow Priority consumer".into())
    );
    assert_eq!(
        status(&cfg, r#"{"id":"x"}"#),
        (
            400,
            "Bad Request - Not a Pinned Client Priority consumer".into()
        )
    );
    assert_eq!(
        status(&cfg, r#"{"priority":10}"#),
        (400, "Bad Request - Priority must be between 0 and 9".into())
    );
    assert!(next_request_for(&cfg, br#"{"batch":5,"group":"ignored"}"#).is_ok());
    cfg.priority_policy = PriorityPolicy::Overflow;
    cfg.priority_groups = vec!["g".into()];
    assert_eq!(
        status(&cfg, r#"{"batch":1}"#),
        (400, "Bad Request - Priority Group missing".into())
    );
    assert_eq!(
        status(&cfg, r#"{"group":"h"}"#),
        (400, "Bad Request - Invalid Priority Group".into())
    );
    // Integer and empty bodies carry no priority group: not checked.
    assert!(next_request_for(&cfg, b"2").is_ok());
    let ok = next_request_for(&cfg, br#"{"group":"g","min_pending":3}"#).unwrap();
    assert_eq!(ok.min_pending, 3);
}
