//! `weir account info`: the connection, then JetStream usage against the account's limits.

use serde_json::Value;

use super::api::Api;
use super::render::{limit_bytes, limit_count};
use crate::connect::Global;
use crate::error::Result;
use crate::output::{commas, emit, human_bytes, kv_table, print_json};

pub async fn info(global: &Global) -> Result<()> {
    let api = Api::connect(global, "weir-account-info").await?;
    let info = api.call("INFO", "").await?;
    if global.json {
        return print_json(&info);
    }
    let server = api.client.server_info();
    let mut out = String::from("Connection Information:\n\n");
    out.push_str(&kv_table(&[
        ("Client ID", server.client_id.to_string()),
        ("Client IP", server.client_ip.clone()),
        ("Headers Supported", yes_no(server.headers)),
        ("Maximum Payload", human_bytes(server.max_payload as u64)),
        ("Connected URL", api.url.clone()),
        (
            "Connected Address",
            format!("{}:{}", server.host, server.port),
        ),
        ("Connected Server ID", server.server_id.clone()),
        ("Connected Server Name", server.server_name.clone()),
        ("Connected Server Version", server.version.clone()),
    ]));
    out.push_str("\nJetStream Account Information:\n\n");
    out.push_str(&render_usage(&info));
    out.push('\n');
    emit(&out)
}

fn yes_no(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

/// Usage and limits from a `$JS.API.INFO` answer (`io.nats.jetstream.api.v1.account_info_response`).
pub fn render_usage(info: &Value) -> String {
    let limits = &info["limits"];
    let mut rows = vec![
        (
            "Memory",
            format!(
                "{} of {}",
                human_bytes(info["memory"].as_u64().unwrap_or(0)),
                limit_bytes(&limits["max_memory"])
            ),
        ),
        (
            "File Storage",
            format!(
                "{} of {}",
                human_bytes(info["storage"].as_u64().unwrap_or(0)),
                limit_bytes(&limits["max_storage"])
            ),
        ),
        (
            "Streams",
            format!(
                "{} of {}",
                commas(info["streams"].as_u64().unwrap_or(0)),
                limit_count(&limits["max_streams"])
            ),
        ),
        (
            "Consumers",
            format!(
                "{} of {}",
                commas(info["consumers"].as_u64().unwrap_or(0)),
                limit_count(&limits["max_consumers"])
            ),
        ),
        ("Max Ack Pending", limit_count(&limits["max_ack_pending"])),
        (
            "Max Memory Stream Size",
            limit_bytes(&limits["memory_max_stream_bytes"]),
        ),
        (
            "Max File Stream Size",
            limit_bytes(&limits["storage_max_stream_bytes"]),
        ),
        (
            "Max Bytes Required",
            (limits["max_bytes_required"].as_bool() == Some(true)).to_string(),
        ),
    ];
    let domain = info["domain"].as_str().unwrap_or("");
    if !domain.is_empty() {
        rows.insert(0, ("Domain", domain.to_string()));
    }
    rows.push((
        "API Requests",
        format!(
            "{} ({} errors)",
            commas(info["api"]["total"].as_u64().unwrap_or(0)),
            commas(info["api"]["errors"].as_u64().unwrap_or(0))
        ),
    ));
    kv_table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_shows_unlimited_and_counts() {
        let info = json!({"memory": 0, "storage": 2048, "streams": 1, "consumers": 2,
            "limits": {"max_memory": -1, "max_storage": -1, "max_streams": -1,
                "max_consumers": -1, "max_ack_pending": -1},
            "api": {"total": 12, "errors": 1}});
        let text = render_usage(&info);
        assert!(text.contains("2.00 KiB of unlimited"), "{text}");
        assert!(text.contains("1 of unlimited"), "{text}");
        assert!(text.contains("12 (1 errors)"), "{text}");
    }
}
