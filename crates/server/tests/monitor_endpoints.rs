//! `/connz`, `/subsz`, `/accountz`, `/routez`, `/gatewayz` and `/leafz`: fields, values and
//! query parameters, checked the same way against Weir and the reference nats-server.

mod common;

use std::time::Duration;

use common::{http_get, http_json, test_options, within, RawConn, TestServer};
use futures::StreamExt;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

async fn monitored() -> TestServer {
    let mut opts = test_options();
    opts.http_port = Some(0);
    TestServer::start(opts).await
}

async fn client(server: &TestServer, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connect {name}: {e}"))
}

/// `GET /path?query`, which must answer 200 with JSON.
async fn get(server: &TestServer, path_and_query: &str) -> Value {
    let (status, body) = http_json(&format!("{}{path_and_query}", server.monitor_url())).await;
    assert_eq!(status, 200, "GET {path_and_query}: {body}");
    body
}

/// `GET /path?query`, which must answer 400 with exactly `message`.
async fn bad(server: &TestServer, path_and_query: &str, message: &str) {
    let (status, body) = http_get(&format!("{}{path_and_query}", server.monitor_url())).await;
    assert_eq!(status, 400, "GET {path_and_query}: {body}");
    assert_eq!(body.trim(), message, "GET {path_and_query}");
}

fn conns(connz: &Value) -> &Vec<Value> {
    connz["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("no connections array in {connz}"))
}

fn names(connz: &Value) -> Vec<&str> {
    conns(connz)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect()
}

fn by_name<'a>(connz: &'a Value, name: &str) -> &'a Value {
    conns(connz)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no connection named {name} in {connz}"))
}

async fn cid_of(server: &TestServer, name: &str) -> u64 {
    let connz = get(server, "/connz").await;
    by_name(&connz, name)["cid"].as_u64().expect("cid")
}

/// Nanoseconds since midnight of an RFC 3339 UTC time (the tests run well within a day;
/// across midnight the order checks would need the date too).
fn nanos_of_day(t: &Value) -> i128 {
    let t = t
        .as_str()
        .unwrap_or_else(|| panic!("time expected, got {t}"));
    let clock = t
        .split_once('T')
        .map_or(t, |(_, c)| c)
        .trim_end_matches('Z');
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let secs = hms
        .split(':')
        .map(|p| p.parse::<i128>().expect("clock field"))
        .fold(0, |acc, p| acc * 60 + p);
    let frac: i128 = format!("{frac:0<9}").parse().expect("fraction");
    secs * 1_000_000_000 + frac
}

async fn publish(client: &async_nats::Client, subject: &str, payload: &'static str, n: usize) {
    for _ in 0..n {
        client
            .publish(subject.to_string(), payload.into())
            .await
            .expect("publish");
    }
    client.flush().await.expect("flush");
}

async fn receive(sub: &mut async_nats::Subscriber, n: usize) {
    for _ in 0..n {
        within(WAIT, "a message", sub.next())
            .await
            .expect("subscription open");
    }
}

#[tokio::test]
async fn connz_reports_clients_counters_and_subscriptions() {
    let server = monitored().await;
    let alpha = client(&server, "alpha").await;
    let mut foo = alpha.subscribe("foo.*").await.expect("sub");
    let _bar = alpha
        .queue_subscribe("bar", "q".to_string())
        .await
        .expect("qsub");
    alpha.flush().await.expect("flush");
    let beta = client(&server, "beta").await;
    publish(&beta, "foo.x", "hello", 3).await;
    receive(&mut foo, 3).await;

    let connz = get(&server, "/connz").await;
    assert_eq!(connz["num_connections"], 2, "{connz}");
    assert_eq!(connz["total"], 2);
    assert_eq!(connz["offset"], 0);
    assert_eq!(connz["limit"], 1024);
    assert!(connz["server_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(connz["now"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(names(&connz), ["alpha", "beta"], "default order is by cid");

    let a = by_name(&connz, "alpha");
    assert_eq!(a["kind"], "Client");
    assert_eq!(a["type"], "nats");
    assert_eq!(a["ip"], "127.0.0.1");
    assert!(a["port"].as_u64().is_some_and(|p| p > 0), "{a}");
    assert_eq!(a["lang"], "rust");
    assert!(a["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(a["subscriptions"], 2);
    assert_eq!(a["out_msgs"], 3);
    assert_eq!(a["out_bytes"], 15);
    assert_eq!(a["in_msgs"], 0);
    assert_eq!(a["pending_bytes"], 0);
    for time in ["start", "last_activity"] {
        assert!(a[time].as_str().is_some_and(|t| t.ends_with('Z')), "{a}");
    }
    for duration in ["rtt", "uptime", "idle"] {
        assert!(
            a[duration].as_str().is_some_and(|d| d.ends_with('s')),
            "{a}"
        );
    }
    assert!(a.get("stop").is_none() && a.get("reason").is_none(), "{a}");
    assert!(a.get("subscriptions_list").is_none(), "{a}");

    let b = by_name(&connz, "beta");
    assert_eq!(b["in_msgs"], 3);
    assert_eq!(b["in_bytes"], 15);
    assert_eq!(b["out_msgs"], 0);
    assert_eq!(b["subscriptions"], 0);

    for subs in ["subs=1", "subs=true"] {
        let connz = get(&server, &format!("/connz?{subs}")).await;
        let mut list: Vec<&str> = by_name(&connz, "alpha")["subscriptions_list"]
            .as_array()
            .expect("subscriptions_list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        list.sort_unstable();
        assert_eq!(list, ["bar", "foo.*"]);
        assert!(by_name(&connz, "beta").get("subscriptions_list").is_none());
    }

    let connz = get(&server, "/connz?subs=detail").await;
    let a = by_name(&connz, "alpha");
    assert!(a.get("subscriptions_list").is_none(), "{a}");
    let detail = a["subscriptions_list_detail"]
        .as_array()
        .expect("subscriptions_list_detail");
    assert_eq!(detail.len(), 2, "{a}");
    let find = |subject: &str| {
        detail
            .iter()
            .find(|d| d["subject"] == subject)
            .unwrap_or_else(|| panic!("no {subject} in {a}"))
    };
    let (foo_detail, bar_detail) = (find("foo.*"), find("bar"));
    assert_eq!(foo_detail["msgs"], 3);
    assert_eq!(foo_detail["cid"], a["cid"]);
    assert!(foo_detail["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(foo_detail.get("qgroup").is_none());
    assert_eq!(bar_detail["qgroup"], "q");
    assert_eq!(bar_detail["msgs"], 0);
}

#[tokio::test]
async fn connz_sorts_and_pages() {
    let server = monitored().await;
    // Connected in order, then each subscribes and publishes in that order, so cids, start
    // and last activity all increase from c1 to c3.
    let c1 = client(&server, "c1").await;
    let c2 = client(&server, "c2").await;
    let c3 = client(&server, "c3").await;
    let mut keep = Vec::new();
    for (c, subs, msgs) in [(&c1, 1, 1), (&c2, 3, 5), (&c3, 2, 3)] {
        for i in 0..subs {
            keep.push(c.subscribe(format!("s.{i}")).await.expect("sub"));
        }
        publish(c, "nobody.listens", "abcd", msgs).await;
    }

    let order = |q: &'static str| {
        let server = &server;
        async move { names(&get(server, &format!("/connz?sort={q}")).await).join(",") }
    };
    assert_eq!(order("cid").await, "c1,c2,c3");
    assert_eq!(order("start").await, "c1,c2,c3");
    assert_eq!(order("subs").await, "c2,c3,c1");
    assert_eq!(order("msgs_from").await, "c2,c3,c1");
    assert_eq!(order("bytes_from").await, "c2,c3,c1");
    assert_eq!(order("uptime").await, "c3,c2,c1");
    // Last activity may move for all at once (client PINGs), so check the order of the
    // reported times rather than of names: `last` is newest first; `idle` (in nats-server
    // 2.9) is longest start-to-last-activity first.
    for sort in ["last", "idle"] {
        let connz = get(&server, &format!("/connz?sort={sort}")).await;
        let keys: Vec<i128> = conns(&connz)
            .iter()
            .map(|c| {
                let last = nanos_of_day(&c["last_activity"]);
                match sort {
                    "last" => last,
                    _ => last - nanos_of_day(&c["start"]),
                }
            })
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] >= w[1]),
            "sort={sort}: {connz}"
        );
    }
    let by_subs = get(&server, "/connz?sort=subs").await;
    let subs: Vec<u64> = conns(&by_subs)
        .iter()
        .filter_map(|c| c["subscriptions"].as_u64())
        .collect();
    assert_eq!(subs, [3, 2, 1]);

    let page = get(&server, "/connz?sort=subs&limit=1&offset=1").await;
    assert_eq!(names(&page), ["c3"]);
    assert_eq!(page["num_connections"], 1);
    assert_eq!(page["total"], 3);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["limit"], 1);

    let past = get(&server, "/connz?offset=10").await;
    assert_eq!(conns(&past).len(), 0);
    assert_eq!(past["num_connections"], 0);
    assert_eq!(past["total"], 3);

    // Out-of-range values fall back to the defaults; unknown parameters are ignored.
    let defaults = get(&server, "/connz?offset=-1&limit=0&whatever=1").await;
    assert_eq!(defaults["offset"], 0);
    assert_eq!(defaults["limit"], 1024);
    assert_eq!(names(&defaults), ["c1", "c2", "c3"]);
}

#[tokio::test]
async fn connz_filters_by_cid() {
    let server = monitored().await;
    let _alpha = client(&server, "alpha").await;
    let _beta = client(&server, "beta").await;
    let cid = cid_of(&server, "beta").await;

    let one = get(&server, &format!("/connz?cid={cid}")).await;
    assert_eq!(names(&one), ["beta"]);
    assert_eq!(one["num_connections"], 1);
    assert_eq!(one["limit"], 1);
    assert_eq!(one["total"], 2);

    let none = get(&server, "/connz?cid=999999").await;
    assert_eq!(conns(&none).len(), 0);
    assert_eq!(none["num_connections"], 0);
    // nats-server looks a cid up among closed connections only when `state` asks for them.
    let any = get(&server, &format!("/connz?cid={cid}&state=any")).await;
    assert_eq!(any["num_connections"], 0, "{any}");
}

#[tokio::test]
async fn connz_remembers_closed_connections() {
    let server = monitored().await;
    let _stay = client(&server, "stay").await;
    // A raw connection closes exactly when dropped, with its subscription still in place.
    let mut gone = RawConn::connect_with(
        server.addr(),
        r#"{"verbose":false,"name":"gone","lang":"raw","version":"1.2"}"#,
    )
    .await;
    gone.send(b"SUB z.1 7\r\nPUB nobody.listens 2\r\nab\r\nPUB nobody.listens 2\r\nab\r\nPING\r\n")
        .await;
    gone.expect_line_eq("PONG").await;
    let port = gone.local_addr().port();
    let cid = cid_of(&server, "gone").await;
    let open = get(&server, &format!("/connz?cid={cid}")).await;
    assert_eq!(by_name(&open, "gone")["port"], port);
    assert_eq!(by_name(&open, "gone")["lang"], "raw");
    assert_eq!(by_name(&open, "gone")["version"], "1.2");
    drop(gone);

    let closed = within(WAIT, "the closed connection in /connz", async {
        loop {
            let connz = get(&server, "/connz?state=closed&subs=1").await;
            if conns(&connz).iter().any(|c| c["cid"] == cid) {
                return connz;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // The reference also lists the harness's readiness probe (a connection without CONNECT).
    let closed_total = conns(&closed).len();
    assert_eq!(closed["total"], closed_total, "{closed}");
    let c = by_name(&closed, "gone");
    assert_eq!(c["reason"], "Client Closed");
    assert!(c["stop"].as_str().is_some_and(|t| t.ends_with('Z')), "{c}");
    assert_eq!(c["in_msgs"], 2);
    assert_eq!(c["in_bytes"], 4);
    assert_eq!(c["subscriptions_list"], serde_json::json!(["z.1"]));

    let detail = get(&server, "/connz?state=closed&subs=detail").await;
    let sub = &by_name(&detail, "gone")["subscriptions_list_detail"][0];
    assert_eq!(sub["subject"], "z.1");
    assert_eq!(sub["sid"], "7");
    assert_eq!(sub["cid"], cid);

    let open = get(&server, "/connz").await;
    assert_eq!(names(&open), ["stay"]);
    let any = get(&server, "/connz?state=any").await;
    assert_eq!(any["total"], closed_total + 1);
    let any_names = names(&any);
    assert!(
        any_names.contains(&"stay") && any_names.contains(&"gone"),
        "{any}"
    );
    let by_cid = get(&server, &format!("/connz?state=closed&cid={cid}")).await;
    assert_eq!(names(&by_cid), ["gone"]);
    for sort in ["stop", "reason"] {
        let sorted = get(&server, &format!("/connz?state=closed&sort={sort}")).await;
        assert!(names(&sorted).contains(&"gone"), "{sorted}");
    }
}

#[tokio::test]
async fn connz_rejects_bad_parameters_like_nats_server() {
    let server = monitored().await;
    let cases = [
        ("sort=foo", "invalid sorting option: foo"),
        ("sort=stop", "sort by stop only valid on closed connections"),
        (
            "sort=reason&state=open",
            "sort by reason only valid on closed connections",
        ),
        ("state=bar", "Error decoding state for bar"),
        (
            "limit=abc",
            "Error decoding int for 'limit': strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        (
            "offset=99999999999999999999",
            "Error decoding int for 'offset': strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
        (
            "cid=-1",
            "Error decoding uint64 for 'cid': strconv.ParseUint: parsing \"-1\": invalid syntax",
        ),
        (
            "subs=x",
            "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": invalid syntax",
        ),
        (
            "auth=maybe",
            "Error decoding boolean for 'auth': strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
    ];
    for (query, message) in cases {
        bad(&server, &format!("/connz?{query}"), message).await;
    }
}

#[tokio::test]
async fn subsz_reports_stats_and_filters_subscriptions() {
    let server = monitored().await;
    let alpha = client(&server, "alpha").await;
    let mut foo = alpha.subscribe("foo.*").await.expect("sub");
    let _bar = alpha
        .queue_subscribe("bar", "q".to_string())
        .await
        .expect("qsub");
    alpha.flush().await.expect("flush");
    publish(&alpha, "foo.x", "hi", 2).await;
    receive(&mut foo, 2).await;
    let cid = cid_of(&server, "alpha").await;

    let stats = get(&server, "/subsz").await;
    let num = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!(num(&stats, "num_subscriptions") >= 2, "{stats}");
    assert!(num(&stats, "num_inserts") >= num(&stats, "num_subscriptions"));
    for key in ["num_cache", "num_removes", "num_matches", "max_fanout"] {
        num(&stats, key);
    }
    for key in ["cache_hit_rate", "avg_fanout"] {
        assert!(stats[key].as_f64().is_some(), "{key} in {stats}");
    }
    assert!(stats.get("subscriptions_list").is_none() && stats.get("server_id").is_none());

    for path in ["/subsz", "/subscriptionsz"] {
        let found = get(&server, &format!("{path}?subs=1&test=foo.x")).await;
        assert_eq!(found["total"], 1, "{found}");
        assert_eq!(found["offset"], 0);
        assert_eq!(found["limit"], 1024);
        assert!(found["server_id"].as_str().is_some());
        let list = found["subscriptions_list"].as_array().expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["account"], "$G");
        assert_eq!(list[0]["subject"], "foo.*");
        assert_eq!(list[0]["msgs"], 2);
        assert_eq!(list[0]["cid"], cid);
        assert!(list[0].get("qgroup").is_none());
    }
    let queue = get(&server, "/subsz?subs=1&test=bar").await;
    assert_eq!(queue["subscriptions_list"][0]["qgroup"], "q", "{queue}");
    assert_eq!(queue["subscriptions_list"][0]["msgs"], 0);

    // An empty page answers with the statistics alone.
    for query in ["subs=1&test=foo.x&offset=1", "subs=1&test=no.match.here"] {
        let empty = get(&server, &format!("/subsz?{query}")).await;
        assert!(empty["num_subscriptions"].as_u64().is_some(), "{empty}");
        assert!(empty.get("total").is_none(), "{empty}");
        assert!(empty.get("subscriptions_list").is_none(), "{empty}");
    }

    bad(
        &server,
        "/subsz?subs=1&test=foo.*",
        "invalid test subject, must be valid publish subject: foo.*",
    )
    .await;
    bad(
        &server,
        "/subsz?subs=detail",
        "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"detail\": invalid syntax",
    )
    .await;
}

#[tokio::test]
async fn accountz_lists_and_details_the_global_account() {
    let server = monitored().await;
    let alpha = client(&server, "alpha").await;
    let _sub = alpha.subscribe("acc.test").await.expect("sub");
    alpha.flush().await.expect("flush");

    let list = get(&server, "/accountz").await;
    assert!(list["server_id"].as_str().is_some());
    let accounts = list["accounts"].as_array().expect("accounts");
    assert!(accounts.iter().any(|a| a == "$G"), "{list}");

    let detail = get(&server, "/accountz?acc=$G").await;
    assert!(detail.get("accounts").is_none(), "{detail}");
    let d = &detail["account_detail"];
    assert_eq!(d["account_name"], "$G");
    assert_eq!(d["expired"], false);
    assert_eq!(d["complete"], true);
    assert_eq!(d["jetstream_enabled"], false);
    assert_eq!(d["leafnode_connections"], 0);
    assert_eq!(d["client_connections"], 1);
    assert!(d["update_time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(d.get("decoded_jwt").is_none());
    let subs = d["sublist_stats"]["num_subscriptions"]
        .as_u64()
        .expect("stats");
    assert!(subs >= 1, "{d}");
    assert_eq!(d["subscriptions"], subs);

    bad(&server, "/accountz?acc=nope", "Account nope does not exist").await;
}

#[tokio::test]
async fn routez_gatewayz_and_leafz_are_empty() {
    let server = monitored().await;
    let routez = get(&server, "/routez").await;
    assert_eq!(routez["num_routes"], 0);
    assert_eq!(routez["routes"], serde_json::json!([]));
    let gatewayz = get(&server, "/gatewayz").await;
    assert_eq!(gatewayz["outbound_gateways"], serde_json::json!({}));
    assert_eq!(gatewayz["inbound_gateways"], serde_json::json!({}));
    assert!(gatewayz.get("name").is_none(), "{gatewayz}");
    let leafz = get(&server, "/leafz").await;
    assert_eq!(leafz["leafnodes"], 0);
    assert_eq!(leafz["leafs"], Value::Null);
    for body in [&routez, &gatewayz, &leafz] {
        assert!(body["server_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(body["now"].as_str().is_some_and(|s| s.ends_with('Z')));
    }
}
