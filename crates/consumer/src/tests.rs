//! Engine scenarios on a memory store with a fake clock.

use bytes::Bytes;
use weir_store::{memory_store, MemStoreConfig, Store};

use crate::ack::{AckKind, AckRef};
use crate::{AckMode, Command, Engine, Mode, Policy, PullRequest, StartPolicy};

const S: i64 = 1_000_000_000;

fn store_with(subjects: &[&str]) -> Box<dyn Store> {
    let mut store: Box<dyn Store> = Box::new(memory_store(MemStoreConfig::default()));
    for (i, s) in subjects.iter().enumerate() {
        store
            .append(
                s.as_bytes(),
                b"",
                format!("m{}", i + 1).as_bytes(),
                i as i64 * S,
                None,
            )
            .unwrap();
    }
    store
}

fn pull_policy() -> Policy {
    Policy {
        stream: "S".into(),
        name: "C".into(),
        ack: AckMode::Explicit,
        ack_wait_ns: 30 * S,
        backoff_ns: Vec::new(),
        max_deliver: -1,
        max_ack_pending: 1000,
        filters: Vec::new(),
        replay_original: false,
        priority: crate::Priority::None,
        ack_metrics: false,
        rate_limit_bps: 0,
        mode: Mode::Pull { max_waiting: 512 },
    }
}

fn req(batch: u64) -> PullRequest {
    PullRequest {
        reply: Bytes::from_static(b"_INBOX.r"),
        batch,
        max_bytes: 0,
        ..PullRequest::default()
    }
}

/// (stream seq, ack ref) of each delivery, and the statuses as "code description".
fn split(engine: &mut Engine) -> (Vec<(u64, AckRef)>, Vec<String>) {
    let mut msgs = Vec::new();
    let mut statuses = Vec::new();
    for c in engine.take_commands() {
        match c {
            Command::Deliver { msg, ack, .. } => msgs.push((msg.seq, ack)),
            Command::Status {
                code, description, ..
            } => statuses.push(format!("{code} {description}")),
            _ => {}
        }
    }
    (msgs, statuses)
}

#[test]
fn pull_batch_delivers_in_order_with_ack_subject_data() {
    let store = store_with(&["a", "b", "c"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(2), &*store, 3, 10);
    let (msgs, statuses) = split(&mut e);
    assert!(statuses.is_empty());
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        msgs[1].1,
        AckRef {
            deliveries: 1,
            stream_seq: 2,
            consumer_seq: 2,
            ts_ns: S,
            pending: 1
        }
    );
    assert_eq!(e.tracker.num_ack_pending(), 2);
    assert_eq!(e.num_waiting(), 0, "batch complete");
}

#[test]
fn no_wait_and_expiry_statuses() {
    let store = store_with(&["a"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::New, &*store, 0).unwrap();
    let mut r = req(5);
    r.no_wait = true;
    e.pull(r.clone(), &*store, 1, 0);
    assert_eq!(split(&mut e).1, vec!["404 No Messages"]);

    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(r, &*store, 1, 0);
    let (msgs, statuses) = split(&mut e);
    assert_eq!(
        (msgs.len(), statuses),
        (1, vec!["408 Request Timeout".to_string()])
    );

    let mut r = req(5);
    r.expires_at_ns = Some(5 * S);
    e.pull(r, &*store, 1, 0);
    e.tick(&*store, 1, 5 * S);
    assert_eq!(split(&mut e).1, vec!["408 Request Timeout"]);
}

#[test]
fn waiting_request_gets_messages_as_they_become_visible() {
    let mut store = store_with(&[]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(2), &*store, 0, 0);
    assert!(split(&mut e).0.is_empty());
    store.append(b"x", b"", b"1", 0, None).unwrap();
    e.stream_changed(&*store, false);
    e.deliver(&*store, 0, 0);
    assert!(split(&mut e).0.is_empty(), "not visible (not durable) yet");
    e.deliver(&*store, 1, 0);
    assert_eq!(split(&mut e).0.len(), 1);
}

#[test]
fn ack_wait_redelivers_until_max_deliver() {
    let store = store_with(&["a"]);
    let mut p = pull_policy();
    p.ack_wait_ns = S;
    p.max_deliver = 2;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(2), &*store, 1, 0);
    assert_eq!(split(&mut e).0[0].1.deliveries, 1);
    e.tick(&*store, 1, S);
    let (msgs, _) = split(&mut e);
    assert_eq!(
        (msgs[0].0, msgs[0].1.deliveries, msgs[0].1.consumer_seq),
        (1, 2, 2)
    );
    assert_eq!(e.tracker.num_redelivered(), 1);
    // Reported when the last ack wait ends, with no pull request waiting.
    e.tick(&*store, 1, 2 * S);
    let cmds: Vec<Command> = e.take_commands().collect();
    assert!(cmds.contains(&Command::MaxDeliveries {
        stream_seq: 1,
        deliveries: 2
    }));
    assert_eq!(e.tracker.num_ack_pending(), 0);
}

#[test]
fn acks_nak_term_and_double_ack() {
    let store = store_with(&["a", "b"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(10), &*store, 2, 0);
    let (msgs, _) = split(&mut e);
    let reply = Some(Bytes::from_static(b"_INBOX.ack"));
    e.ack(msgs[0].1, AckKind::Ack, reply, &*store, 2, 0);
    let cmds: Vec<Command> = e.take_commands().collect();
    assert!(cmds.contains(&Command::Acked { stream_seq: 1 }));
    assert!(cmds.contains(&Command::ConfirmAck {
        to: Bytes::from_static(b"_INBOX.ack")
    }));
    e.ack(msgs[1].1, AckKind::Nak(None), None, &*store, 2, 0);
    let (again, _) = split(&mut e);
    assert_eq!(
        (again[0].0, again[0].1.deliveries),
        (2, 2),
        "redelivered at once"
    );
    e.ack(
        again[0].1,
        AckKind::Term(Some("bad".into())),
        None,
        &*store,
        2,
        0,
    );
    let cmds: Vec<Command> = e.take_commands().collect();
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Terminated { stream_seq: 2, .. })));
    assert_eq!(e.tracker.num_ack_pending(), 0);
    assert_eq!(e.tracker.ack_floor.stream_seq, 2);
}

#[test]
fn max_ack_pending_holds_new_messages() {
    let store = store_with(&["a", "b", "c"]);
    let mut p = pull_policy();
    p.max_ack_pending = 1;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(3), &*store, 3, 0);
    let (msgs, _) = split(&mut e);
    assert_eq!(msgs.len(), 1);
    e.ack(msgs[0].1, AckKind::Ack, None, &*store, 3, 0);
    let (msgs, _) = split(&mut e);
    assert_eq!(msgs[0].0, 2, "the ack frees a slot for the waiting request");
}

#[test]
fn deliver_policies_and_filters() {
    let store = store_with(&["a", "b", "a", "c", "b"]);
    let seqs = |start: StartPolicy, filters: &[&'static str]| {
        let mut p = pull_policy();
        p.filters = filters
            .iter()
            .map(|f| Bytes::from_static(f.as_bytes()))
            .collect();
        let mut e = Engine::new(p, start, &*store, 0).unwrap();
        e.pull(req(100), &*store, 5, 0);
        split(&mut e).0.into_iter().map(|m| m.0).collect::<Vec<_>>()
    };
    assert_eq!(seqs(StartPolicy::All, &[]), vec![1, 2, 3, 4, 5]);
    assert_eq!(seqs(StartPolicy::All, &["a"]), vec![1, 3]);
    assert_eq!(seqs(StartPolicy::All, &["a", "c"]), vec![1, 3, 4]);
    assert_eq!(seqs(StartPolicy::Last, &[]), vec![5]);
    assert_eq!(seqs(StartPolicy::Last, &["a"]), vec![3]);
    assert_eq!(seqs(StartPolicy::New, &[]), Vec::<u64>::new());
    assert_eq!(seqs(StartPolicy::Sequence(4), &[]), vec![4, 5]);
    assert_eq!(seqs(StartPolicy::Time(2 * S), &[]), vec![3, 4, 5]);
    assert_eq!(seqs(StartPolicy::LastPerSubject, &[]), vec![3, 4, 5]);
    assert_eq!(seqs(StartPolicy::LastPerSubject, &["b"]), vec![5]);
}

#[test]
fn push_flow_control_and_heartbeats() {
    let mut store = store_with(&[]);
    for _ in 0..40 {
        store
            .append(b"big", b"", &vec![0u8; 64 * 1024], 0, None)
            .unwrap();
    }
    let mut p = pull_policy();
    p.mode = Mode::Push {
        deliver_subject: Bytes::from_static(b"deliver"),
        flow_control: true,
        idle_heartbeat_ns: S,
    };
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.deliver(&*store, 40, 0);
    assert!(split(&mut e).0.is_empty(), "no interest yet");
    e.set_push_active(true);
    e.deliver(&*store, 40, 0);
    let cmds: Vec<Command> = e.take_commands().collect();
    let fc = cmds.iter().find_map(|c| match c {
        Command::Status {
            code: 100,
            reply: Some(r),
            ..
        } => Some(r.clone()),
        _ => None,
    });
    let fc = fc.expect("a flow-control request after 1 MiB");
    assert!(fc.starts_with(b"$JS.FC.S.C."));
    let delivered = |cmds: &[Command]| {
        cmds.iter()
            .filter(|c| matches!(c, Command::Deliver { .. }))
            .count()
    };
    assert_eq!(delivered(&cmds), 32, "stalled at 2 MiB unanswered");
    // Stalled: the heartbeat names the unanswered flow-control request.
    e.tick(&*store, 40, S);
    let cmds: Vec<Command> = e.take_commands().collect();
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Status { headers, .. }
        if headers.iter().any(|(k, v)| *k == "Nats-Consumer-Stalled" && v.as_bytes() == &fc[..]))));
    e.flow_control_reply(&fc, &*store, 40, S);
    let cmds: Vec<Command> = e.take_commands().collect();
    assert_eq!(delivered(&cmds), 8, "the reply releases the rest");
}

#[test]
fn purge_forgets_pending_and_moves_on() {
    let mut store = store_with(&["a", "a", "a"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(2), &*store, 3, 0);
    split(&mut e);
    store.purge(&weir_store::PurgeRequest::default()).unwrap();
    e.stream_changed(&*store, true);
    assert_eq!(e.tracker.num_ack_pending(), 0);
    assert_eq!(e.num_pending(&*store), 0);
    assert_eq!(e.tracker.ack_floor.stream_seq, 3);
}

#[test]
fn ack_none_tracks_nothing() {
    let store = store_with(&["a", "b"]);
    let mut p = pull_policy();
    p.ack = AckMode::None;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(5), &*store, 2, 0);
    assert_eq!(split(&mut e).0.len(), 2);
    assert_eq!(e.tracker.num_ack_pending(), 0);
    assert_eq!(e.tracker.ack_floor.stream_seq, 2);
}

#[test]
fn max_bytes_cuts_the_request() {
    let store = store_with(&["a", "b"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    let mut r = req(5);
    // "a" + "m1" + the 32-byte ack subject $JS.ACK.S.C.1.1.1.0.1 fit; the next does not.
    r.max_bytes = 40;
    e.pull(r, &*store, 2, 0);
    let (msgs, statuses) = split(&mut e);
    assert_eq!(msgs.len(), 1);
    assert_eq!(statuses, vec!["409 Message Size Exceeds MaxBytes"]);
}

fn reply_of(r: &'static str, batch: u64) -> PullRequest {
    PullRequest {
        reply: Bytes::from_static(r.as_bytes()),
        batch,
        ..PullRequest::default()
    }
}

/// (reply subject, pin id) of each delivery, and every status as "code description".
fn deliveries(engine: &mut Engine) -> (Vec<(String, Option<String>)>, Vec<String>) {
    let mut out = Vec::new();
    let mut statuses = Vec::new();
    for c in engine.take_commands() {
        match c {
            Command::Deliver { to, pin_id, .. } => {
                out.push((String::from_utf8_lossy(&to).into_owned(), pin_id))
            }
            Command::Status {
                code, description, ..
            } => statuses.push(format!("{code} {description}")),
            _ => {}
        }
    }
    (out, statuses)
}

#[test]
fn pinned_client_gets_everything_until_unpinned() {
    let store = store_with(&["a", "a", "a", "a"]);
    let mut p = pull_policy();
    p.priority = crate::Priority::PinnedClient { timeout_ns: 10 * S };
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.pull(reply_of("first", 1), &*store, 4, 0);
    let (out, _) = deliveries(&mut e);
    let pin = out[0]
        .1
        .clone()
        .expect("the first delivery carries the pin");
    e.pull(reply_of("standby", 5), &*store, 4, 0);
    assert!(
        deliveries(&mut e).0.is_empty(),
        "standby waits while a client is pinned"
    );
    let mut stale = reply_of("stale", 1);
    stale.pin_id = "not-the-pin".into();
    e.pull(stale, &*store, 4, 0);
    assert_eq!(deliveries(&mut e).1, vec!["423 Nats-Pin-Id mismatch"]);
    let mut again = reply_of("first", 1);
    again.pin_id = pin.clone();
    e.pull(again, &*store, 4, 0);
    assert_eq!(
        deliveries(&mut e).0,
        vec![("first".into(), Some(pin.clone()))]
    );
    // Quiet past the timeout: the pin goes and the standby is pinned anew.
    e.tick(&*store, 4, 20 * S);
    let (out, _) = deliveries(&mut e);
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|(to, id)| to == "standby" && id.as_deref() != Some(pin.as_str())));
    assert!(e.pin().is_some());
    assert!(e.unpin("admin"));
    assert!(e.pin().is_none());
}

#[test]
fn overflow_serves_conditional_pulls_only_when_behind() {
    let store = store_with(&["a", "a", "a"]);
    let mut p = pull_policy();
    p.priority = crate::Priority::Overflow;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    let mut far = reply_of("far", 1);
    far.min_pending = 5;
    e.pull(far, &*store, 3, 0);
    assert!(deliveries(&mut e).0.is_empty(), "3 pending < 5");
    let mut near = reply_of("far2", 1);
    near.min_pending = 2;
    e.pull(near, &*store, 3, 0);
    assert_eq!(deliveries(&mut e).0[0].0, "far2", "3 pending >= 2");
}

#[test]
fn prioritized_serves_the_lowest_priority_number_first() {
    let store = store_with(&["a", "a"]);
    let mut p = pull_policy();
    p.priority = crate::Priority::Prioritized;
    let mut e = Engine::new(p, StartPolicy::New, &*store, 0).unwrap();
    let mut low = reply_of("low", 1);
    low.priority = 5;
    let mut high = reply_of("high", 1);
    high.priority = 1;
    e.pull(low, &*store, 2, 0);
    e.pull(high, &*store, 2, 0);
    let mut store = store;
    store.append(b"a", b"", b"x", 0, None).unwrap();
    e.stream_changed(&*store, false);
    e.deliver(&*store, 3, 0);
    assert_eq!(deliveries(&mut e).0[0].0, "high");
}

#[test]
fn reset_redelivers_from_the_given_sequence() {
    let store = store_with(&["a", "a", "a", "a"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(3), &*store, 4, 0);
    let (msgs, _) = split(&mut e);
    e.ack(msgs[0].1, AckKind::Ack, None, &*store, 4, 0);
    split(&mut e);
    assert_eq!(e.reset(2), 2);
    assert_eq!(e.tracker.num_ack_pending(), 0);
    assert_eq!(e.num_pending(&*store), 3);
    e.pull(req(1), &*store, 4, 0);
    assert_eq!(split(&mut e).0[0].0, 2);
    // 0: back to just after the ack floor (seq 1 was acked; 2 is pending again).
    assert_eq!(e.reset(0), 2);
}

#[test]
fn ack_metrics_report_ack_time() {
    let store = store_with(&["a"]);
    let mut p = pull_policy();
    p.ack_metrics = true;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(1), &*store, 1, 10);
    let (msgs, _) = split(&mut e);
    e.ack(msgs[0].1, AckKind::Ack, None, &*store, 1, 35);
    let cmds: Vec<Command> = e.take_commands().collect();
    assert!(cmds.contains(&Command::AckMetric {
        stream_seq: 1,
        consumer_seq: 1,
        deliveries: 1,
        ack_time_ns: 25
    }));
}

#[test]
fn push_rate_limit_spaces_deliveries() {
    let store = store_with(&["a", "a", "a"]);
    let mut p = pull_policy();
    p.mode = Mode::Push {
        deliver_subject: Bytes::from_static(b"d"),
        flow_control: false,
        idle_heartbeat_ns: 0,
    };
    // "a" + "mN" = 3 bytes = 24 bits; at 24 bits/s one message per second.
    p.rate_limit_bps = 24;
    let mut e = Engine::new(p, StartPolicy::All, &*store, 0).unwrap();
    e.set_push_active(true);
    e.deliver(&*store, 3, 0);
    assert_eq!(split(&mut e).0.len(), 1);
    assert_eq!(e.next_wakeup_ns(), Some(S));
    e.tick(&*store, 3, S);
    assert_eq!(split(&mut e).0.len(), 1);
}

#[test]
fn requests_whose_client_went_away_are_skipped() {
    let store = store_with(&["a", "b"]);
    let mut e = Engine::new(pull_policy(), StartPolicy::All, &*store, 0).unwrap();
    e.set_reply_interest(Box::new(|reply| reply != b"gone"));
    e.pull(reply_of("gone", 5), &*store, 0, 10);
    e.pull(reply_of("live", 5), &*store, 0, 10);
    assert_eq!(e.num_waiting(), 2, "nothing to deliver yet: both wait");
    e.deliver(&*store, 2, 20);
    let (sent, statuses) = deliveries(&mut e);
    assert_eq!(
        sent.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(),
        ["live", "live"],
        "the dead request is dropped, its turn passes to the live one"
    );
    assert!(statuses.is_empty(), "nobody to tell: {statuses:?}");
    assert_eq!(e.num_waiting(), 1);
}

#[test]
fn a_pass_cut_by_its_budget_asks_to_come_straight_back() {
    let subjects = vec!["a"; 5000];
    let store = store_with(&subjects);
    let policy = Policy {
        ack: AckMode::None,
        ..pull_policy()
    };
    let mut e = Engine::new(policy, StartPolicy::All, &*store, 0).unwrap();
    e.pull(req(5000), &*store, 5000, 10);
    let (first, _) = split(&mut e);
    assert!(first.len() < 5000, "one pass is bounded: {}", first.len());
    assert_eq!(e.next_wakeup_ns(), Some(i64::MIN), "more is ready now");
    e.tick(&*store, 5000, 20);
    let (rest, _) = split(&mut e);
    assert_eq!(first.len() + rest.len(), 5000);
    assert_ne!(
        e.next_wakeup_ns(),
        Some(i64::MIN),
        "done: back to its timers"
    );
}
