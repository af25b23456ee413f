//! Busy-polling a connection's next read for a few microseconds before parking.
//!
//! A client that awaits each reply (request/reply, a KV `get` or `put` in a loop) sends its
//! next operation tens of microseconds after our answer. Parking the worker in `epoll_wait`
//! for that gap costs a full wake-up when the bytes arrive — on a virtual machine an idle
//! vCPU halts, and waking it dominates the round trip. Go's scheduler keeps spinning threads
//! for the same reason. Here the reader polls its read future, yields to the runtime (which
//! runs any other ready task and lets the I/O driver record readiness) and to the OS (so a
//! thread waiting for this CPU, an fsync completing say, is not held up), and polls again,
//! for at most `budget`; then it awaits as usual.
//!
//! Bounded so it cannot eat the machine: at most `MAX_SPINNERS` readers spin at a time, only
//! readers whose last batch was small (a request/reply pattern, not a bulk stream, whose next
//! bytes are usually already there), and only once their next read has been found pending.
//! The cost: a client whose small writes arrive less than `budget` apart keeps one core busy
//! for as long as it keeps that pace (that is the point for request/reply; for a light steady
//! publisher it is CPU spent on latency nobody waits for).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Readers spinning at once, server-wide: one vCPU's worth keeps the rest for real work.
const MAX_SPINNERS: usize = 1;

static SPINNERS: AtomicUsize = AtomicUsize::new(0);

/// Polls `fut`, and while it is pending yields and polls again until `budget` has passed
/// (when a spinning slot is free), then awaits it.
///
/// Takes the future pinned by the caller: moved in by value, it would be stored again in this
/// function's state, and every connection's reader task would carry the copy.
pub async fn poll_spinning<F: Future>(fut: Pin<&mut F>, budget: Duration) -> F::Output {
    spin_with(fut, budget, &SPINNERS).await
}

async fn spin_with<F: Future>(
    mut fut: Pin<&mut F>,
    budget: Duration,
    spinners: &'static AtomicUsize,
) -> F::Output {
    if budget.is_zero() {
        return fut.await;
    }
    // Bytes already waiting need no slot: a streaming client does not hold it between reads.
    if let Poll::Ready(out) = poll_once(fut.as_mut()).await {
        return out;
    }
    if let Some(_slot) = SpinSlot::take(spinners) {
        let deadline = Instant::now() + budget;
        loop {
            if let Poll::Ready(out) = poll_once(fut.as_mut()).await {
                return out;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
    }
    fut.await
}

/// Polls `fut` once, registering this task's waker, without waiting for it.
async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// A held spinning slot of a counter, released on drop.
struct SpinSlot(&'static AtomicUsize);

impl SpinSlot {
    fn take(spinners: &'static AtomicUsize) -> Option<SpinSlot> {
        spinners
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SPINNERS).then_some(n + 1)
            })
            .ok()
            .map(|_| SpinSlot(spinners))
    }
}

impl Drop for SpinSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    /// Ready on its `ready_on`th poll without ever waking its waker: only a busy-poll sees it.
    struct ReadyOnPoll {
        polls: Arc<AtomicU32>,
        ready_on: u32,
    }

    impl Future for ReadyOnPoll {
        type Output = u32;
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<u32> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= self.ready_on {
                Poll::Ready(n)
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test]
    async fn spinning_sees_readiness_that_never_wakes() {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let polls = Arc::new(AtomicU32::new(0));
        let fut = ReadyOnPoll {
            polls: polls.clone(),
            ready_on: 3,
        };
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            spin_with(std::pin::pin!(fut), Duration::from_millis(500), &COUNTER),
        )
        .await;
        assert_eq!(
            out.ok(),
            Some(3),
            "the third poll completes within the spin"
        );
    }

    #[tokio::test]
    async fn after_the_budget_it_waits_for_a_wake() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let waiter = tokio::spawn(async move {
            spin_with(std::pin::pin!(rx), Duration::from_micros(20), &COUNTER).await
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished(), "pending until the value is sent");
        assert_eq!(
            COUNTER.load(Ordering::SeqCst),
            0,
            "the slot is released after the budget"
        );
        tx.send(7).expect("receiver alive");
        assert_eq!(waiter.await.expect("no panic").ok(), Some(7));
    }

    #[test]
    fn slots_are_bounded_and_returned() {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let held: Vec<SpinSlot> = std::iter::from_fn(|| SpinSlot::take(&COUNTER))
            .take(MAX_SPINNERS + 1)
            .collect();
        assert_eq!(held.len(), MAX_SPINNERS);
        drop(held);
        assert!(
            SpinSlot::take(&COUNTER).is_some(),
            "dropped slots can be taken again"
        );
    }

    /// One poll of the spinning future: how often did it poll the inner one?
    async fn inner_polls_after_one_poll(budget: Duration) -> u32 {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let polls = Arc::new(AtomicU32::new(0));
        let fut = ReadyOnPoll {
            polls: polls.clone(),
            ready_on: u32::MAX,
        };
        let mut inner = std::pin::pin!(fut);
        let spinning = std::pin::pin!(spin_with(inner.as_mut(), budget, &COUNTER));
        assert!(poll_once(spinning).await.is_pending());
        polls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn zero_budget_does_not_spin() {
        assert_eq!(inner_polls_after_one_poll(Duration::ZERO).await, 1);
        assert!(
            inner_polls_after_one_poll(Duration::from_secs(1)).await >= 2,
            "a budget polls again before yielding"
        );
    }
}
