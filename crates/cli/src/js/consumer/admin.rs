//! `weir consumer add|edit|info|ls|rm|pause|resume|report`: managing consumers through the
//! `$JS.API.CONSUMER.…` requests.

use serde_json::{json, Map, Value};

use super::args::{read_config_file, AddArgs, PauseArgs, RmArgs};
use super::render::{info_text, list_table, report_row, report_table};
use super::time::{parse_when, Instant};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::js::api::Api;
use crate::output::{emit, human_duration, print_json};

const CLIENT_NAME: &str = "weir-consumer";

/// Prints a consumer info answer: as the server sent it with `--json`, else as text.
fn show(global: &Global, info: &Value) -> Result<()> {
    if global.json {
        print_json(info)
    } else {
        emit(&info_text(info))
    }
}

/// Drops the `_nats.*` metadata keys the server manages itself.
fn strip_reserved_metadata(config: &mut Map<String, Value>) {
    if let Some(Value::Object(metadata)) = config.get_mut("metadata") {
        metadata.retain(|key, _| !key.starts_with("_nats."));
        if metadata.is_empty() {
            config.remove("metadata");
        }
    }
}

/// Creates or updates the durable consumer `name` with `config`. Uses
/// `CONSUMER.CREATE.<stream>.<name>` and falls back to the legacy
/// `CONSUMER.DURABLE.CREATE.<stream>.<name>` for servers that do not answer the former.
async fn create(
    api: &Api,
    stream: &str,
    name: &str,
    mut config: Map<String, Value>,
    action: &str,
) -> Result<Value> {
    config.insert("durable_name".to_string(), Value::from(name));
    if config.contains_key("name") {
        config.insert("name".to_string(), Value::from(name));
    }
    strip_reserved_metadata(&mut config);
    let body = json!({"stream_name": stream, "config": config, "action": action});
    match api
        .call_json(&format!("CONSUMER.CREATE.{stream}.{name}"), &body)
        .await
    {
        Err(CliError::Unsupported(first)) => {
            let legacy = json!({"stream_name": stream, "config": config});
            api.call_json(&format!("CONSUMER.DURABLE.CREATE.{stream}.{name}"), &legacy)
                .await
                .map_err(|e| match e {
                    CliError::Unsupported(_) => CliError::Unsupported(first),
                    other => other,
                })
        }
        other => other,
    }
}

pub async fn add(global: &Global, args: &AddArgs) -> Result<()> {
    let mut config = match &args.config {
        Some(path) => read_config_file(path)?,
        None => Map::new(),
    };
    args.flags.apply(&mut config, args.config.is_none())?;
    let api = Api::connect(global, CLIENT_NAME).await?;
    let info = create(&api, &args.stream, &args.name, config, "create").await?;
    show(global, &info)
}

pub async fn edit(global: &Global, args: &AddArgs) -> Result<()> {
    let api = Api::connect(global, CLIENT_NAME).await?;
    let current = consumer_info(&api, &args.stream, &args.name).await?;
    let mut old = current["config"].as_object().cloned().unwrap_or_default();
    strip_reserved_metadata(&mut old);
    let mut config = match &args.config {
        Some(path) => read_config_file(path)?,
        None => old.clone(),
    };
    args.flags.apply(&mut config, false)?;
    strip_reserved_metadata(&mut config);
    if config == old {
        if global.json {
            return print_json(&current);
        }
        return emit("No difference in configuration\n");
    }
    let info = create(&api, &args.stream, &args.name, config, "update").await?;
    show(global, &info)
}

async fn consumer_info(api: &Api, stream: &str, name: &str) -> Result<Value> {
    api.call(&format!("CONSUMER.INFO.{stream}.{name}"), "")
        .await
}

pub async fn info(global: &Global, stream: &str, name: &str) -> Result<()> {
    let api = Api::connect(global, CLIENT_NAME).await?;
    let info = consumer_info(&api, stream, name).await?;
    show(global, &info)
}

/// Every consumer of `stream`, sorted by name.
async fn all_consumers(api: &Api, stream: &str) -> Result<Vec<Value>> {
    let mut infos = api
        .list(&format!("CONSUMER.LIST.{stream}"), json!({}), "consumers")
        .await?;
    infos.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(infos)
}

pub async fn list(global: &Global, stream: &str, names_only: bool) -> Result<()> {
    let api = Api::connect(global, CLIENT_NAME).await?;
    let infos = all_consumers(&api, stream).await?;
    let names: Vec<&str> = infos.iter().filter_map(|i| i["name"].as_str()).collect();
    if global.json {
        return print_json(&names);
    }
    if names_only {
        return emit(&names.iter().map(|n| format!("{n}\n")).collect::<String>());
    }
    if infos.is_empty() {
        return emit(&format!(
            "No Consumers defined on stream {stream}: add one with `weir consumer add {stream} NAME`\n"
        ));
    }
    emit(&list_table(&infos))
}

pub async fn remove(global: &Global, args: &RmArgs) -> Result<()> {
    let (stream, name) = (&args.stream, &args.name);
    if !crate::kv::js::confirm(&format!("delete Consumer {stream} > {name}"), args.force)? {
        return emit("Skipping delete\n");
    }
    let api = Api::connect(global, CLIENT_NAME).await?;
    let answer = api
        .call(&format!("CONSUMER.DELETE.{stream}.{name}"), "")
        .await?;
    if global.json {
        return print_json(&answer);
    }
    emit(&format!("Deleted Consumer {stream} > {name}\n"))
}

/// Sends a pause request. A server without the pause API (nats-server before 2.11 leaves
/// the request unanswered) gets a message saying so rather than a timeout.
async fn pause_request(api: &Api, stream: &str, name: &str, body: Value) -> Result<Value> {
    match api
        .call_json(&format!("CONSUMER.PAUSE.{stream}.{name}"), &body)
        .await
    {
        Err(err @ (CliError::Unsupported(_) | CliError::RequestTimeout { .. })) => {
            match api.call("INFO", "").await {
                Ok(_) => Err(CliError::Unsupported(format!(
                    "the server at {} does not support pausing consumers (nats-server 2.11 or \
                     weir-server is needed)",
                    api.url
                ))),
                Err(_) => Err(err),
            }
        }
        other => other,
    }
}

pub async fn pause(global: &Global, args: &PauseArgs) -> Result<()> {
    let (stream, name) = (&args.stream, &args.name);
    let text = args
        .until
        .as_ref()
        .or(args.until_arg.as_ref())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "pause needs a time to pause until: e.g. `weir consumer pause {stream} {name} 1h` \
             or --until 2030-01-01T00:00:00Z"
            ))
        })?;
    let until = parse_when(text, false).ok_or_else(|| {
        CliError::Usage(format!(
            "invalid pause time {text:?}: use an RFC 3339 time (2030-01-01T00:00:00Z), \
             `YYYY-MM-DD HH:MM:SS` (UTC) or a duration from now (1h, 2d, 1h30m)"
        ))
    })?;
    if until <= Instant::now() {
        return Err(CliError::Usage(format!(
            "pause time {text:?} is in the past: give a later time or a duration from now"
        )));
    }
    let api = Api::connect(global, CLIENT_NAME).await?;
    // Check the consumer first so a missing one gets the usual "not found" message.
    consumer_info(&api, stream, name).await?;
    let answer = pause_request(&api, stream, name, json!({"pause_until": until.rfc3339()})).await?;
    if global.json {
        return print_json(&answer);
    }
    if answer["paused"].as_bool() != Some(true) {
        return Err(CliError::Unsupported(format!(
            "the server did not pause {stream} > {name}: perhaps the time is in the past"
        )));
    }
    let remaining =
        std::time::Duration::from_nanos(answer["pause_remaining"].as_u64().unwrap_or(0));
    emit(&format!(
        "Paused {stream} > {name} until {} ({} remaining)\n",
        super::time::local(&answer["pause_until"]),
        human_duration(remaining)
    ))
}

pub async fn resume(global: &Global, stream: &str, name: &str) -> Result<()> {
    let api = Api::connect(global, CLIENT_NAME).await?;
    let info = consumer_info(&api, stream, name).await?;
    if info["paused"].as_bool() != Some(true) {
        if global.json {
            return print_json(&json!({"paused": false}));
        }
        return emit(&format!("Consumer {stream} > {name} is not paused\n"));
    }
    let answer = pause_request(&api, stream, name, json!({})).await?;
    if global.json {
        return print_json(&answer);
    }
    emit(&format!(
        "Consumer {stream} > {name} was resumed while previously paused until {}\n",
        super::time::local(&info["config"]["pause_until"])
    ))
}

pub async fn report(global: &Global, stream: &str) -> Result<()> {
    let api = Api::connect(global, CLIENT_NAME).await?;
    let infos = all_consumers(&api, stream).await?;
    if global.json {
        let rows: Vec<Value> = infos.iter().map(report_row).collect();
        return print_json(&rows);
    }
    emit(&report_table(stream, &infos))
}
