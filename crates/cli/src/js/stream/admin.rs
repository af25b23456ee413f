//! Stream-level `weir stream` verbs: add, edit, info, ls, rm, purge and report.

use serde_json::{json, Map, Value};

use super::args::{apply, read_config_file, AddArgs, PurgeArgs};
use super::render::{info_text, list_table, report_entry, report_table};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::js::api::{check_name, Api};
use crate::kv::js::confirm;
use crate::output::{commas, emit, print_json};

const CLIENT: &str = "weir-stream";

/// Prints a STREAM.INFO-shaped answer: as is with `--json`, else for people.
fn show(global: &Global, info: &Value) -> Result<()> {
    if global.json {
        return print_json(info);
    }
    emit(&info_text(info))
}

/// Settings an older server accepted but dropped (nats-server 2.9 knows neither metadata nor
/// compression, 2.10 no per-message TTL), so nobody believes they are in force.
pub fn ignored_settings(requested: &Map<String, Value>, stored: &Value) -> Vec<&'static str> {
    let mut ignored = Vec::new();
    if let Some(Value::Object(wanted)) = requested.get("metadata") {
        if wanted
            .iter()
            .any(|(k, v)| stored["metadata"].get(k) != Some(v))
        {
            ignored.push("--metadata");
        }
    }
    if let Some(wanted) = requested.get("compression").and_then(Value::as_str) {
        if wanted != "none" && stored["compression"].as_str() != Some(wanted) {
            ignored.push("--compression");
        }
    }
    if requested.get("allow_msg_ttl") == Some(&Value::Bool(true))
        && stored["allow_msg_ttl"] != Value::Bool(true)
    {
        ignored.push("--allow-msg-ttl");
    }
    ignored
}

fn warn_ignored(requested: &Map<String, Value>, answer: &Value, url: &str) {
    let ignored = ignored_settings(requested, &answer["config"]);
    if !ignored.is_empty() {
        eprintln!(
            "weir: warning: the server at {url} ignored {} (a newer server is needed for them)",
            ignored.join(" and ")
        );
    }
}

/// The config `add` sends: the `--config` file (if any), the flags on top, and the name.
fn add_config(args: &AddArgs) -> Result<Map<String, Value>> {
    let mut config = match &args.config {
        Some(path) => read_config_file(path)?,
        None => Map::new(),
    };
    apply(&mut config, args.flags.fields()?);
    config.insert("name".to_string(), args.stream.clone().into());
    Ok(config)
}

pub async fn add(global: &Global, args: &AddArgs) -> Result<()> {
    check_name("stream", &args.stream)?;
    let config = add_config(args)?;
    let api = Api::connect(global, CLIENT).await?;
    let answer = api
        .call_json(
            &format!("STREAM.CREATE.{}", args.stream),
            &Value::Object(config.clone()),
        )
        .await?;
    warn_ignored(&config, &answer, &api.url);
    show(global, &answer)
}

pub async fn edit(global: &Global, args: &AddArgs) -> Result<()> {
    check_name("stream", &args.stream)?;
    let fields = args.flags.fields()?;
    if fields.is_empty() && args.config.is_none() {
        return Err(CliError::Usage(format!(
            "nothing to change: give the options to set, e.g. `weir stream edit {} --max-age 1h`",
            args.stream
        )));
    }
    let api = Api::connect(global, CLIENT).await?;
    let mut config = match &args.config {
        Some(path) => read_config_file(path)?,
        None => {
            let current = api
                .call(&format!("STREAM.INFO.{}", args.stream), "")
                .await?;
            match current.get("config") {
                Some(Value::Object(config)) => config.clone(),
                _ => {
                    return Err(CliError::Protocol {
                        url: api.url.clone(),
                        message: format!("STREAM.INFO.{} answered without a config", args.stream),
                    })
                }
            }
        }
    };
    apply(&mut config, fields.clone());
    config.insert("name".to_string(), args.stream.clone().into());
    let answer = api
        .call_json(
            &format!("STREAM.UPDATE.{}", args.stream),
            &Value::Object(config),
        )
        .await?;
    warn_ignored(&fields, &answer, &api.url);
    show(global, &answer)
}

pub async fn info(global: &Global, stream: &str) -> Result<()> {
    check_name("stream", stream)?;
    let api = Api::connect(global, CLIENT).await?;
    let answer = api.call(&format!("STREAM.INFO.{stream}"), "").await?;
    show(global, &answer)
}

/// Every stream's info, sorted by name.
async fn all_streams(api: &Api) -> Result<Vec<Value>> {
    let mut infos = api.list("STREAM.LIST", json!({}), "streams").await?;
    infos.sort_by(|a, b| {
        let name = |v: &Value| v["config"]["name"].as_str().unwrap_or_default().to_string();
        name(a).cmp(&name(b))
    });
    Ok(infos)
}

pub async fn list(global: &Global, names_only: bool) -> Result<()> {
    let api = Api::connect(global, CLIENT).await?;
    let infos = all_streams(&api).await?;
    let names: Vec<&str> = infos
        .iter()
        .filter_map(|info| info["config"]["name"].as_str())
        .collect();
    match (global.json, names_only) {
        (true, true) => print_json(&names),
        (true, false) => print_json(&infos),
        (false, true) => emit(&names.iter().map(|n| format!("{n}\n")).collect::<String>()),
        (false, false) if infos.is_empty() => emit("No streams defined\n"),
        (false, false) => emit(&list_table(&infos)),
    }
}

pub async fn remove(global: &Global, stream: &str, force: bool) -> Result<()> {
    check_name("stream", stream)?;
    if !confirm(
        &format!("delete stream {stream} and all its messages"),
        force,
    )? {
        return emit("Skipping delete\n");
    }
    let api = Api::connect(global, CLIENT).await?;
    let answer = api.call(&format!("STREAM.DELETE.{stream}"), "").await?;
    if global.json {
        return print_json(&answer);
    }
    emit(&format!("Deleted stream {stream}\n"))
}

/// The STREAM.PURGE request for the flags given.
pub fn purge_request(args: &PurgeArgs) -> Value {
    let mut request = Map::new();
    if let Some(subject) = &args.subject {
        request.insert("filter".to_string(), subject.clone().into());
    }
    if let Some(seq) = args.seq {
        request.insert("seq".to_string(), seq.into());
    }
    if let Some(keep) = args.keep {
        request.insert("keep".to_string(), keep.into());
    }
    Value::Object(request)
}

pub async fn purge(global: &Global, args: &PurgeArgs) -> Result<()> {
    let stream = &args.stream;
    check_name("stream", stream)?;
    let mut what = match &args.subject {
        Some(subject) => format!("purge the messages on {subject} from stream {stream}"),
        None => format!("purge all messages from stream {stream}"),
    };
    if let Some(seq) = args.seq {
        what.push_str(&format!(" up to sequence {seq}"));
    }
    if let Some(keep) = args.keep {
        what.push_str(&format!(", keeping the newest {keep}"));
    }
    if !confirm(&what, args.force)? {
        return emit("Skipping purge\n");
    }
    let api = Api::connect(global, CLIENT).await?;
    let answer = api
        .call_json(&format!("STREAM.PURGE.{stream}"), &purge_request(args))
        .await?;
    if global.json {
        return print_json(&answer);
    }
    let purged = answer["purged"].as_u64().unwrap_or(0);
    emit(&format!(
        "Purged {} message{} from stream {stream}\n",
        commas(purged),
        if purged == 1 { "" } else { "s" }
    ))
}

pub async fn report(global: &Global) -> Result<()> {
    let api = Api::connect(global, CLIENT).await?;
    let infos = all_streams(&api).await?;
    if global.json {
        return print_json(&infos.iter().map(report_entry).collect::<Vec<_>>());
    }
    if infos.is_empty() {
        return emit("No streams defined\n");
    }
    emit(&report_table(&infos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_settings_are_named() {
        let requested = json!({"metadata": {"a": "b"}, "compression": "s2", "allow_msg_ttl": true})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            ignored_settings(&requested, &json!({"name": "S"})),
            ["--metadata", "--compression", "--allow-msg-ttl"]
        );
        let kept = json!({"metadata": {"a": "b", "_nats.ver": "2"}, "compression": "s2",
            "allow_msg_ttl": true});
        assert!(ignored_settings(&requested, &kept).is_empty());
        let none = json!({"compression": "none"}).as_object().cloned().unwrap();
        assert!(ignored_settings(&none, &json!({})).is_empty());
    }
}
