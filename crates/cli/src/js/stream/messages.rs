//! Message-level `weir stream` verbs: get, rmm, view and subjects.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::args::{GetArgs, RmmArgs, SubjectsArgs, ViewArgs};
use super::render::{subjects_table, StoredMsg};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::js::api::{check_name, err_code, Api};
use crate::kv::js::confirm;
use crate::output::{emit, print_json};

const CLIENT: &str = "weir-stream";

/// A missing message's error, with where to look instead.
fn explain_missing(err: CliError, stream: &str) -> CliError {
    match err {
        CliError::JetStream {
            code,
            err_code: err_code::NO_MESSAGE_FOUND,
            description,
            ..
        } => CliError::JetStream {
            code,
            err_code: err_code::NO_MESSAGE_FOUND,
            description,
            hint: format!(
                " — see which sequences and subjects {stream} holds with \
                 `weir stream info {stream}` and `weir stream subjects {stream}`"
            ),
        },
        other => other,
    }
}

fn is_missing(err: &CliError) -> bool {
    matches!(
        err,
        CliError::JetStream {
            err_code: err_code::NO_MESSAGE_FOUND,
            ..
        }
    )
}

/// The `message` of a STREAM.MSG.GET answer.
fn message_of(answer: &Value, api: &Api) -> Result<Value> {
    match answer.get("message") {
        Some(message) if message.is_object() => Ok(message.clone()),
        _ => Err(CliError::Protocol {
            url: api.url.clone(),
            message: "STREAM.MSG.GET answered without a message".to_string(),
        }),
    }
}

pub async fn get(global: &Global, args: &GetArgs) -> Result<()> {
    let stream = &args.stream;
    check_name("stream", stream)?;
    let request = match (&args.last_for, args.seq) {
        (Some(subject), _) => json!({ "last_by_subj": subject }),
        (None, Some(seq)) => json!({ "seq": seq }),
        (None, None) => {
            return Err(CliError::Usage(
                "give a sequence, or --last-for SUBJECT".to_string(),
            ))
        }
    };
    let api = Api::connect(global, CLIENT).await?;
    let answer = api
        .call_json(&format!("STREAM.MSG.GET.{stream}"), &request)
        .await
        .map_err(|e| explain_missing(e, stream))?;
    if global.json {
        return print_json(&answer);
    }
    let message = StoredMsg::from_api(&message_of(&answer, &api)?);
    if args.raw {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&message.data)
            .and_then(|()| out.flush())
            .map_err(|e| CliError::io("cannot write to stdout", e));
    }
    emit(&message.text(stream))
}

pub async fn remove_message(global: &Global, args: &RmmArgs) -> Result<()> {
    let stream = &args.stream;
    check_name("stream", stream)?;
    if !confirm(
        &format!("delete message {} from stream {stream}", args.seq),
        args.force,
    )? {
        return emit("Skipping delete\n");
    }
    let api = Api::connect(global, CLIENT).await?;
    let answer = api
        .call_json(
            &format!("STREAM.MSG.DELETE.{stream}"),
            &json!({ "seq": args.seq }),
        )
        .await
        .map_err(|e| explain_missing(e, stream))?;
    if global.json {
        return print_json(&answer);
    }
    emit(&format!(
        "Deleted message {} from stream {stream}\n",
        args.seq
    ))
}

pub async fn view(global: &Global, args: &ViewArgs) -> Result<()> {
    let stream = &args.stream;
    check_name("stream", stream)?;
    let api = Api::connect(global, CLIENT).await?;
    let filter = args.subject.as_deref().unwrap_or(">");
    let mut next = args.seq.unwrap_or(1).max(1);
    let mut messages = Vec::new();
    // One more than asked for, to know whether to point at the next page.
    while (messages.len() as u64) <= args.count {
        // `next_by_subj` answers the first message at or after `seq`, skipping deleted ones.
        let request = json!({ "seq": next, "next_by_subj": filter });
        match api
            .call_json(&format!("STREAM.MSG.GET.{stream}"), &request)
            .await
        {
            Ok(answer) => {
                let message = message_of(&answer, &api)?;
                let seq = message["seq"].as_u64().unwrap_or(0);
                if seq < next {
                    // A server ignoring `next_by_subj` would loop forever on one message.
                    return Err(CliError::Protocol {
                        url: api.url.clone(),
                        message: format!(
                            "STREAM.MSG.GET answered sequence {seq} when asked for {next} or later"
                        ),
                    });
                }
                next = seq + 1;
                messages.push(message);
            }
            Err(err) if is_missing(&err) => break,
            Err(err) => return Err(err),
        }
    }
    let more = messages.len() as u64 > args.count;
    let next_page = messages
        .pop_if(|_| more)
        .map(|m| m["seq"].as_u64().unwrap_or(next));
    if global.json {
        return print_json(&messages);
    }
    if messages.is_empty() {
        let on = match &args.subject {
            Some(subject) => format!(" on {subject}"),
            None => String::new(),
        };
        return emit(&format!(
            "No messages{on} in stream {stream} from sequence {}\n",
            args.seq.unwrap_or(1)
        ));
    }
    let mut out = String::new();
    for message in &messages {
        out.push_str(&StoredMsg::from_api(message).text(stream));
        out.push('\n');
    }
    if let Some(next) = next_page {
        let subject = match &args.subject {
            Some(subject) => format!(" --subject {subject}"),
            None => String::new(),
        };
        out.push_str(&format!(
            "Next page: weir stream view {stream} --seq {next}{subject}\n"
        ));
    }
    emit(&out)
}

/// Every subject matching `filter` with its message count, from STREAM.INFO (all pages).
async fn subject_counts(api: &Api, stream: &str, filter: &str) -> Result<BTreeMap<String, u64>> {
    let mut subjects = BTreeMap::new();
    loop {
        let request = json!({ "subjects_filter": filter, "offset": subjects.len() });
        let answer = api
            .call_json(&format!("STREAM.INFO.{stream}"), &request)
            .await?;
        let page = answer["state"]["subjects"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let before = subjects.len();
        for (subject, n) in page {
            subjects.insert(subject, n.as_u64().unwrap_or(0));
        }
        let total = answer["total"].as_u64().unwrap_or(0) as usize;
        if subjects.len() == before || subjects.len() >= total {
            return Ok(subjects);
        }
    }
}

pub async fn subjects(global: &Global, args: &SubjectsArgs) -> Result<()> {
    let stream = &args.stream;
    check_name("stream", stream)?;
    let api = Api::connect(global, CLIENT).await?;
    let subjects = subject_counts(&api, stream, &args.filter).await?;
    if global.json {
        return print_json(&subjects);
    }
    if subjects.is_empty() {
        return emit(&format!(
            "No subjects matching {} hold messages in stream {stream}\n",
            args.filter
        ));
    }
    let rows: Vec<(String, u64)> = subjects.into_iter().collect();
    emit(&subjects_table(&rows))
}
