//! A full configuration file parsed end to end. The expected values are those nats-server
//! 2.9.10 reported in /varz for the same file (see the header of the fixture).

use std::path::PathBuf;
use std::time::Duration;

use weir_conf::{ParseOptions, Value};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nats-server.conf")
}

#[test]
fn full_config_parses_end_to_end() {
    let path = fixture();
    let map = ParseOptions::new().without_env().parse_file(&path).unwrap();
    let get = |k: &str| map.get_ci(k).unwrap_or_else(|| panic!("missing {k}"));

    assert_eq!(get("listen").as_str().unwrap(), "127.0.0.1:4222");
    assert_eq!(get("server_name").as_str().unwrap(), "weir-east-1");
    assert_eq!(get("max_payload").as_size_bytes().unwrap(), 2 * 1024 * 1024);
    assert_eq!(
        get("max_pending").as_size_bytes().unwrap(),
        64 * 1024 * 1024
    );
    assert_eq!(get("max_connections").as_i64().unwrap(), 10_000);
    assert_eq!(get("max_control_line").as_size_bytes().unwrap(), 4096);
    assert_eq!(
        get("ping_interval").as_duration().unwrap(),
        Duration::from_secs(120)
    );
    assert_eq!(get("ping_max").as_i64().unwrap(), 3);
    assert_eq!(
        get("write_deadline").as_duration().unwrap(),
        Duration::from_secs(10)
    );
    assert_eq!(get("http_port").as_i64().unwrap(), 8222);
    assert!(!get("debug").as_bool().unwrap());
    assert!(!get("trace").as_bool().unwrap());
    assert!(get("logtime").as_bool().unwrap());
    assert_eq!(
        get("logfile").as_str().unwrap(),
        "/var/log/nats/nats-server.log"
    );

    let js = get("jetstream").as_map().unwrap();
    assert_eq!(
        js.get("store_dir").unwrap().as_str().unwrap(),
        "/var/lib/nats/jetstream"
    );
    assert_eq!(
        js.get("max_mem").unwrap().as_size_bytes().unwrap(),
        1_000_000_000
    );
    assert_eq!(
        js.get("max_file").unwrap().as_size_bytes().unwrap(),
        10 << 30
    );
    assert_eq!(
        js.get("sync_interval").unwrap().as_duration().unwrap(),
        Duration::from_secs(120)
    );

    let auth = get("authorization").as_map().unwrap();
    assert_eq!(auth.get("user").unwrap().as_str().unwrap(), "app");
    assert_eq!(
        auth.get("password").unwrap().as_str().unwrap(),
        "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.vIoYI6"
    );
    assert_eq!(auth.get("token").unwrap().as_str().unwrap(), "s3cr3t-t0ken");
    assert_eq!(auth.get("timeout").unwrap().value, Value::Float(2.5));
    // SECRET_TOKEN only exists to be a variable; a server should not call it unknown.
    assert!(map.get_entry("SECRET_TOKEN").unwrap().used_as_variable);

    // Positions point into the fixture.
    let max_mem = js.get("max_mem").unwrap();
    assert_eq!(max_mem.pos.file.as_deref(), Some(&path));
    assert_eq!((max_mem.pos.line, max_mem.pos.column), (29, 12));
    let keys: Vec<&str> = map.keys().collect();
    assert_eq!(keys.first(), Some(&"listen"));
    assert_eq!(keys.last(), Some(&"authorization"));
}
