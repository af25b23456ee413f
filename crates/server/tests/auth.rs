//! Authentication methods and subject permissions, through raw sockets (exact `-ERR` strings
//! and connection fates) and through async-nats. Differential: with
//! `WEIR_TEST_TARGET=nats-server` the same tests run against Debian's nats-server 2.9.10.
//!
//! | situation | client sees | connection |
//! |---|---|---|
//! | users list, right password (plain or bcrypt) | `PONG` | open |
//! | unknown user, wrong password, no credentials | `-ERR 'Authorization Violation'` | closed |
//! | nkey user: INFO has `nonce`; right signature | `PONG` | open |
//! | nkey: signature of another nonce, unknown key | `-ERR 'Authorization Violation'` | closed |
//! | `no_auth_user`, CONNECT without credentials | that user's permissions apply | open |
//! | PUB to a denied subject | `-ERR 'Permissions Violation for Publish to "s"'`, nothing routed | open |
//! | SUB to a denied subject | `-ERR 'Permissions Violation for Subscription to "s"'` | open |
//! | SUB in a denied queue | `... to "s" using queue "q"'` | open |
//! | allowed wildcard SUB, denied literal inside it | denied subject is not delivered | open |
//! | `allow_responses` | may answer a request it received, once; nothing else | open |
//! | JetStream API request without permission | `-ERR` Permissions Violation, no API reply | open |

mod common;

use std::time::Duration;

use base64::Engine;
use common::{test_options, RawConn, ServerOp, TestServer};
use futures::StreamExt;
use weir_server::{
    Authorization, Options, PermissionsConfig, ResponsesConfig, SubjectRules, UserConfig,
};

fn user(name: &str, password: &str, permissions: Option<PermissionsConfig>) -> UserConfig {
    UserConfig {
        user: Some(name.into()),
        password: Some(password.into()),
        permissions,
        ..UserConfig::default()
    }
}

fn allow(subjects: &[&str]) -> Option<SubjectRules> {
    Some(SubjectRules {
        allow: Some(subjects.iter().map(|s| s.to_string()).collect()),
        deny: vec![],
    })
}

fn deny(subjects: &[&str]) -> Option<SubjectRules> {
    Some(SubjectRules {
        allow: None,
        deny: subjects.iter().map(|s| s.to_string()).collect(),
    })
}

async fn server_with_users(users: Vec<UserConfig>) -> TestServer {
    let mut opts = test_options();
    opts.authorization = Authorization {
        users,
        ..Authorization::default()
    };
    TestServer::start(opts).await
}

async fn connect_as(s: &TestServer, user: &str, pass: &str) -> RawConn {
    Box::pin(connect_as_inner(s, user, pass)).await
}

/// Boxed by `connect_as`: inlined, this future's state overflows a 2 MiB test thread's stack
/// in debug builds when a test awaits it several times.
async fn connect_as_inner(s: &TestServer, user: &str, pass: &str) -> RawConn {
    let mut c = RawConn::connect(s.addr()).await;
    c.send(
        format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\nPING\r\n"
        )
        .as_bytes(),
    )
    .await;
    c.expect_line_eq("PONG").await;
    c
}

async fn expect_violation(s: &TestServer, connect_json: &str) {
    let mut c = RawConn::connect(s.addr()).await;
    c.send(format!("CONNECT {connect_json}\r\nPING\r\n").as_bytes())
        .await;
    c.expect_line_then_closed("-ERR 'Authorization Violation'")
        .await;
}

/// `$2a$` as nats-server's `nats server passwd` writes it; a low cost keeps the test fast.
fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash_with_result(password, 4)
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoA)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_plain_and_bcrypt_passwords() {
    let s = server_with_users(vec![
        user("alice", "pw", None),
        user("bob", &bcrypt_hash("s3cret"), None),
    ])
    .await;
    let info = RawConn::connect(s.addr()).await.info.expect("INFO");
    assert_eq!(info["auth_required"], true);
    connect_as(&s, "alice", "pw").await.expect_open().await;
    connect_as(&s, "bob", "s3cret").await.expect_open().await;
    expect_violation(&s, r#"{"verbose":false,"user":"bob","pass":"wrong"}"#).await;
    expect_violation(&s, r#"{"verbose":false,"user":"carol","pass":"pw"}"#).await;
    expect_violation(&s, r#"{"verbose":false}"#).await;

    // The official client: the right password works, a wrong one is an authorization error.
    let client = async_nats::ConnectOptions::with_user_and_password("bob".into(), "s3cret".into())
        .connect(s.url())
        .await
        .expect("bob connects");
    client.flush().await.expect("flush");
    let refused = async_nats::ConnectOptions::with_user_and_password("bob".into(), "x".into())
        .connect(s.url());
    let refused = tokio::time::timeout(Duration::from_secs(5), refused)
        .await
        .expect("the refusal arrives in time");
    let err = refused.expect_err("a wrong password must not connect");
    assert_eq!(
        err.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nkey_users_sign_the_nonce() {
    let key = nkeys::KeyPair::new_user();
    let seed = key.seed().expect("seed");
    let s = server_with_users(vec![UserConfig {
        nkey: Some(key.public_key()),
        ..UserConfig::default()
    }])
    .await;

    let mut c = RawConn::connect(s.addr()).await;
    let nonce = c.info.as_ref().expect("INFO")["nonce"]
        .as_str()
        .expect("INFO carries a nonce when nkey users exist")
        .to_string();
    let sign = |kp: &nkeys::KeyPair, nonce: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(kp.sign(nonce.as_bytes()).expect("sign"))
    };
    let connect = format!(
        "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{}\"}}\r\nPING\r\n",
        key.public_key(),
        sign(&key, &nonce)
    );
    c.send(connect.as_bytes()).await;
    c.expect_line_eq("PONG").await;

    // A signature of some other nonce (a replay) is refused, and so is an unknown key.
    let replay = format!(
        r#"{{"verbose":false,"nkey":"{}","sig":"{}"}}"#,
        key.public_key(),
        sign(&key, "not-this-connections-nonce")
    );
    expect_violation(&s, &replay).await;
    let stranger = nkeys::KeyPair::new_user();
    let unknown = format!(
        r#"{{"verbose":false,"nkey":"{}","sig":"{}"}}"#,
        stranger.public_key(),
        sign(&stranger, &nonce)
    );
    expect_violation(&s, &unknown).await;

    let client = async_nats::ConnectOptions::with_nkey(seed)
        .connect(s.url())
        .await
        .expect("nkey client connects");
    let mut sub = client.subscribe("nk").await.expect("subscribe");
    client.publish("nk", "hi".into()).await.expect("publish");
    let msg = tokio::time::timeout(Duration::from_secs(2), sub.next()).await;
    assert_eq!(msg.expect("delivered").expect("message").payload, "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_user_applies_its_permissions() {
    let mut opts = test_options();
    opts.authorization = Authorization {
        users: vec![
            user(
                "guest",
                "g",
                Some(PermissionsConfig {
                    publish: allow(&["public.>"]),
                    ..Default::default()
                }),
            ),
            user("admin", "a", None),
        ],
        ..Authorization::default()
    };
    opts.no_auth_user = Some("guest".into());
    let s = TestServer::start(opts).await;
    let mut c = RawConn::connect(s.addr()).await;
    // Credentials are optional, so INFO does not ask for them.
    assert_ne!(c.info.as_ref().expect("INFO")["auth_required"], true);
    c.send(b"CONNECT {\"verbose\":false}\r\nPUB public.x 1\r\na\r\nPUB private 1\r\nb\r\nPING\r\n")
        .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Publish to \"private\"'")
        .await;
    c.expect_line_eq("PONG").await;
    // Credentials given are checked, not replaced by the no-auth user.
    expect_violation(&s, r#"{"verbose":false,"user":"admin","pass":"wrong"}"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_permissions_refuse_and_keep_the_connection() {
    let perms = PermissionsConfig {
        publish: Some(SubjectRules {
            allow: Some(vec!["data.>".into(), "_INBOX.>".into()]),
            deny: vec!["data.secret.>".into()],
        }),
        ..Default::default()
    };
    let s = server_with_users(vec![
        user("pub", "p", Some(perms)),
        user("watch", "w", None),
    ])
    .await;
    let mut watcher = connect_as(&s, "watch", "w").await;
    watcher.send(b"SUB > 1\r\nPING\r\n").await;
    watcher.expect_line_eq("PONG").await;

    let mut c = connect_as(&s, "pub", "p").await;
    c.send(b"PUB data.secret.x 1\r\nx\r\nPUB other 1\r\ny\r\nPUB data.ok 2\r\nok\r\nPING\r\n")
        .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Publish to \"data.secret.x\"'")
        .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Publish to \"other\"'")
        .await;
    c.expect_line_eq("PONG").await;
    match watcher.next_op().await {
        ServerOp::Msg {
            subject, payload, ..
        } => {
            assert_eq!(subject, "data.ok", "denied publishes were not routed");
            assert_eq!(payload, b"ok");
        }
        other => panic!("expected the allowed message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_permissions_subjects_and_queues() {
    let perms = PermissionsConfig {
        subscribe: Some(SubjectRules {
            allow: Some(vec!["orders.>".into(), "jobs.* workers".into()]),
            deny: vec!["orders.secret".into(), "orders.admin.>".into()],
        }),
        ..Default::default()
    };
    let s = server_with_users(vec![user("sub", "s", Some(perms)), user("pub", "p", None)]).await;
    let mut c = connect_as(&s, "sub", "s").await;
    c.send(b"SUB other 1\r\nSUB jobs.a others 2\r\nSUB orders.admin.* 3\r\nSUB jobs.a workers 4\r\nSUB orders.* 5\r\nPING\r\n")
        .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Subscription to \"other\"'")
        .await;
    c.expect_line_eq(
        "-ERR 'Permissions Violation for Subscription to \"jobs.a\" using queue \"others\"'",
    )
    .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Subscription to \"orders.admin.*\"'")
        .await;
    c.expect_line_eq("PONG").await;

    // orders.* was allowed; orders.secret inside it is still not delivered.
    let mut p = connect_as(&s, "pub", "p").await;
    p.send(b"PUB orders.secret 1\r\ns\r\nPUB orders.new 1\r\nn\r\nPUB jobs.a 1\r\nj\r\nPING\r\n")
        .await;
    p.expect_line_eq("PONG").await;
    let mut got = Vec::new();
    for _ in 0..2 {
        match c.next_op().await {
            ServerOp::Msg { subject, sid, .. } => got.push((subject, sid)),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("jobs.a".to_string(), "4".to_string()),
            ("orders.new".to_string(), "5".to_string())
        ]
    );
    c.send(b"PING\r\n").await;
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_responses_lets_a_service_answer_once() {
    let service = PermissionsConfig {
        subscribe: allow(&["svc"]),
        allow_responses: Some(ResponsesConfig {
            max: 1,
            expires: Duration::from_secs(60),
        }),
        ..Default::default()
    };
    let s = server_with_users(vec![
        user("svc", "s", Some(service)),
        user("cli", "c", None),
    ])
    .await;
    let mut svc = connect_as(&s, "svc", "s").await;
    svc.send(b"SUB svc 1\r\nPUB elsewhere 1\r\nx\r\nPING\r\n")
        .await;
    svc.expect_line_eq("-ERR 'Permissions Violation for Publish to \"elsewhere\"'")
        .await;
    svc.expect_line_eq("PONG").await;

    let mut cli = connect_as(&s, "cli", "c").await;
    cli.send(b"SUB reply.1 9\r\nPUB svc reply.1 3\r\nreq\r\nPING\r\n")
        .await;
    cli.expect_line_eq("PONG").await;
    match svc.next_op().await {
        ServerOp::Msg { reply, .. } => assert_eq!(reply.as_deref(), Some("reply.1")),
        other => panic!("expected the request, got {other:?}"),
    }
    svc.send(b"PUB reply.1 3\r\nyes\r\nPUB reply.1 4\r\nmore\r\nPING\r\n")
        .await;
    svc.expect_line_eq("-ERR 'Permissions Violation for Publish to \"reply.1\"'")
        .await;
    svc.expect_line_eq("PONG").await;
    match cli.next_op().await {
        ServerOp::Msg { payload, .. } => assert_eq!(payload, b"yes"),
        other => panic!("expected the response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_api_without_permission_gets_no_answer() {
    let mut opts = test_options();
    opts.jetstream = true;
    let dir = tempdir();
    opts.store_dir = Some(dir.clone());
    opts.authorization = Authorization {
        users: vec![
            user(
                "app",
                "a",
                Some(PermissionsConfig {
                    publish: deny(&["$JS.API.>"]),
                    ..Default::default()
                }),
            ),
            user("admin", "x", None),
        ],
        ..Authorization::default()
    };
    let s = TestServer::start(opts).await;
    let mut c = connect_as(&s, "app", "a").await;
    c.send(b"SUB _INBOX.r 1\r\nPUB $JS.API.INFO _INBOX.r 0\r\n\r\nPING\r\n")
        .await;
    c.expect_line_eq("-ERR 'Permissions Violation for Publish to \"$JS.API.INFO\"'")
        .await;
    c.expect_line_eq("PONG").await;
    c.send(b"PING\r\n").await;
    c.expect_line_eq("PONG").await;

    // The same request from a user without restrictions is answered.
    let mut admin = connect_as(&s, "admin", "x").await;
    admin
        .send(b"SUB _INBOX.r 1\r\nPUB $JS.API.INFO _INBOX.r 0\r\n\r\n")
        .await;
    match admin.next_op().await {
        ServerOp::Msg {
            subject, payload, ..
        } => {
            assert_eq!(subject, "_INBOX.r");
            assert!(String::from_utf8_lossy(&payload)
                .contains("io.nats.jetstream.api.v1.account_info_response"));
        }
        other => panic!("expected the API reply, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-auth-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Options reused by the reload tests.
fn reload_base() -> Options {
    let mut opts = test_options();
    opts.authorization = Authorization {
        users: vec![user("alice", "pw", None), user("bob", "pw", None)],
        ..Authorization::default()
    };
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_closes_removed_users_and_applies_new_permissions() {
    let mut s = TestServer::start(reload_base()).await;
    let mut alice = connect_as(&s, "alice", "pw").await;
    alice
        .send(b"SUB orders.> 1\r\nSUB secret 2\r\nPING\r\n")
        .await;
    alice.expect_line_eq("PONG").await;
    let mut bob = connect_as(&s, "bob", "pw").await;

    let mut next = reload_base();
    next.authorization.users = vec![user(
        "alice",
        "pw",
        Some(PermissionsConfig {
            publish: allow(&["orders.>"]),
            subscribe: allow(&["orders.>"]),
            ..Default::default()
        }),
    )];
    s.reload(next).await;

    // bob is gone from the users list: closed, without a word (as nats-server does).
    let (said, _) = bob.expect_closed_within(Duration::from_secs(2)).await;
    assert!(said.is_empty(), "{}", String::from_utf8_lossy(&said));
    // alice stays, under her new permissions: the refused subscription is removed.
    alice.send(b"PUB other 1\r\nx\r\nPING\r\n").await;
    let mut lines = Vec::new();
    loop {
        let line = alice.expect_line().await;
        let done = line == "PONG";
        lines.push(line);
        if done {
            break;
        }
    }
    assert_eq!(
        lines,
        [
            "-ERR 'Permissions Violation for Subscription to \"secret\" (sid \"2\")'",
            "-ERR 'Permissions Violation for Publish to \"other\"'",
            "PONG"
        ]
    );
    connect_as(&s, "alice", "pw").await.expect_open().await;
    expect_violation(&s, r#"{"verbose":false,"user":"bob","pass":"pw"}"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connz_names_the_authorized_user_only_when_asked() {
    let mut opts = test_options();
    opts.http_port = Some(0);
    opts.authorization = Authorization {
        users: vec![user("alice", "pw", None), user("bob", "pw", None)],
        ..Authorization::default()
    };
    let s = TestServer::start(opts).await;
    let _alice = connect_as(&s, "alice", "pw").await;
    let _bob = connect_as(&s, "bob", "pw").await;
    let base = s.monitor_url();

    let (_, plain) = common::http_json(&format!("{base}/connz")).await;
    let conns = plain["connections"].as_array().expect("connections");
    assert_eq!(conns.len(), 2);
    assert!(
        conns.iter().all(|c| c.get("authorized_user").is_none()),
        "{plain}"
    );

    let (_, with_auth) = common::http_json(&format!("{base}/connz?auth=true")).await;
    let mut users: Vec<&str> = with_auth["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| c["authorized_user"].as_str().expect("authorized_user"))
        .collect();
    users.sort();
    assert_eq!(users, ["alice", "bob"]);
    // Passwords never show.
    assert!(!with_auth.to_string().contains("\"pw\""), "{with_auth}");

    let (_, only_bob) = common::http_json(&format!("{base}/connz?user=bob")).await;
    assert_eq!(only_bob["num_connections"], 1, "{only_bob}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_subscriptions_refuses_the_extra_sub_and_keeps_the_connection() {
    let mut opts = test_options();
    opts.max_subscriptions = 2;
    let s = TestServer::start(opts).await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\nPUB a 1\r\nx\r\nPUB c 1\r\ny\r\nPING\r\n")
        .await;
    c.expect_line_eq("-ERR 'maximum subscriptions exceeded'")
        .await;
    c.expect_line_eq("PONG").await;
    match c.next_op().await {
        ServerOp::Msg { subject, .. } => assert_eq!(subject, "a", "c was never subscribed"),
        other => panic!("expected MSG a, got {other:?}"),
    }
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_that_turns_authorization_on_closes_anonymous_clients() {
    let mut s = TestServer::start(test_options()).await;
    let mut anonymous = RawConn::connect(s.addr()).await;
    anonymous
        .send(b"CONNECT {\"verbose\":false}\r\nSUB > 1\r\nPING\r\n")
        .await;
    anonymous.expect_line_eq("PONG").await;
    s.reload(reload_base()).await;
    // Its subscriptions were made without permissions: it must not keep them.
    let (_, closed) = anonymous.expect_closed_within(Duration::from_secs(2)).await;
    assert!(matches!(
        closed,
        common::Closed::Eof | common::Closed::Reset
    ));
    connect_as(&s, "alice", "pw").await.expect_open().await;
}
