//! The connection flags every command shares: --user/--password, --token and --creds (and
//! their NATS_* environment variables), against a weir-server that requires them; and the
//! messages a person gets when they are missing, incomplete or the server is down.

mod common;

use common::{temp_dir, Server};

fn server_requiring(user: Option<(&str, &str)>, token: Option<&str>) -> Server {
    Server::in_process_with(true, temp_dir("auth"), |opts| {
        opts.authorization.user = user.map(|(u, _)| u.to_string());
        opts.authorization.password = user.map(|(_, p)| p.to_string());
        opts.authorization.token = token.map(str::to_string);
    })
}

#[test]
fn user_and_password_flags_and_environment_authenticate() {
    let server = server_requiring(Some(("app", "s3cret")), None);
    let err = server.fails(&["account", "info"]);
    assert!(err.contains("--user and --password"), "{err}");
    let info = server.json(&["--user", "app", "--password", "s3cret", "account", "info"]);
    assert!(info.get("limits").is_some(), "{info}");
    let out = server
        .command(&["stream", "ls", "--names"])
        .env("NATS_USER", "app")
        .env("NATS_PASSWORD", "s3cret")
        .output()
        .expect("run weir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = server.fails(&["--user", "app", "--password", "wrong", "account", "info"]);
    assert!(err.contains("cannot connect"), "{err}");
    let err = server.fails(&["--user", "app", "account", "info"]);
    assert!(err.contains("--user needs --password"), "{err}");
}

#[test]
fn token_and_credentials_file_flags() {
    let server = server_requiring(None, Some("t0ken"));
    let info = server.json(&["--token", "t0ken", "account", "info"]);
    assert!(info.get("limits").is_some(), "{info}");
    let err = server.fails(&["--creds", "/nonexistent/user.creds", "account", "info"]);
    assert!(
        err.contains("cannot read the credentials file /nonexistent/user.creds"),
        "{err}"
    );
    let dir = temp_dir("creds");
    let bogus = dir.join("bogus.creds");
    std::fs::write(&bogus, "not a creds file").expect("write");
    let err = server.fails(&["--creds", bogus.to_str().expect("utf-8"), "account", "info"]);
    assert!(err.contains("is not a credentials file"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_server_that_is_down_is_named_with_how_to_start_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    for args in [
        &["account", "info"][..],
        &["stream", "ls"][..],
        &["consumer", "ls", "ORDERS"][..],
        &["pub", "orders.x", "--wait", "x"][..],
    ] {
        let out = std::process::Command::new(common::WEIR)
            .args(["-s", &format!("nats://127.0.0.1:{port}"), "--timeout", "1s"])
            .args(args)
            .output()
            .expect("run weir");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains("connection refused"), "{args:?}: {err}");
        assert!(err.contains("weir-server -js"), "{args:?}: {err}");
    }
}
