//! Consumer updates follow `apply_consumer_update`, and pull requests get
//! the statuses `next_request_for` predicts, as nats-server 2.9.10 answers
//! (with the documented 2.14 differences asserted as such).

use super::consumers::{json_of, new_stream, our_create};
use super::*;

#[tokio::test]
async fn consumer_updates_match_nats_server() {
    let Some(s) = start().await else { return };
    let st = new_stream(&s, json!({"name":"S","subjects":["s.>"]})).await;
    let pull = r#"{"stream_name":"S","config":{"durable_name":"U","ack_policy":"explicit","filter_subject":"s.a"}}"#;
    let push = r#"{"stream_name":"S","config":{"durable_name":"V","ack_policy":"explicit","deliver_subject":"dv","idle_heartbeat":1000000000,"flow_control":true}}"#;
    let mut stored = Vec::new();
    for (name, body) in [("U", pull), ("V", push)] {
        let subject = format!("$JS.API.CONSUMER.CREATE.S.{name}");
        assert!(s.req(&subject, body).await.get("error").is_none());
        stored.push(our_create(&subject, body, &st).unwrap());
    }
    let refused = [
        ("U", r#""ack_policy":"all""#),
        ("U", r#""ack_policy":"explicit","deliver_policy":"new""#),
        ("U", r#""ack_policy":"explicit","replay_policy":"original""#),
        ("U", r#""ack_policy":"explicit","max_waiting":10"#),
        (
            "U",
            r#""ack_policy":"explicit","deliver_policy":"by_start_sequence","opt_start_seq":2"#,
        ),
        (
            "U",
            r#""ack_policy":"explicit","backoff":[1,2,3],"max_deliver":2"#,
        ),
        ("V", r#""ack_policy":"explicit""#),
        (
            "V",
            r#""ack_policy":"explicit","deliver_subject":"dv","idle_heartbeat":2000000000,"flow_control":true"#,
        ),
        (
            "V",
            r#""ack_policy":"explicit","deliver_subject":"dv","idle_heartbeat":1000000000"#,
        ),
    ];
    for (name, fields) in refused {
        let body =
            format!(r#"{{"stream_name":"S","config":{{"durable_name":"{name}",{fields}}}}}"#);
        let subject = format!("$JS.API.CONSUMER.CREATE.S.{name}");
        let server = s.req(&subject, &body).await;
        let existing = if name == "U" { &stored[0] } else { &stored[1] };
        let e = our_create(&subject, &body, &st)
            .and_then(|new| apply_consumer_update(existing, &new))
            .unwrap_err();
        assert_eq!(error_of(&server), ours(&e), "{body}");
    }
    let allowed = [
        r#""ack_policy":"explicit","filter_subject":"s.b","description":"x","max_ack_pending":5,"ack_wait":2000000000,"max_deliver":4,"sample_freq":"10","headers_only":true,"max_batch":3,"max_expires":2000000000,"max_bytes":10"#,
        r#""ack_policy":"explicit","filter_subject":"s.a","backoff":[1000000000,3000000000],"max_deliver":3"#,
    ];
    for fields in allowed {
        let body = format!(r#"{{"stream_name":"S","config":{{"durable_name":"U",{fields}}}}}"#);
        let server = s.req("$JS.API.CONSUMER.CREATE.S.U", &body).await;
        assert!(server.get("error").is_none(), "{server}");
        let new = our_create("$JS.API.CONSUMER.CREATE.S.U", &body, &st).unwrap();
        let applied = apply_consumer_update(&stored[0], &new).unwrap();
        assert_eq!(json_of(&applied), server["config"], "{body}");
        stored[0] = applied;
    }
    // Documented differences, last because 2.9 applies them.
    let differ = [
        (
            r#""ack_policy":"explicit","deliver_subject":"du""#,
            "max waiting can not be updated",
            "can not update pull consumer to push based",
        ),
        (
            r#""ack_policy":"explicit","mem_storage":true"#,
            "",
            "storage type can not be updated",
        ),
    ];
    for (fields, v29, v214) in differ {
        let body = format!(r#"{{"stream_name":"S","config":{{"durable_name":"U",{fields}}}}}"#);
        let server = s.req("$JS.API.CONSUMER.CREATE.S.U", &body).await;
        if v29.is_empty() {
            assert!(server.get("error").is_none(), "{server}");
        } else {
            assert_eq!(error_of(&server), (500, 10012, v29.to_string()));
        }
        let e = our_create("$JS.API.CONSUMER.CREATE.S.U", &body, &st)
            .and_then(|new| apply_consumer_update(&stored[0], &new))
            .unwrap_err();
        assert_eq!(ours(&e), (500, 10012, v214.to_string()));
    }
}

#[tokio::test]
async fn pull_request_statuses_match_nats_server() {
    let Some(s) = start().await else { return };
    let st = new_stream(&s, json!({"name":"S","subjects":["s.>"]})).await;
    let body = r#"{"stream_name":"S","config":{"durable_name":"P","ack_policy":"explicit","max_batch":5,"max_expires":1000000000,"max_bytes":100}}"#;
    assert!(s
        .req("$JS.API.CONSUMER.CREATE.S.P", body)
        .await
        .get("error")
        .is_none());
    let cfg = our_create("$JS.API.CONSUMER.CREATE.S.P", body, &st).unwrap();
    let push = r#"{"stream_name":"S","config":{"durable_name":"H","deliver_subject":"h"}}"#;
    assert!(s
        .req("$JS.API.CONSUMER.CREATE.S.H", push)
        .await
        .get("error")
        .is_none());
    let hcfg = our_create("$JS.API.CONSUMER.CREATE.S.H", push, &st).unwrap();
    let cases = [
        ("P", &cfg, "6"),
        ("P", &cfg, r#"{"batch":1,"expires":2000000000}"#),
        ("P", &cfg, r#"{"batch":1,"max_bytes":101}"#),
        (
            "P",
            &cfg,
            r#"{"batch":1,"expires":1000000000,"idle_heartbeat":600000000}"#,
        ),
        ("H", &hcfg, "1"),
    ];
    for (name, c, req) in cases {
        let msg = tokio::time::timeout(
            Duration::from_secs(5),
            s.client.request(
                format!("$JS.API.CONSUMER.MSG.NEXT.S.{name}"),
                req.to_string().into(),
            ),
        )
        .await
        .expect("timeout")
        .expect("request");
        let status = next_request_for(c, req.as_bytes()).unwrap_err();
        assert_eq!(
            (
                msg.status.map(|s| s.as_u16()),
                msg.description.as_deref().unwrap_or_default()
            ),
            (Some(status.code), status.description.as_str()),
            "{req}"
        );
    }
}
