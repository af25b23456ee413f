//! Defaults and validation of `normalize_stream_config`, plus properties.

use proptest::prelude::*;
use serde_json::json;

use crate::*;

fn norm(v: serde_json::Value) -> Result<StreamConfig, JsError> {
    let cfg: StreamConfig = serde_json::from_value(v).unwrap();
    normalize_stream_config(&cfg, &ServerLimits::default())
}

fn err(v: serde_json::Value) -> String {
    norm(v).unwrap_err().to_string()
}

#[test]
fn defaults_for_a_bare_name() {
    let c = norm(json!({"name":"S1"})).unwrap();
    assert_eq!(c.subjects, vec!["S1"]);
    assert_eq!(
        (
            c.max_msgs,
            c.max_bytes,
            c.max_consumers,
            c.max_msgs_per_subject,
            c.max_msg_size
        ),
        (-1, -1, -1, -1, -1)
    );
    assert_eq!(c.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
    assert_eq!(c.num_replicas, 1);
    assert_eq!((c.storage, c.discard, c.retention), Default::default());
    let md = c.metadata.unwrap();
    assert_eq!(md[REQUIRED_LEVEL_KEY], "0");
    assert_eq!(md[SERVER_VERSION_KEY], "2.14.0");
    assert_eq!(md[SERVER_LEVEL_KEY], "4");
}

#[test]
fn duplicate_window_capped_by_max_age_and_limit() {
    let c = norm(json!({"name":"S","max_age":1_000_000_000})).unwrap();
    assert_eq!(c.duplicate_window, 1_000_000_000);
    let limits = ServerLimits {
        max_duplicate_window: 60_000_000_000,
        ..Default::default()
    };
    let c = normalize_stream_config(&StreamConfig::named("S"), &limits).unwrap();
    assert_eq!(c.duplicate_window, 60_000_000_000);
    let mut big = StreamConfig::named("S");
    big.duplicate_window = 90_000_000_000;
    assert_eq!(
        normalize_stream_config(&big, &limits)
            .unwrap_err()
            .to_string(),
        "duplicates window can not be larger then server limit of 1m0s"
    );
    // Mirrors and sourcing streams get no default window.
    let c = norm(json!({"name":"M","mirror":{"name":"O"}})).unwrap();
    assert_eq!(c.duplicate_window, 0);
    assert!(c.subjects.is_empty());
}

#[test]
fn name_rules() {
    for name in ["", "a.b", "a*", "a>", "a b", "a\tb", "a/b", "a\\b"] {
        let e = norm(json!({ "name": name })).unwrap_err();
        assert_eq!(e.err_code(), 10052, "{name:?}");
    }
    let long = "x".repeat(256);
    assert_eq!(
        err(json!({ "name": long })),
        "stream name is too long, maximum allowed is 255"
    );
    assert!(norm(json!({ "name": "x".repeat(255) })).is_ok());
    let s = StreamConfig::named("S");
    assert_eq!(
        check_request_stream_name("T", &s),
        Err(JsError::StreamMismatch)
    );
    let s = StreamConfig::named("a/b");
    assert_eq!(
        check_request_stream_name("a/b", &s),
        Err(JsError::StreamNameContainsPathSeparators)
    );
}

#[test]
fn subject_rules() {
    assert_eq!(
        err(json!({"name":"S","subjects":["a..b"]})),
        "invalid subject"
    );
    // 2.14 compares each subject with the ones after it before it records
    // it, so a literal duplicate is reported as an overlap.
    assert_eq!(
        err(json!({"name":"S","subjects":["x","x"]})),
        r#"subject "x" overlaps with "x""#
    );
    assert_eq!(
        err(json!({"name":"S","subjects":["x.*","x.y"]})),
        r#"subject "x.*" overlaps with "x.y""#
    );
    assert_eq!(
        err(json!({"name":"S","subjects":["$JS.API.>"]})),
        "subjects that overlap with jetstream api require no-ack to be true"
    );
    assert!(norm(json!({"name":"S","subjects":["$JS.EVENT.>"]})).is_ok());
    assert!(norm(json!({"name":"S","subjects":["$JS.API.>"],"no_ack":true})).is_ok());
    assert_eq!(
        err(json!({"name":"S","subjects":["$SYS.>"]})),
        "subjects that overlap with system api require no-ack to be true"
    );
    assert_eq!(
        err(json!({"name":"S","subjects":[">"]})),
        "capturing all subjects requires no-ack to be true"
    );
    assert_eq!(
        norm(json!({"name":"M","mirror":{"name":"O"},"subjects":["m"]})),
        Err(JsError::MirrorWithSubjects)
    );
}

#[test]
fn combination_rules() {
    assert_eq!(
        err(json!({"name":"S","discard_new_per_subject":true})),
        "discard new per subject requires discard new policy to be set"
    );
    assert_eq!(
        err(json!({"name":"S","discard_new_per_subject":true,"discard":"new"})),
        "discard new per subject requires max msgs per subject > 0"
    );
    assert_eq!(
        err(json!({"name":"S","deny_purge":true,"allow_rollup_hdrs":true})),
        "roll-ups require the purge permission"
    );
    assert_eq!(
        err(json!({"name":"S","max_age":1000})),
        "max age needs to be >= 100ms"
    );
    assert_eq!(
        err(json!({"name":"S","max_age":-5})),
        "max age can not be negative"
    );
    assert_eq!(
        err(json!({"name":"S","duplicate_window":50})),
        "duplicates window needs to be >= 100ms"
    );
    assert_eq!(
        err(json!({"name":"S","max_age":60_000_000_000u64,"duplicate_window":120_000_000_000u64})),
        "duplicates window can not be larger then max age"
    );
    assert_eq!(
        norm(json!({"name":"S","num_replicas":-1})),
        Err(JsError::ReplicasCountCannotBeNegative)
    );
    assert_eq!(
        err(json!({"name":"S","num_replicas":6})),
        "maximum replicas is 5"
    );
    assert_eq!(
        err(json!({"name":"S","allow_msg_counter":true,"allow_msg_ttl":true})),
        "counter stream cannot use message TTLs"
    );
    assert_eq!(
        err(json!({"name":"S","persist_mode":"async","storage":"memory"})),
        "async persist mode is only supported on file storage"
    );
    assert_eq!(
        err(json!({"name":"S","subject_delete_marker_ttl":5})),
        "subject delete marker TTL must be at least 1 second"
    );
    assert_eq!(
        norm(json!({"name":"S","sources":[{"name":"A"},{"name":"A"}]})),
        Err(JsError::SourceDuplicateDetected)
    );
    assert_eq!(
        norm(
            json!({"name":"S","sources":[{"name":"A","external":{"api":"$JS.API","deliver":""}}]})
        ),
        Err(JsError::StreamExternalApiOverlap {
            prefix: "$JS.API".into(),
            subject: "$JS.API".into()
        })
    );
}

#[test]
fn ttl_markers_enable_ttl_and_rollups() {
    let c = norm(json!({"name":"S","subject_delete_marker_ttl":1_000_000_000,"deny_purge":true}))
        .unwrap();
    assert!(c.allow_msg_ttl && c.allow_rollup_hdrs && !c.deny_purge);
    assert_eq!(c.metadata.unwrap()[REQUIRED_LEVEL_KEY], "1");
}

#[test]
fn republish_rules() {
    let c = norm(json!({"name":"S","subjects":["s.>"],"republish":{"dest":"r.>"}})).unwrap();
    assert_eq!(c.republish.unwrap().src, ">");
    assert_eq!(
        err(json!({"name":"S","subjects":["s7"],"republish":{"src":"s7","dest":"s7"}})),
        "stream configuration for republish destination forms a cycle"
    );
    assert_eq!(
        err(json!({"name":"S","subjects":["s7.>"],"republish":{"src":"s7.>","dest":"r.*"}})),
        "stream configuration for republish with transform from 's7.>' to 'r.*' not valid"
    );
}

#[test]
fn create_only_rules() {
    let limits = ServerLimits::default();
    let mut c = StreamConfig::named("S");
    c.sealed = true;
    assert_eq!(
        prepare_stream_create(&c, &limits).unwrap_err().to_string(),
        "stream configuration for create can not be sealed"
    );
    let mut c = StreamConfig::named("S");
    c.num_replicas = 3;
    assert_eq!(
        prepare_stream_create(&c, &limits),
        Err(JsError::StreamReplicasNotSupported)
    );
}

#[test]
fn account_byte_limits() {
    let mut limits = ServerLimits::default();
    limits.account.max_bytes_required = true;
    let c = StreamConfig::named("S");
    assert_eq!(
        normalize_stream_config(&c, &limits),
        Err(JsError::StreamMaxBytesRequired)
    );
    limits.account.max_bytes_required = false;
    limits.account.storage_max_stream_bytes = 100;
    let mut c = StreamConfig::named("S");
    c.max_bytes = 1000;
    assert_eq!(
        normalize_stream_config(&c, &limits),
        Err(JsError::StreamMaxStreamBytesExceeded)
    );
}

#[test]
fn cross_stream_overlap() {
    let a = vec!["a.>".to_string(), "b".to_string()];
    assert!(subjects_overlap(&a, &["a.b".to_string()]));
    assert!(subjects_overlap(&a, &[">".to_string()]));
    assert!(!subjects_overlap(&a, &["c".to_string(), "a".to_string()]));
}

#[test]
fn go_json_escaping() {
    let out = to_go_json(&json!({"s":"a.>&<\u{2028}"}));
    assert_eq!(out, br#"{"s":"a.\u003e\u0026\u003c\u2028"}"#.to_vec());
    let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(back["s"], "a.>&<\u{2028}");
}

fn arb_config() -> impl Strategy<Value = StreamConfig> {
    let name = prop_oneof![Just("S".to_string()), "[A-Za-z0-9_.*> /-]{0,8}"];
    let subject = prop_oneof![
        Just("a".to_string()),
        Just("a.*".to_string()),
        Just("a.>".to_string()),
        Just(">".to_string()),
        Just("$JS.API.x".to_string()),
        "[a-c.*>]{0,5}",
    ];
    let nums = (
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i32>(),
        prop_oneof![Just(0i64), any::<i64>(), 0i64..300_000_000_000],
        prop_oneof![Just(0i64), any::<i64>(), 0i64..300_000_000_000],
        -2i64..7,
        prop_oneof![Just(0i64), any::<i64>()],
    );
    let flags = proptest::collection::vec(any::<bool>(), 16);
    (
        name,
        proptest::collection::vec(subject, 0..4),
        nums,
        flags,
        any::<bool>(),
    )
        .prop_map(|(name, subjects, n, f, mirror)| {
            let mut c = StreamConfig::named(name);
            c.subjects = subjects;
            c.max_msgs = n.0;
            c.max_bytes = n.1;
            c.max_msgs_per_subject = n.2;
            c.max_msg_size = n.3;
            c.max_age = n.4;
            c.duplicate_window = n.5;
            c.num_replicas = n.6;
            c.subject_delete_marker_ttl = n.7;
            c.discard = if f[0] {
                DiscardPolicy::New
            } else {
                DiscardPolicy::Old
            };
            c.discard_new_per_subject = f[1];
            c.deny_purge = f[2];
            c.allow_rollup_hdrs = f[3];
            c.allow_msg_ttl = f[4];
            c.allow_msg_counter = f[5];
            c.allow_msg_schedules = f[6];
            c.no_ack = f[7];
            c.sealed = f[8];
            c.storage = if f[9] {
                StorageType::Memory
            } else {
                StorageType::File
            };
            c.persist_mode = if f[10] {
                PersistMode::Async
            } else {
                PersistMode::Default
            };
            c.allow_atomic = f[11];
            c.allow_batched = f[12];
            if f[13] {
                c.republish = Some(RePublish {
                    src: String::new(),
                    dest: "r.>".into(),
                    headers_only: f[14],
                });
            }
            if f[15] {
                c.placement = Some(Placement::default());
            }
            if mirror {
                c.mirror = Some(StreamSource {
                    name: "O".into(),
                    ..Default::default()
                });
            }
            c
        })
}

proptest! {
    #[test]
    fn normalize_is_idempotent_and_total(cfg in arb_config()) {
        let limits = ServerLimits::default();
        if let Ok(once) = normalize_stream_config(&cfg, &limits) {
            let twice = normalize_stream_config(&once, &limits);
            prop_assert_eq!(twice.as_ref(), Ok(&once));
            // The result serializes and parses back to itself.
            let json = to_go_json(&once);
            let back: StreamConfig = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(back, once);
        }
    }

    #[test]
    fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = decode_request::<StreamConfig>(&body, true);
        if let Err(e) = r {
            prop_assert_eq!(e.err_code(), 10025);
        }
    }

    #[test]
    fn update_to_itself_is_allowed(cfg in arb_config()) {
        let limits = ServerLimits { clustered: true, ..Default::default() };
        if let Ok(n) = normalize_stream_config(&cfg, &limits) {
            prop_assert_eq!(check_stream_update(&n, &n), Ok(()));
        }
    }
}
