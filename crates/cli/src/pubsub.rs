//! `weir pub`, `weir sub`, `weir req` and `weir reply`.

use std::io::{IsTerminal, Read, Write};
use std::time::Instant;

use async_nats::{HeaderMap, Message, RequestErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use crate::args::HeaderArg;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{log, print_json};
use crate::template::Template;
use crate::{PubArgs, ReplyArgs, ReqArgs, SubArgs};

/// Header flags with their values pre-parsed as templates.
pub(crate) struct HeaderTemplates(Vec<(String, Template)>);

impl HeaderTemplates {
    pub(crate) fn new(headers: &[HeaderArg]) -> Self {
        HeaderTemplates(
            headers
                .iter()
                .map(|h| (h.key.clone(), Template::parse(&h.value)))
                .collect(),
        )
    }

    pub(crate) fn render(&self, count: u64) -> Option<HeaderMap> {
        if self.0.is_empty() {
            return None;
        }
        let mut map = HeaderMap::new();
        for (key, value) in &self.0 {
            map.append(key.as_str(), value.render(count));
        }
        Some(map)
    }
}

/// Headers sorted by name as (name, value) pairs, one per value.
pub(crate) fn header_pairs(headers: Option<&HeaderMap>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .map(|map| {
            map.iter()
                .flat_map(|(name, values)| {
                    values
                        .iter()
                        .map(move |v| (name.to_string(), v.as_str().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

#[derive(Serialize)]
struct MessageJson<'a> {
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<&'a str>,
    headers: Vec<(String, String)>,
    data: String,
    size_bytes: usize,
}

/// How a received message is shown.
#[derive(Clone, Copy)]
pub(crate) enum Display {
    Pretty,
    Raw,
    Json,
}

impl Display {
    pub(crate) fn choose(global: &Global, raw: bool) -> Display {
        if global.json {
            Display::Json
        } else if raw {
            Display::Raw
        } else {
            Display::Pretty
        }
    }
}

/// Prints a message like the `nats` CLI: `[#1] Received on "subject"`, headers, blank line, body.
fn print_message(number: u64, msg: &Message, display: Display) -> Result<()> {
    let mut title = format!("[#{number}] Received on {:?}", msg.subject.as_str());
    if let Some(reply) = &msg.reply {
        title.push_str(&format!(" with reply {:?}", reply.as_str()));
    }
    print_titled(&title, msg, display)
}

/// Prints `title` (pretty display only), the headers, a blank line and the body.
pub(crate) fn print_titled(title: &str, msg: &Message, display: Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let written = match display {
        Display::Raw => out
            .write_all(&msg.payload)
            .and_then(|()| out.write_all(b"\n")),
        Display::Json => {
            let json = MessageJson {
                subject: msg.subject.as_str(),
                reply: msg.reply.as_ref().map(|r| r.as_str()),
                headers: header_pairs(msg.headers.as_ref()),
                data: String::from_utf8_lossy(&msg.payload).into_owned(),
                size_bytes: msg.payload.len(),
            };
            let line = serde_json::to_string(&json)
                .map_err(|e| CliError::Usage(format!("cannot encode message as JSON: {e}")))?;
            writeln!(out, "{line}")
        }
        Display::Pretty => {
            let mut text = format!("{title}\n");
            let headers = header_pairs(msg.headers.as_ref());
            for (name, value) in &headers {
                text.push_str(&format!("{name}: {value}\n"));
            }
            if !headers.is_empty() {
                text.push('\n');
            }
            out.write_all(text.as_bytes())
                .and_then(|()| out.write_all(&msg.payload))
                .and_then(|()| out.write_all(b"\n\n"))
        }
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}

fn read_stdin_body() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(String::new());
    }
    let mut body = String::new();
    stdin
        .lock()
        .read_to_string(&mut body)
        .map_err(|e| CliError::io("cannot read the message body from stdin", e))?;
    Ok(body)
}

pub async fn publish(global: &Global, args: &PubArgs) -> Result<()> {
    let body = match &args.body {
        Some(body) => body.clone(),
        None => read_stdin_body()?,
    };
    let body = Template::parse(&body);
    if args.jetstream.wait {
        return crate::js::publish::run(global, args, &body).await;
    }
    let headers = HeaderTemplates::new(&args.headers);
    let client = global.connect("weir pub").await?;
    let subject = args.subject.clone();
    let mut total_bytes = 0u64;
    let mut last_size_bytes = 0usize;
    let static_payload = body.is_static().then(|| Bytes::from(body.render(1)));
    for count in 1..=args.count {
        let payload = match &static_payload {
            Some(payload) => payload.clone(),
            None => Bytes::from(body.render(count)),
        };
        last_size_bytes = payload.len();
        total_bytes += payload.len() as u64;
        let headers = headers.render(count);
        let sent = match (&args.reply, headers) {
            (None, None) => client.publish(subject.clone(), payload).await,
            (None, Some(h)) => {
                client
                    .publish_with_headers(subject.clone(), h, payload)
                    .await
            }
            (Some(r), None) => {
                client
                    .publish_with_reply(subject.clone(), r.clone(), payload)
                    .await
            }
            (Some(r), Some(h)) => {
                client
                    .publish_with_reply_and_headers(subject.clone(), r.clone(), h, payload)
                    .await
            }
        };
        sent.map_err(|e| CliError::nats(format!("cannot publish to {subject:?}"), e))?;
        if let Some(pause) = args.sleep {
            tokio::time::sleep(pause).await;
        }
    }
    client
        .flush()
        .await
        .map_err(|e| CliError::nats(format!("cannot flush messages to {}", global.server), e))?;
    if global.json {
        #[derive(Serialize)]
        struct Published<'a> {
            subject: &'a str,
            messages: u64,
            bytes: u64,
        }
        return print_json(&Published {
            subject: &subject,
            messages: args.count,
            bytes: total_bytes,
        });
    }
    if args.count == 1 {
        log(format!("Published {last_size_bytes} bytes to {subject:?}"));
    } else {
        log(format!(
            "Published {} messages ({total_bytes} bytes) to {subject:?}",
            args.count
        ));
    }
    Ok(())
}

pub async fn subscribe(global: &Global, args: &SubArgs) -> Result<()> {
    if args.replay.wanted() {
        return crate::js::subscribe::run(global, args).await;
    }
    let client = global.connect("weir sub").await?;
    let subject = args.subject.clone();
    let mut subscriber = match &args.queue {
        Some(queue) => client.queue_subscribe(subject.clone(), queue.clone()).await,
        None => client.subscribe(subject.clone()).await,
    }
    .map_err(|e| CliError::nats(format!("cannot subscribe to {subject:?}"), e))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot register the subscription", e))?;
    match &args.queue {
        Some(queue) => log(format!("Subscribing on {subject} in group {queue}")),
        None => log(format!("Subscribing on {subject}")),
    }
    let display = Display::choose(global, args.raw);
    let mut received = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while args.count == 0 || received < args.count {
        tokio::select! {
            msg = subscriber.next() => match msg {
                Some(msg) => {
                    received += 1;
                    print_message(received, &msg, display)?;
                }
                None => return Err(CliError::Protocol {
                    url: global.server.clone(),
                    message: "the subscription was closed by the server".to_string(),
                }),
            },
            _ = &mut ctrl_c => break,
        }
    }
    subscriber.unsubscribe().await.ok();
    client.flush().await.ok();
    Ok(())
}

pub async fn request(global: &Global, args: &ReqArgs) -> Result<()> {
    let client = global.connect("weir req").await?;
    let subject = args.subject.clone();
    let payload = Bytes::from(Template::parse(&args.body).render(1));
    let headers = HeaderTemplates::new(&args.headers).render(1);
    if !global.json && !args.raw {
        log(format!("Sending request on {subject:?}"));
    }
    let started = Instant::now();
    let reply = match headers {
        Some(h) => {
            client
                .request_with_headers(subject.clone(), h, payload)
                .await
        }
        None => client.request(subject.clone(), payload).await,
    };
    let rtt = started.elapsed();
    let reply = reply.map_err(|e| match e.kind() {
        RequestErrorKind::NoResponders => CliError::NoResponders {
            subject: subject.clone(),
            hint: String::new(),
        },
        RequestErrorKind::TimedOut => CliError::RequestTimeout {
            subject: subject.clone(),
            timeout_ms: global.timeout.as_millis(),
        },
        _ => CliError::nats(format!("request to {subject:?} failed"), e),
    })?;
    if global.json {
        #[derive(Serialize)]
        struct ReplyJson {
            subject: String,
            rtt_ms: f64,
            headers: Vec<(String, String)>,
            data: String,
            size_bytes: usize,
        }
        return print_json(&ReplyJson {
            subject,
            rtt_ms: rtt.as_secs_f64() * 1e3,
            headers: header_pairs(reply.headers.as_ref()),
            data: String::from_utf8_lossy(&reply.payload).into_owned(),
            size_bytes: reply.payload.len(),
        });
    }
    let mut text = Vec::new();
    if !args.raw {
        log(format!("Received with rtt {rtt:?}"));
        let headers = header_pairs(reply.headers.as_ref());
        for (name, value) in &headers {
            text.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
        if !headers.is_empty() {
            text.push(b'\n');
        }
    }
    text.extend_from_slice(&reply.payload);
    text.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&text)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}

pub async fn reply(global: &Global, args: &ReplyArgs) -> Result<()> {
    let body = match (&args.body, args.echo) {
        (Some(body), _) => Some(Template::parse(body)),
        (None, true) => None,
        (None, false) => {
            return Err(CliError::Usage(
                "give a reply BODY, or use --echo to send each request back".to_string(),
            ))
        }
    };
    let headers = HeaderTemplates::new(&args.headers);
    let client = global.connect("weir reply").await?;
    let subject = args.subject.clone();
    let mut subscriber = client
        .queue_subscribe(subject.clone(), args.queue.clone())
        .await
        .map_err(|e| CliError::nats(format!("cannot subscribe to {subject:?}"), e))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot register the subscription", e))?;
    log(format!(
        "Listening on {subject:?} in group {:?}",
        args.queue
    ));
    let display = Display::choose(global, args.raw);
    let mut answered = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while args.count == 0 || answered < args.count {
        let msg = tokio::select! {
            msg = subscriber.next() => msg,
            _ = &mut ctrl_c => break,
        };
        let Some(msg) = msg else {
            return Err(CliError::Protocol {
                url: global.server.clone(),
                message: "the subscription was closed by the server".to_string(),
            });
        };
        answered += 1;
        print_message(answered, &msg, display)?;
        let Some(reply_to) = msg.reply.clone() else {
            log("The message has no reply subject; not answering");
            continue;
        };
        let (payload, mut reply_headers) = match &body {
            Some(body) => (Bytes::from(body.render(answered)), None),
            None => (msg.payload.clone(), msg.headers.clone()),
        };
        if let Some(extra) = headers.render(answered) {
            let map = reply_headers.get_or_insert_with(HeaderMap::new);
            for (name, values) in extra.iter() {
                for value in values {
                    map.append(name.clone(), value.clone());
                }
            }
        }
        let sent = match reply_headers {
            Some(h) => client.publish_with_headers(reply_to, h, payload).await,
            None => client.publish(reply_to, payload).await,
        };
        sent.map_err(|e| CliError::nats("cannot send the reply", e))?;
    }
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot flush replies", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_header;

    #[test]
    fn header_templates_render_count_and_keep_repeats() {
        let flags = vec![
            parse_header("X-Seq:{{Count}}").unwrap(),
            parse_header("X-Tag:a").unwrap(),
            parse_header("X-Tag:b").unwrap(),
        ];
        let map = HeaderTemplates::new(&flags).render(5).unwrap();
        let pairs = header_pairs(Some(&map));
        assert_eq!(
            pairs,
            vec![
                ("X-Seq".to_string(), "5".to_string()),
                ("X-Tag".to_string(), "a".to_string()),
                ("X-Tag".to_string(), "b".to_string()),
            ]
        );
        assert!(HeaderTemplates::new(&[]).render(1).is_none());
    }
}
