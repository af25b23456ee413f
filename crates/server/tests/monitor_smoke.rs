//! The monitoring listener answers on both targets (the harness's HTTP helpers work).

mod common;

use common::{http_json, test_options, TestServer};

#[tokio::test]
async fn varz_answers_with_the_server_id_on_both_targets() {
    let mut opts = test_options();
    opts.http_port = Some(0);
    let server = TestServer::start(opts).await;
    let (status, varz) = http_json(&format!("{}/varz", server.monitor_url())).await;
    assert_eq!(status, 200);
    assert!(
        varz["server_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{varz}"
    );
    assert_eq!(varz["port"], server.addr().port());
}
