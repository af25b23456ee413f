//! Consumer differential tests against nats-server 2.9.10: created configs
//! equal `prepare_consumer_create`'s and errors carry the same numbers (and
//! text, unless 2.14 changed it: those cases assert the documented
//! difference). Updates and pull statuses are in `consumer_updates.rs`.

use super::*;

/// Removes what 2.9.10 does not send from consumer configs and infos.
pub(crate) fn strip_consumer_post_29(v: &mut Value) {
    if let Value::Object(map) = v {
        if map.contains_key("deliver_policy") && map.contains_key("ack_policy") {
            for k in [
                "metadata",
                "filter_subjects",
                "pause_until",
                "priority_groups",
                "priority_policy",
                "priority_timeout",
                "sourcing",
            ] {
                map.remove(k);
            }
        }
        if map.contains_key("stream_name") && map.contains_key("delivered") {
            for k in ["ts", "paused", "pause_remaining", "priority_groups"] {
                map.remove(k);
            }
        }
        map.values_mut().for_each(strip_consumer_post_29);
    } else if let Value::Array(items) = v {
        items.iter_mut().for_each(strip_consumer_post_29);
    }
}

/// nats-server's JSON → our type → JSON is the same document.
pub(crate) fn round_trip<T: DeserializeOwned + Serialize>(server: &Value) -> T {
    let typed: T =
        serde_json::from_value(server.clone()).unwrap_or_else(|e| panic!("decoding {server}: {e}"));
    let mut ours: Value = serde_json::from_slice(&to_go_json(&typed)).unwrap();
    strip_consumer_post_29(&mut ours);
    assert_eq!(&ours, server, "re-encoded JSON differs");
    typed
}

pub(crate) fn json_of(cfg: &ConsumerConfig) -> Value {
    let mut v: Value = serde_json::from_slice(&to_go_json(cfg)).unwrap();
    strip_consumer_post_29(&mut v);
    v
}

/// Our create path: subject, decode (lenient, as 2.9 is), prepare.
pub(crate) fn our_create(
    subject: &str,
    body: &str,
    stream: &StreamConfig,
) -> Result<ConsumerConfig, JsError> {
    let req: CreateConsumerRequest = decode_request(body.as_bytes(), false)?;
    let subj = ConsumerCreateSubject::parse(subject).expect("create subject");
    prepare_consumer_create(stream, req, subj)
}

pub(crate) async fn new_stream(s: &Server, cfg: Value) -> StreamConfig {
    let resp = create(s, cfg.clone()).await;
    assert!(resp.get("error").is_none(), "{resp}");
    prepare_stream_create(
        &decode_request(cfg.to_string().as_bytes(), false).unwrap(),
        &ServerLimits::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn consumer_configs_match_prepare() {
    let Some(s) = start().await else { return };
    let st = new_stream(&s, json!({"name":"S","subjects":["s.>"]})).await;
    let cases = [
        (
            "$JS.API.CONSUMER.CREATE.S",
            r#"{"stream_name":"S","config":{"deliver_subject":"push.e1"}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S",
            r#"{"stream_name":"S","config":{}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.E2",
            r#"{"stream_name":"S","config":{"name":"E2","ack_policy":"none"}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.E3",
            r#"{"stream_name":"S","config":{"name":"other"}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.E4",
            r#"{"stream_name":"S","config":{"inactive_threshold":60000000000}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.F1.s.a",
            r#"{"stream_name":"S","config":{"durable_name":"F1","filter_subject":"s.a","ack_policy":"all","deliver_policy":"last"}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.B1",
            r#"{"stream_name":"S","config":{"durable_name":"B1","ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":5}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.P1",
            r#"{"stream_name":"S","config":{"durable_name":"P1","deliver_subject":"p1","deliver_group":"q","ack_policy":"explicit","flow_control":true,"idle_heartbeat":5000000000,"rate_limit_bps":8000,"headers_only":true}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.Q1",
            r#"{"stream_name":"S","config":{"durable_name":"Q1","ack_policy":"explicit","deliver_policy":"by_start_sequence","opt_start_seq":3,"replay_policy":"original","sample_freq":"50%","description":"d","max_batch":10,"max_expires":5000000000,"max_bytes":1024}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.Q2",
            r#"{"stream_name":"S","config":{"durable_name":"Q2","deliver_policy":"by_start_time","opt_start_time":"2020-01-02T03:04:05Z","mem_storage":true,"num_replicas":1}}"#,
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.Q3",
            r#"{"stream_name":"S","config":{"durable_name":"Q3","deliver_policy":"last_per_subject","filter_subject":"s.*","deliver_group":"nobody"}}"#,
        ),
    ];
    for (subject, body) in cases {
        let resp = s.req(subject, body).await;
        assert!(resp.get("error").is_none(), "{body}: {resp}");
        assert_eq!(resp["type"], CONSUMER_CREATE_RESPONSE);
        let typed = round_trip::<ConsumerCreateResponse>(&resp);
        let info = typed.body.info.unwrap();
        let ours = our_create(subject, body, &st).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(json_of(&ours), resp["config"], "{body}");
        if ours.name.is_empty() {
            // Legacy ephemeral: the server generates a name (2.14 also
            // writes it into the config).
            assert_eq!(info.name.len(), 8);
        }
    }

    // Legacy durable subject: 2.14 also sets `name` to the durable name.
    let body = r#"{"stream_name":"S","config":{"durable_name":"D1","ack_policy":"explicit"}}"#;
    let resp = s.req("$JS.API.CONSUMER.DURABLE.CREATE.S.D1", body).await;
    let ours = our_create("$JS.API.CONSUMER.DURABLE.CREATE.S.D1", body, &st).unwrap();
    assert_eq!(ours.name, "D1");
    let mut mine = json_of(&ours);
    mine.as_object_mut().unwrap().remove("name");
    assert_eq!(mine, resp["config"]);

    // Info, names, list, delete and their error forms.
    let info = s.req("$JS.API.CONSUMER.INFO.S.B1", "").await;
    round_trip::<ConsumerInfoResponse>(&info);
    let missing = s.req("$JS.API.CONSUMER.INFO.S.NOPE", "").await;
    let typed = round_trip::<ConsumerInfoResponse>(&missing);
    assert_eq!(typed.error, Some(JsError::ConsumerNotFound.to_json()));
    let names = s.req("$JS.API.CONSUMER.NAMES.S", "").await;
    let typed = round_trip::<ConsumerNamesResponse>(&names);
    assert_eq!(typed.body.paged.limit, CONSUMER_NAMES_LIMIT as u64);
    let mut sorted = typed.body.consumers.clone();
    sorted.sort();
    assert_eq!(typed.body.consumers, sorted);
    let page = s.req("$JS.API.CONSUMER.NAMES.S", r#"{"offset":2}"#).await;
    assert_eq!(page["offset"], 2);
    let list = s.req("$JS.API.CONSUMER.LIST.S", "").await;
    let typed = round_trip::<ConsumerListResponse>(&list);
    assert_eq!(typed.body.paged.limit, CONSUMER_LIST_LIMIT as u64);
    assert_eq!(typed.body.consumers.len() as u64, typed.body.paged.total);
    let none = s.req("$JS.API.CONSUMER.NAMES.NOPE", "").await;
    assert_eq!(error_of(&none), ours_err(&JsError::StreamNotFound));
    round_trip::<ConsumerNamesResponse>(&none);
    let del = s.req("$JS.API.CONSUMER.DELETE.S.B1", "").await;
    assert!(round_trip::<ConsumerDeleteResponse>(&del).body.success);
    let del = s.req("$JS.API.CONSUMER.DELETE.S.B1", "").await;
    assert_eq!(error_of(&del), ours_err(&JsError::ConsumerNotFound));
    // Info and delete take no body (`{}` counts as empty).
    assert!(is_empty_request(b"{}") && !is_empty_request(br#"{"a":1}"#));
    let info = s.req("$JS.API.CONSUMER.INFO.S.Q2", r#"{"a":1}"#).await;
    assert_eq!(error_of(&info), ours_err(&JsError::NotEmptyRequest));
    let del = s.req("$JS.API.CONSUMER.DELETE.S.Q1", r#"{"a":1}"#).await;
    assert_eq!(error_of(&del), ours_err(&JsError::NotEmptyRequest));
    let del = s.req("$JS.API.CONSUMER.DELETE.S.Q1", "{}").await;
    assert!(round_trip::<ConsumerDeleteResponse>(&del).body.success);
}

fn ours_err(e: &JsError) -> (u64, u64, String) {
    ours(e)
}

#[tokio::test]
async fn consumer_errors_match_nats_server() {
    let Some(s) = start().await else { return };
    let st = new_stream(&s, json!({"name":"S","subjects":["s.>"]})).await;
    let wq = new_stream(
        &s,
        json!({"name":"WQ","subjects":["wq.>"],"retention":"workqueue"}),
    )
    .await;
    let long = "x".repeat(4097);
    let desc =
        format!(r#"{{"stream_name":"S","config":{{"durable_name":"C","description":"{long}"}}}}"#);
    let same: Vec<(&str, String)> = [
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"T","config":{"durable_name":"C"}}"#),
        ("$JS.API.CONSUMER.DURABLE.CREATE.S.C", r#"{"stream_name":"S","config":{}}"#),
        ("$JS.API.CONSUMER.DURABLE.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"D"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"D"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C.s.b", r#"{"stream_name":"S","config":{"durable_name":"C","filter_subject":"s.a"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","num_replicas":3}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","num_replicas":-1}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"p","max_waiting":5}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"p","max_ack_pending":5}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"p.*"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"s.x"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"p","idle_heartbeat":50000000}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"p","flow_control":true}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","rate_limit_bps":8}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","idle_heartbeat":1000000000}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","flow_control":true}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","max_expires":500000}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","backoff":[1,2,3],"max_deliver":2}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","opt_start_seq":4}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_policy":"new","opt_start_time":"2020-01-01T00:00:00Z"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_policy":"by_start_sequence"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_policy":"by_start_time","opt_start_seq":2}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_policy":"last_per_subject"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","sample_freq":"abc%"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","sample_freq":"-5"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","direct":true}}"#),
        ("$JS.API.CONSUMER.CREATE.S", r#"{"stream_name":"S","config":{"deliver_subject":"p","direct":true,"durable_name":"C"}}"#),
        ("$JS.API.CONSUMER.CREATE.S", r#"{"stream_name":"S","config":{"durable_name":"LEG"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","deliver_subject":"a b"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","sample_freq":"%"}}"#),
        ("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C","sample_freq":"99999999999999999999"}}"#),
        ("$JS.API.CONSUMER.CREATE.WQ.C", r#"{"stream_name":"WQ","config":{"durable_name":"C","ack_policy":"all"}}"#),
        ("$JS.API.CONSUMER.CREATE.WQ.C", r#"{"stream_name":"WQ","config":{"durable_name":"C","ack_policy":"explicit","deliver_policy":"new"}}"#),
    ]
    .into_iter()
    .map(|(a, b)| (a, b.to_string()))
    .chain([("$JS.API.CONSUMER.CREATE.S.C", desc)])
    .collect();
    let stream_of = |subj: &str| if subj.contains(".WQ") { &wq } else { &st };
    for (subject, body) in &same {
        let server = s.req(subject, body).await;
        let e = our_create(subject, body, stream_of(subject))
            .map(|cfg| check_workqueue_consumer(stream_of(subject), &cfg, &[]).map(|_| cfg))
            .and_then(|r| r)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(error_of(&server), ours(&e), "{subject} {body}");
    }

    // Documented 2.9 → 2.14 differences.
    let differ = [
        // Invalid names: 2.14's config check reports 10052 first.
        (
            "$JS.API.CONSUMER.CREATE.S",
            r#"{"stream_name":"S","config":{"name":"a*b"}}"#,
        ),
    ];
    let mut found = Vec::new();
    for (subject, body) in differ {
        let server = s.req(subject, body).await;
        let e = our_create(subject, body, &st).unwrap_err();
        found.push((server, ours(&e)));
    }
    assert_eq!(
        error_of(&found[0].0),
        (
            400,
            10103,
            "durable name can not contain '.', '*', '>'".into()
        )
    );
    assert_eq!(
        found[0].1,
        (
            500,
            10052,
            r"consumer name can not contain '.', '*', '>', '\', '/'".into()
        )
    );
    negative_values_differ(&s, &st).await;
    // A filter outside the stream's subjects: 2.9 checks that (10093);
    // 2.10+ dropped the check, so only the subject syntax fails.
    let body = r#"{"stream_name":"S","config":{"durable_name":"C","filter_subject":"s..a"}}"#;
    let server = s.req("$JS.API.CONSUMER.CREATE.S.C", body).await;
    assert_eq!(error_of(&server), ours(&JsError::ConsumerFilterNotSubset));
    let e = our_create("$JS.API.CONSUMER.CREATE.S.C", body, &st).unwrap_err();
    assert_eq!(ours(&e), (500, 10052, "invalid subject".into()));
    // Pull without acks on a workqueue stream: same number, new wording.
    let body = r#"{"stream_name":"WQ","config":{"durable_name":"C"}}"#;
    let server = s.req("$JS.API.CONSUMER.CREATE.WQ.C", body).await;
    assert_eq!(
        error_of(&server),
        (
            400,
            10084,
            "consumer in pull mode requires ack policy".into()
        )
    );
    let e = our_create("$JS.API.CONSUMER.CREATE.WQ.C", body, &wq).unwrap_err();
    assert_eq!(e, JsError::ConsumerPullRequiresAck);

    // Bad JSON: 2.14 appends the decoder error.
    let server = s
        .req("$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S""#)
        .await;
    assert_eq!(error_of(&server), (400, 10025, "invalid JSON".into()));
    let body = br#"{"stream_name":"S","config":{"ack_policy":"sometimes"}}"#;
    let server = s
        .req(
            "$JS.API.CONSUMER.CREATE.S.C",
            std::str::from_utf8(body).unwrap(),
        )
        .await;
    assert_eq!(error_of(&server).1, 10025);
    assert_eq!(
        decode_request::<CreateConsumerRequest>(body, false)
            .unwrap_err()
            .err_code(),
        10025
    );

    // Workqueue exclusivity needs the other consumers.
    let first = r#"{"stream_name":"WQ","config":{"durable_name":"W1","ack_policy":"explicit","filter_subject":"wq.a.*"}}"#;
    let resp = s.req("$JS.API.CONSUMER.CREATE.WQ.W1", first).await;
    assert!(resp.get("error").is_none(), "{resp}");
    let w1 = our_create("$JS.API.CONSUMER.CREATE.WQ.W1", first, &wq).unwrap();
    for (name, body) in [
        (
            "W2",
            r#"{"stream_name":"WQ","config":{"durable_name":"W2","ack_policy":"explicit"}}"#,
        ),
        (
            "W3",
            r#"{"stream_name":"WQ","config":{"durable_name":"W3","ack_policy":"explicit","filter_subject":"wq.a.b"}}"#,
        ),
    ] {
        let subject = format!("$JS.API.CONSUMER.CREATE.WQ.{name}");
        let server = s.req(&subject, body).await;
        let cfg = our_create(&subject, body, &wq).unwrap();
        let e = check_workqueue_consumer(&wq, &cfg, &[&w1]).unwrap_err();
        assert_eq!(error_of(&server), ours(&e), "{body}");
    }
    let ok = r#"{"stream_name":"WQ","config":{"durable_name":"W4","ack_policy":"explicit","filter_subject":"wq.b"}}"#;
    let resp = s.req("$JS.API.CONSUMER.CREATE.WQ.W4", ok).await;
    assert!(resp.get("error").is_none(), "{resp}");
    let w4 = our_create("$JS.API.CONSUMER.CREATE.WQ.W4", ok, &wq).unwrap();
    assert!(check_workqueue_consumer(&wq, &w4, &[&w1]).is_ok());

    // The consumer limit.
    let lim = new_stream(&s, json!({"name":"L","subjects":["l"],"max_consumers":1})).await;
    let body = r#"{"stream_name":"L","config":{"durable_name":"A"}}"#;
    assert!(s
        .req("$JS.API.CONSUMER.CREATE.L.A", body)
        .await
        .get("error")
        .is_none());
    let a = our_create("$JS.API.CONSUMER.CREATE.L.A", body, &lim).unwrap();
    let server = s
        .req(
            "$JS.API.CONSUMER.CREATE.L.B",
            &body.replace("\"A\"", "\"B\""),
        )
        .await;
    assert_eq!(
        error_of(&server),
        ours(&check_consumer_limit(&lim, -1, &[&a]).unwrap_err())
    );
}

/// 2.9: the field kept as sent, or the error's `err_code`.
type Outcome29 = Result<&'static str, u64>;
/// 2.14: a field and the value we store (null: omitted), or an `err_code`.
type Outcome214 = Result<(&'static str, Value), u64>;

/// Out-of-range numbers and backoff without `max_deliver`: 2.9 keeps or
/// refuses them, 2.14 applies its defaults (and refuses negative waits).
async fn negative_values_differ(s: &Server, st: &StreamConfig) {
    // (fields, 2.9: Ok(kept field) or Err(err_code), 2.14: Ok((field, value)) or Err(err_code))
    let cases: [(&str, Outcome29, Outcome214); 10] = [
        (
            r#""max_waiting":-3"#,
            Err(10087),
            Ok(("max_waiting", json!(512))),
        ),
        (
            r#""max_batch":-1"#,
            Err(10114),
            Ok(("max_batch", Value::Null)),
        ),
        (
            r#""max_expires":-1"#,
            Err(10115),
            Ok(("max_expires", Value::Null)),
        ),
        (
            r#""max_deliver":-9"#,
            Ok("max_deliver"),
            Ok(("max_deliver", json!(-1))),
        ),
        (
            r#""max_bytes":-1"#,
            Ok("max_bytes"),
            Ok(("max_bytes", Value::Null)),
        ),
        (
            r#""inactive_threshold":-5"#,
            Ok("inactive_threshold"),
            Ok(("inactive_threshold", Value::Null)),
        ),
        (
            r#""idle_heartbeat":-1"#,
            Ok("idle_heartbeat"),
            Ok(("idle_heartbeat", Value::Null)),
        ),
        (
            r#""max_ack_pending":-7,"ack_policy":"explicit""#,
            Ok("max_ack_pending"),
            Ok(("max_ack_pending", json!(-1))),
        ),
        (
            r#""ack_wait":-1,"ack_policy":"explicit""#,
            Ok("ack_wait"),
            Err(10183),
        ),
        (
            r#""backoff":[1000000000],"ack_policy":"explicit""#,
            Err(10116),
            Ok(("ack_wait", json!(1_000_000_000))),
        ),
    ];
    for (fields, v29, v214) in cases {
        let body = format!(r#"{{"stream_name":"S","config":{{"durable_name":"N",{fields}}}}}"#);
        let server = s.req("$JS.API.CONSUMER.CREATE.S.N", &body).await;
        match v29 {
            Err(code) => assert_eq!(error_of(&server).1, code, "{body}"),
            Ok(field) => {
                let sent: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(server["config"][field], sent["config"][field], "{body}");
            }
        }
        s.req("$JS.API.CONSUMER.DELETE.S.N", "").await;
        let ours = our_create("$JS.API.CONSUMER.CREATE.S.N", &body, st);
        match v214 {
            Err(code) => assert_eq!(u64::from(ours.unwrap_err().err_code()), code, "{body}"),
            Ok((field, value)) => assert_eq!(json_of(&ours.unwrap())[field], value, "{body}"),
        }
    }
}
