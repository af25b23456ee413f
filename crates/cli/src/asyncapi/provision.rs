//! `plan` and `apply`: read what the server has through `$JS.API.STREAM.INFO` /
//! `CONSUMER.INFO`, diff it against the contract, and create or update what differs.
//! Nothing is deleted unless `--prune`, and then only consumers on the contract's streams
//! that the contract does not name.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use weir_asyncapi::diagnostic::has_errors;
use weir_asyncapi::plan::{self, Action, Desired, Kind, Step};
use weir_asyncapi::Severity;

use super::enforce::SchemaStep;
use super::report;
use super::{load, PlanArgs};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::js::api::{err_code, Api};
use crate::output::wrapped_table;
use crate::output::{emit, print_json};

const CLIENT_NAME: &str = "weir-asyncapi";

pub async fn run(global: &Global, args: &PlanArgs, apply: bool, enforce: bool) -> Result<()> {
    let doc = load(&args.file)?;
    let (diagnostics, intent) = weir_asyncapi::check::check(&doc);
    let intent = match intent {
        Some(intent) if !has_errors(&diagnostics) => intent,
        _ => {
            report::diagnostics(global, &args.file, Some(&doc), &diagnostics, "")?;
            return Err(CliError::Usage(format!(
                "{} has errors (listed above): fix them first; `weir asyncapi check {}` shows them",
                args.file.display(),
                args.file.display()
            )));
        }
    };
    if !global.json {
        for d in diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
        {
            eprintln!("weir: {d}");
        }
    }
    let desired = plan::desired(&intent);
    let api = Api::connect(global, CLIENT_NAME).await?;
    let mut steps = Vec::new();
    for want in &desired {
        let current = fetch(&api, want).await?;
        steps.push(plan::diff(want, current.as_ref()));
    }
    if args.prune {
        steps.extend(prune_steps(&api, &desired).await?);
    }
    if apply {
        for step in steps.iter().filter(|s| s.action != Action::Unchanged) {
            execute(&api, step).await?;
        }
    }
    // After the streams exist: schemas bind to subjects the streams store.
    let schemas = if enforce {
        super::enforce::run(&api, &doc, &intent, apply).await?
    } else {
        Vec::new()
    };
    show(global, args, &steps, &schemas, apply)
}

/// The server's config for a desired stream or consumer, or None when it does not exist.
async fn fetch(api: &Api, want: &Desired) -> Result<Option<Map<String, Value>>> {
    let request = match want.kind {
        Kind::Stream => format!("STREAM.INFO.{}", want.name),
        Kind::Consumer => format!("CONSUMER.INFO.{}.{}", want.stream, want.name),
    };
    match api.call(&request, "").await {
        Ok(info) => Ok(info["config"].as_object().cloned()),
        Err(CliError::JetStream { err_code: code, .. })
            if code == err_code::STREAM_NOT_FOUND || code == err_code::CONSUMER_NOT_FOUND =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Delete steps for consumers on the contract's streams that the contract does not name.
async fn prune_steps(api: &Api, desired: &[Desired]) -> Result<Vec<Step>> {
    let named: BTreeSet<(&str, &str)> = desired
        .iter()
        .filter(|d| d.kind == Kind::Consumer)
        .map(|d| (d.stream.as_str(), d.name.as_str()))
        .collect();
    let mut steps = Vec::new();
    for stream in desired.iter().filter(|d| d.kind == Kind::Stream) {
        let names = match api
            .list(
                &format!("CONSUMER.NAMES.{}", stream.name),
                json!({}),
                "consumers",
            )
            .await
        {
            Ok(names) => names,
            Err(CliError::JetStream { err_code: code, .. })
                if code == err_code::STREAM_NOT_FOUND =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        for name in names.iter().filter_map(Value::as_str) {
            if !named.contains(&(stream.name.as_str(), name)) {
                steps.push(plan::delete_consumer(&stream.name, name));
            }
        }
    }
    Ok(steps)
}

async fn execute(api: &Api, step: &Step) -> Result<()> {
    let what = format!("{} {}", kind_word(step.kind), label(step));
    let result = match (step.kind, step.action) {
        (_, Action::Unchanged) => return Ok(()),
        (Kind::Stream, Action::Create) => {
            api.call_json(
                &format!("STREAM.CREATE.{}", step.name),
                &Value::Object(step.config.clone()),
            )
            .await
        }
        (Kind::Stream, Action::Update) => {
            api.call_json(
                &format!("STREAM.UPDATE.{}", step.name),
                &Value::Object(step.config.clone()),
            )
            .await
        }
        (Kind::Stream, Action::Delete) => unreachable_delete(),
        (Kind::Consumer, Action::Delete) => {
            api.call(
                &format!("CONSUMER.DELETE.{}.{}", step.stream, step.name),
                "",
            )
            .await
        }
        (Kind::Consumer, action) => create_consumer(api, step, action).await,
    };
    result.map(|_| ()).map_err(|e| {
        CliError::Unsupported(format!("{} {what} failed: {e}", action_word(step.action)))
    })
}

/// Streams are never deleted; kept as an error rather than a panic should a plan ever hold one.
fn unreachable_delete() -> Result<Value> {
    Err(CliError::Usage(
        "weir asyncapi never deletes streams".to_string(),
    ))
}

/// `CONSUMER.CREATE.<stream>.<name>`, falling back to the older
/// `CONSUMER.DURABLE.CREATE.<stream>.<name>` on servers that do not answer the former.
async fn create_consumer(api: &Api, step: &Step, action: Action) -> Result<Value> {
    let mut config = step.config.clone();
    config.insert("durable_name".into(), json!(step.name));
    if config.contains_key("name") {
        config.insert("name".into(), json!(step.name));
    }
    let action = if action == Action::Create {
        "create"
    } else {
        "update"
    };
    let body = json!({"stream_name": step.stream, "config": config, "action": action});
    match api
        .call_json(
            &format!("CONSUMER.CREATE.{}.{}", step.stream, step.name),
            &body,
        )
        .await
    {
        Err(CliError::Unsupported(_)) => {
            let legacy = json!({"stream_name": step.stream, "config": config});
            api.call_json(
                &format!("CONSUMER.DURABLE.CREATE.{}.{}", step.stream, step.name),
                &legacy,
            )
            .await
        }
        other => other,
    }
}

fn show(
    global: &Global,
    args: &PlanArgs,
    steps: &[Step],
    schemas: &[SchemaStep],
    applied: bool,
) -> Result<()> {
    let nothing = plan::is_noop(steps) && schemas.iter().all(|s| s.action == "unchanged");
    if global.json {
        return print_json(&json!({
            "file": args.file.display().to_string(),
            "server": global.server,
            "applied": applied && !nothing,
            "nothing_to_do": nothing,
            "steps": steps,
            "schemas": schemas,
        }));
    }
    let mut rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                action_word(s.action).to_string(),
                kind_word(s.kind).to_string(),
                label(s),
                changes_text(s),
            ]
        })
        .collect();
    rows.extend(schemas.iter().map(|s| {
        vec![
            s.action.to_string(),
            "schema".to_string(),
            s.subject.clone(),
            format!("{} (stream {})", s.name, s.stream),
        ]
    }));
    let mut out = wrapped_table(&["ACTION", "KIND", "NAME", "CHANGES"], rows);
    out.push('\n');
    let count = |a: Action| steps.iter().filter(|s| s.action == a).count();
    let (create, update, delete, same) = (
        count(Action::Create),
        count(Action::Update),
        count(Action::Delete),
        count(Action::Unchanged),
    );
    if nothing {
        out.push_str(&format!(
            "Nothing to do: the server already matches {} ({same} unchanged)\n",
            args.file.display()
        ));
    } else if applied {
        out.push_str(&format!(
            "Applied {}: {create} created, {update} updated, {delete} deleted, {same} unchanged\n",
            args.file.display()
        ));
    } else {
        out.push_str(&format!(
            "Plan: {create} to create, {update} to update, {delete} to delete, {same} unchanged — \
             run `weir asyncapi apply {}` to apply it\n",
            args.file.display()
        ));
    }
    emit(&out)
}

fn label(step: &Step) -> String {
    match step.kind {
        Kind::Stream => step.name.clone(),
        Kind::Consumer => format!("{} > {}", step.stream, step.name),
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Stream => "stream",
        Kind::Consumer => "consumer",
    }
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Delete => "delete",
    }
}

fn changes_text(step: &Step) -> String {
    match step.action {
        Action::Create => step
            .changes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.desired))
            .collect::<Vec<_>>()
            .join("\n"),
        Action::Update => step
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.current, c.desired))
            .collect::<Vec<_>>()
            .join("\n"),
        Action::Unchanged => String::new(),
        Action::Delete => "not named by the contract (--prune)".to_string(),
    }
}
