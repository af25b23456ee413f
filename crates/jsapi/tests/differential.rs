//! Differential tests against the real nats-server 2.9.10 (Debian's
//! `/usr/sbin/nats-server`, or `NATS_SERVER_BIN`): its JSON must decode into
//! weir-jsapi's types and re-encode to the same JSON (modulo fields 2.9 does
//! not know), `normalize_stream_config` must produce the config it echoes,
//! and our errors must match its errors. Where 2.14 changed a behaviour the
//! test asserts the documented difference instead (see the crate docs).
//! Consumer cases are in `differential/`. Skipped with a note
//! when the binary is absent.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use weir_jsapi::*;

struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    client: async_nats::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_bin() -> Option<PathBuf> {
    let p = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    p.exists().then_some(p)
}

async fn start() -> Option<Server> {
    let Some(bin) = server_bin() else {
        eprintln!("note: nats-server not found; skipping differential test");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let mut child = child;
    for _ in 0..100 {
        if let Ok(client) = async_nats::connect(&url).await {
            return Some(Server {
                child,
                _dir: dir,
                client,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("nats-server did not start on {url}");
}

impl Server {
    async fn req(&self, subject: &str, body: &str) -> Value {
        let msg = tokio::time::timeout(
            Duration::from_secs(5),
            self.client
                .request(subject.to_string(), body.to_string().into()),
        )
        .await
        .expect("timeout")
        .expect("request");
        serde_json::from_slice(&msg.payload).expect("nats-server sent JSON")
    }
}

/// Removes what 2.9.10 does not send: fields added in 2.10+ and the
/// ADR-44 metadata keys.
fn strip_post_29(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("retention") && map.contains_key("storage") {
                for k in [
                    "compression",
                    "consumer_limits",
                    "allow_msg_ttl",
                    "first_seq",
                    "subject_transform",
                ] {
                    map.remove(k);
                }
                if let Some(Value::Object(md)) = map.get_mut("metadata") {
                    md.retain(|k, _| !k.starts_with("_nats."));
                    if md.is_empty() {
                        map.remove("metadata");
                    }
                }
            }
            if map.contains_key("config") && map.contains_key("state") {
                map.remove("ts");
            }
            if map.contains_key("limits") && map.contains_key("api") {
                map.remove("reserved_memory");
                map.remove("reserved_storage");
                if let Some(Value::Object(api)) = map.get_mut("api") {
                    api.remove("level");
                }
            }
            map.values_mut().for_each(strip_post_29);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_post_29),
        _ => {}
    }
}

/// (a) nats-server's JSON → our type → JSON is the same document.
fn assert_round_trip<T: DeserializeOwned + Serialize>(server: &Value) -> T {
    let typed: T =
        serde_json::from_value(server.clone()).unwrap_or_else(|e| panic!("decoding {server}: {e}"));
    let mut ours: Value = serde_json::from_slice(&to_go_json(&typed)).unwrap();
    strip_post_29(&mut ours);
    assert_eq!(&ours, server, "re-encoded JSON differs");
    typed
}

fn error_of(resp: &Value) -> (u64, u64, String) {
    let e = &resp["error"];
    assert!(e.is_object(), "expected an error in {resp}");
    (
        e["code"].as_u64().unwrap(),
        e["err_code"].as_u64().unwrap(),
        e["description"].as_str().unwrap().to_string(),
    )
}

fn ours(e: &JsError) -> (u64, u64, String) {
    let j = e.to_json();
    (u64::from(j.code), u64::from(j.err_code), j.description)
}

/// (b) our normalized config equals the one nats-server echoed.
fn assert_same_config(request: &Value, server_cfg: &Value) {
    let cfg: StreamConfig = decode_request(request.to_string().as_bytes(), false).unwrap();
    let normalized = prepare_stream_create(&cfg, &ServerLimits::default())
        .unwrap_or_else(|e| panic!("we refused {request}: {e}"));
    let mut mine: Value = serde_json::from_slice(&to_go_json(&normalized)).unwrap();
    strip_post_29(&mut mine);
    assert_eq!(&mine, server_cfg, "normalized config differs for {request}");
}

async fn create(s: &Server, cfg: Value) -> Value {
    let name = cfg["name"].as_str().unwrap().to_string();
    s.req(&format!("$JS.API.STREAM.CREATE.{name}"), &cfg.to_string())
        .await
}

#[tokio::test]
async fn created_configs_match_normalize() {
    let Some(s) = start().await else { return };
    let cases = [
        json!({"name":"S1"}),
        json!({"name":"S2","subjects":["a.>","b"],"max_age":1_000_000_000,"storage":"memory",
            "discard":"new","max_msgs_per_subject":3,"discard_new_per_subject":true,
            "allow_direct":true,"description":"d"}),
        json!({"name":"S7","subjects":["s7.>"],"republish":{"dest":"r.>","headers_only":true},
            "placement":{"cluster":"c1","tags":["a"]},"no_ack":true}),
        json!({"name":"M1","mirror":{"name":"S7","opt_start_seq":2,"filter_subject":"s7.a"}}),
        json!({"name":"WQ","retention":"workqueue","subjects":["wq.>"],"max_bytes":1000,
            "max_msg_size":100,"storage":"memory"}),
        json!({"name":"IN","retention":"interest","subjects":["in.>"],"allow_rollup_hdrs":true,
            "deny_delete":true,"max_consumers":3,"duplicate_window":5_000_000_000u64}),
        json!({"name":"KV","subjects":["kv.>"],"allow_direct":true,"max_msgs_per_subject":5,
            "allow_rollup_hdrs":true,"deny_delete":true,"discard":"new","max_age":3_600_000_000_000u64}),
        json!({"name":"EV","subjects":["$JS.EVENT.>"]}),
    ];
    for cfg in cases {
        let resp = create(&s, cfg.clone()).await;
        assert!(resp.get("error").is_none(), "{resp}");
        assert_eq!(resp["type"], STREAM_CREATE_RESPONSE);
        let typed = assert_round_trip::<StreamCreateResponse>(&resp);
        assert!(typed.body.did_create);
        assert_same_config(&cfg, &resp["config"]);
    }

    // Info, names, list, account info and their error forms round-trip.
    let info = s.req("$JS.API.STREAM.INFO.S2", "").await;
    assert_round_trip::<StreamInfoResponse>(&info);
    let missing = s.req("$JS.API.STREAM.INFO.NOPE", "").await;
    let typed = assert_round_trip::<StreamInfoResponse>(&missing);
    assert_eq!(typed.body.info, None);
    assert_eq!(typed.error, Some(JsError::StreamNotFound.to_json()));
    let names = s.req("$JS.API.STREAM.NAMES", "").await;
    let typed = assert_round_trip::<StreamNamesResponse>(&names);
    assert_eq!(typed.body.paged.limit, STREAM_NAMES_LIMIT as u64);
    let list = s.req("$JS.API.STREAM.LIST", "").await;
    let typed = assert_round_trip::<StreamListResponse>(&list);
    assert_eq!(typed.body.paged.limit, STREAM_LIST_LIMIT as u64);
    assert_eq!(typed.body.streams.len(), 8);
    let none = s.req("$JS.API.STREAM.NAMES", r#"{"subject":"zzz"}"#).await;
    assert_eq!(none["streams"], Value::Null);
    assert_round_trip::<StreamNamesResponse>(&none);
    let acct = s.req("$JS.API.INFO", "").await;
    assert_round_trip::<AccountInfoResponse>(&acct);
}

#[tokio::test]
async fn messages_acks_and_state_round_trip() {
    let Some(s) = start().await else { return };
    create(
        &s,
        json!({"name":"KV","subjects":["kv.>"],"allow_direct":true,"max_msg_size":10}),
    )
    .await;
    for (subj, body) in [("kv.a", "1"), ("kv.a", "2"), ("kv.b", "3")] {
        let msg = s
            .client
            .request(subj.to_string(), body.to_string().into())
            .await
            .unwrap();
        // The ack bytes are exactly what PubAck::to_bytes writes.
        let ack: PubAck = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(ack.to_bytes(), msg.payload.to_vec());
    }
    let msg = s
        .client
        .request("kv.c".to_string(), "0123456789abc".into())
        .await
        .unwrap();
    let expected = PubAckError::new("KV", &JsError::StreamMessageExceedsMaximum).to_bytes();
    assert_eq!(msg.payload.to_vec(), expected);

    let del = s.req("$JS.API.STREAM.MSG.DELETE.KV", r#"{"seq":2}"#).await;
    assert_round_trip::<StreamMsgDeleteResponse>(&del);
    let info = s
        .req(
            "$JS.API.STREAM.INFO.KV",
            r#"{"deleted_details":true,"subjects_filter":">"}"#,
        )
        .await;
    let typed = assert_round_trip::<StreamInfoResponse>(&info);
    let state = typed.body.info.unwrap().state;
    assert_eq!(state.deleted, vec![2]);
    assert_eq!(typed.body.paged.limit, STREAM_INFO_SUBJECTS_LIMIT as u64);

    let get = s.req("$JS.API.STREAM.MSG.GET.KV", r#"{"seq":3}"#).await;
    let typed = assert_round_trip::<StreamMsgGetResponse>(&get);
    assert_eq!(typed.body.message.unwrap().data, b"3");
    let purge = s
        .req("$JS.API.STREAM.PURGE.KV", r#"{"filter":"kv.a"}"#)
        .await;
    assert_round_trip::<StreamPurgeResponse>(&purge);
    let delete = s.req("$JS.API.STREAM.DELETE.KV", "").await;
    assert_round_trip::<StreamDeleteResponse>(&delete);

    // Request-level errors our request validators produce.
    let cases = [
        (
            "$JS.API.STREAM.MSG.GET.KV",
            r#"{"seq":1,"last_by_subj":"kv.b"}"#,
        ),
        ("$JS.API.STREAM.MSG.GET.KV", "{}"),
    ];
    create(&s, json!({"name":"T","subjects":["t"]})).await;
    for (subj, body) in cases {
        let server = s.req(&subj.replace("KV", "T"), body).await;
        let req: MsgGetRequest = decode_request(body.as_bytes(), false).unwrap();
        assert_eq!(
            error_of(&server),
            ours(&req.validate_msg_get().unwrap_err())
        );
    }
    let server = s
        .req("$JS.API.STREAM.PURGE.T", r#"{"seq":2,"keep":1}"#)
        .await;
    let req: StreamPurgeRequest = decode_request(br#"{"seq":2,"keep":1}"#, false).unwrap();
    assert_eq!(error_of(&server), ours(&req.validate().unwrap_err()));
    assert_round_trip::<StreamPurgeResponse>(&server);
    let server = s.req("$JS.API.STREAM.MSG.DELETE.T", "{}").await;
    assert_eq!(
        error_of(&server),
        ours(&MsgDeleteRequest::default().validate().unwrap_err())
    );
    let server = s.req("$JS.API.STREAM.MSG.GET.T", r#"{"seq":9}"#).await;
    assert_eq!(error_of(&server), ours(&JsError::NoMessageFound));
}

/// Runs a create through our model: subject name check, decode,
/// normalize, create checks, then the cross-stream overlap check.
fn our_create(
    subject_name: &str,
    body: &str,
    existing: &[StreamConfig],
) -> Result<StreamConfig, JsError> {
    let cfg: StreamConfig = decode_request(body.as_bytes(), false)?;
    check_request_stream_name(subject_name, &cfg)?;
    if let Some(old) = existing.iter().find(|c| c.name == cfg.name) {
        let new = prepare_stream_create(&cfg, &ServerLimits::default())?;
        return if same_stream_config(old, &new) {
            Ok(new)
        } else {
            Err(JsError::StreamNameExist)
        };
    }
    let new = prepare_stream_create(&cfg, &ServerLimits::default())?;
    if existing
        .iter()
        .any(|o| subjects_overlap(&o.subjects, &new.subjects))
    {
        return Err(JsError::StreamSubjectOverlap);
    }
    Ok(new)
}

fn our_update(old: Option<&StreamConfig>, body: &str) -> Result<StreamConfig, JsError> {
    let cfg: StreamConfig = decode_request(body.as_bytes(), false)?;
    let old = old.ok_or(JsError::StreamNotFound)?;
    apply_stream_update(old, &cfg, &ServerLimits::default())
}

#[tokio::test]
async fn errors_match_nats_server() {
    let Some(s) = start().await else { return };
    let mut existing = Vec::new();
    for body in [
        r#"{"name":"S1"}"#,
        r#"{"name":"S2","subjects":["a.>","b"]}"#,
    ] {
        let name = if body.contains("S1") { "S1" } else { "S2" };
        let resp = s.req(&format!("$JS.API.STREAM.CREATE.{name}"), body).await;
        assert!(resp.get("error").is_none(), "{resp}");
        existing.push(our_create(name, body, &existing).unwrap());
    }

    // Same code, err_code and description.
    let same = [
        ("S1", r#"{"name":"S1","max_msgs":5}"#),     // 10058
        ("S1", r#"{"name":"S1"}"#),                  // idempotent re-create is not an error
        ("S3", r#"{"name":"S3","subjects":["b"]}"#), // 10065
        ("S4", r#"{"name":"S4","subjects":["a.b"]}"#),
        ("S6", r#"{"name":"S7"}"#),     // 10056
        ("a\\b", r#"{"name":"a\\b"}"#), // 10128
        ("S6", r#"{"name":"S6","subjects":["a..b"]}"#),
        ("S6", r#"{"name":"S6","discard_new_per_subject":true}"#),
        (
            "S6",
            r#"{"name":"S6","discard_new_per_subject":true,"discard":"new"}"#,
        ),
        ("S6", r#"{"name":"S6","sealed":true}"#),
        ("S6", r#"{"name":"S6","subjects":["x.*","x.y"]}"#),
        ("S6", r#"{"name":"S6","max_age":1000}"#),
        ("S6", r#"{"name":"S6","duplicate_window":-5}"#),
        ("S6", r#"{"name":"S6","duplicate_window":50}"#),
        (
            "S6",
            r#"{"name":"S6","max_age":60000000000,"duplicate_window":120000000000}"#,
        ),
        ("S6", r#"{"name":"S6","num_replicas":3}"#),
        ("S6", r#"{"name":"S6","num_replicas":-1}"#),
        (
            "S6",
            r#"{"name":"S6","deny_purge":true,"allow_rollup_hdrs":true}"#,
        ),
        (
            "S6",
            r#"{"name":"S6","subjects":["s6"],"republish":{"src":"s6","dest":"s6"}}"#,
        ),
        (
            "S6",
            r#"{"name":"S6","mirror":{"name":"S1"},"subjects":["m"]}"#,
        ),
        (
            "S6",
            r#"{"name":"S6","sources":[{"name":"S1"}],"mirror_direct":true}"#,
        ),
    ];
    for (name, body) in same {
        let server = s.req(&format!("$JS.API.STREAM.CREATE.{name}"), body).await;
        match our_create(name, body, &existing) {
            Ok(_) => assert!(
                server.get("error").is_none(),
                "{body}: we accept, server: {server}"
            ),
            Err(e) => assert_eq!(error_of(&server), ours(&e), "{body}"),
        }
    }

    // Invalid JSON: same numbers; 2.14 appends the decoder error.
    for body in [
        r#"{"name":"S5""#,
        "",
        r#"{"name":"S5","retention":"bogus"}"#,
    ] {
        let server = s.req("$JS.API.STREAM.CREATE.S5", body).await;
        let e = our_create("S5", body, &existing).unwrap_err();
        let (code, err_code, desc) = error_of(&server);
        assert_eq!(
            (code, err_code, desc.as_str()),
            (400, 10025, "invalid JSON")
        );
        assert_eq!((ours(&e).0, ours(&e).1), (code, err_code));
        assert!(ours(&e).2.starts_with("invalid JSON: "));
    }

    // Documented 2.9 → 2.14 differences: same err_code, 2.14's text.
    let differ = [
        (
            r#"{"name":"S6","subjects":["$JS.API.>"]}"#,
            "subjects overlap with jetstream api",
            "subjects that overlap with jetstream api require no-ack to be true",
        ),
        (
            r#"{"name":"S6","max_age":-5}"#,
            "duplicates window can not be negative",
            "max age can not be negative",
        ),
        (
            r#"{"name":"S6","subjects":["x","x"]}"#,
            "duplicate subjects detected",
            r#"subject "x" overlaps with "x""#,
        ),
        (
            r#"{"name":"S6","subjects":["s.>"],"republish":{"src":"s.>","dest":"r.*"}}"#,
            "stream configuration for republish not valid",
            "stream configuration for republish with transform from 's.>' to 'r.*' not valid",
        ),
    ];
    for (body, v29, v214) in differ {
        let server = s.req("$JS.API.STREAM.CREATE.S6", body).await;
        assert_eq!(error_of(&server), (500, 10052, v29.to_string()), "{body}");
        assert_eq!(
            ours(&our_create("S6", body, &existing).unwrap_err()),
            (500, 10052, v214.to_string())
        );
    }
    // Below -1 limits: 2.9 keeps them, 2.14 clamps to -1.
    let body = r#"{"name":"S8","max_msgs":-7}"#;
    let server = s.req("$JS.API.STREAM.CREATE.S8", body).await;
    assert_eq!(server["config"]["max_msgs"], -7);
    assert_eq!(our_create("S8", body, &existing).unwrap().max_msgs, -1);

    // Updates.
    let s1 = existing[0].clone();
    let updates = [
        ("S1", r#"{"name":"S1","storage":"memory"}"#),
        ("NOPE", r#"{"name":"NOPE"}"#),
        ("S1", r#"{"name":"S1","retention":"workqueue"}"#),
    ];
    for (name, body) in updates {
        let server = s.req(&format!("$JS.API.STREAM.UPDATE.{name}"), body).await;
        let old = (name == "S1").then_some(&s1);
        let ours_err = our_update(old, body).unwrap_err();
        let (code, err_code, desc) = error_of(&server);
        assert_eq!(
            (code, err_code),
            (ours(&ours_err).0, ours(&ours_err).1),
            "{body}"
        );
        if body.contains("workqueue") {
            // 2.9 refuses any retention change; 2.14 names workqueue.
            assert_eq!(
                desc,
                "stream configuration update can not change retention policy"
            );
            assert!(ours(&ours_err).2.ends_with("to/from workqueue"));
        } else {
            assert_eq!(desc, ours(&ours_err).2, "{body}");
        }
    }
    // Overlap with another stream on update: the caller's cross-stream check.
    let server = s
        .req(
            "$JS.API.STREAM.UPDATE.S1",
            r#"{"name":"S1","subjects":["b"]}"#,
        )
        .await;
    let upd = our_update(Some(&s1), r#"{"name":"S1","subjects":["b"]}"#).unwrap();
    assert!(subjects_overlap(&upd.subjects, &existing[1].subjects));
    assert_eq!(error_of(&server), ours(&JsError::StreamSubjectOverlap));
    // 2.9 refuses a max_consumers change; 2.14 allows it.
    let server = s
        .req(
            "$JS.API.STREAM.UPDATE.S1",
            r#"{"name":"S1","max_consumers":5}"#,
        )
        .await;
    assert_eq!(
        error_of(&server).2,
        "stream configuration update can not change MaxConsumers"
    );
    assert!(our_update(Some(&s1), r#"{"name":"S1","max_consumers":5}"#).is_ok());
    // Sealing: the same adjustments, and unsealing is refused alike.
    let body = r#"{"name":"S1","description":"x","sealed":true}"#;
    let server = s.req("$JS.API.STREAM.UPDATE.S1", body).await;
    let typed = assert_round_trip::<StreamUpdateResponse>(&server);
    let sealed = our_update(Some(&s1), body).unwrap();
    let mut mine: Value = serde_json::from_slice(&to_go_json(&sealed)).unwrap();
    strip_post_29(&mut mine);
    assert_eq!(mine, server["config"]);
    assert!(typed.body.info.unwrap().config.sealed);
    let body = r#"{"name":"S1","description":"x","sealed":false}"#;
    let server = s.req("$JS.API.STREAM.UPDATE.S1", body).await;
    assert_eq!(
        error_of(&server),
        ours(&our_update(Some(&sealed), body).unwrap_err())
    );
}

#[path = "differential/consumers.rs"]
mod consumers;

#[path = "differential/consumer_updates.rs"]
mod consumer_updates;
