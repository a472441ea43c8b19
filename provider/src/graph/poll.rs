//! Waiting for Graph's asynchronous operations, and creates that must not
//! run twice.

use std::future::Future;
use std::time::{Duration, Instant};

use super::client::Scope;
use super::error::{ErrorKind, GraphError, Result};

/// Polls `check` until it returns `Some`, with growing pauses (250 ms up to
/// `max_pause`), until the scope's deadline. For Graph's asynchronous
/// operations (MTO joins and removals) there is no event to wait on.
pub async fn wait_until<T, F, Fut>(
    scope: &Scope,
    max_pause: Duration,
    what: &str,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() + pause >= scope.deadline {
            return Err(GraphError::new(
                ErrorKind::Timeout,
                format!(
                    "timed out after {:.0?} waiting for {what}; raise the timeout in the `timeouts` block",
                    started.elapsed()
                ),
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = scope.cancel.cancelled() => {
                return Err(GraphError::new(ErrorKind::Cancelled, format!("cancelled while waiting for {what}")));
            }
        }
        pause = (pause * 2).min(max_pause);
    }
}

/// What [`create_once`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Created<T> {
    /// This call created the object (also when the create's answer was
    /// lost and a look found it afterwards).
    New(T),
    /// The object was there before this call created anything: left by an
    /// interrupted apply, or made by someone else.
    Existing(T),
}

impl<T> Created<T> {
    pub fn into_inner(self) -> T {
        match self {
            Created::New(t) | Created::Existing(t) => t,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Created::New(_))
    }
}

/// How many lost answers (or conflicts with an object not yet visible) a
/// create survives before it reports the failure.
const MAX_LOST_ANSWERS: u32 = 8;

/// Creates an object that must exist only once: looks for it first
/// (`find`), creates it only when it is not there, and when the create's
/// answer is lost (no answer) or Graph reports a conflict, looks again
/// before trying again, so a lost answer never leaves two objects.
pub async fn create_once<T, F, FFut, C, CFut>(
    scope: &Scope,
    mut find: F,
    mut create: C,
) -> Result<Created<T>>
where
    F: FnMut() -> FFut,
    FFut: Future<Output = Result<Option<T>>>,
    C: FnMut() -> CFut,
    CFut: Future<Output = Result<T>>,
{
    let mut lost = 0;
    // Whether a create went out and its answer never came back: what the
    // next look finds is then (almost surely) that create's object. A
    // conflict says the opposite: someone else's object is in the way.
    let mut answer_lost = false;
    loop {
        if let Some(found) = find().await? {
            return Ok(if answer_lost {
                Created::New(found)
            } else {
                Created::Existing(found)
            });
        }
        match create().await {
            Ok(made) => return Ok(Created::New(made)),
            Err(e)
                if matches!(e.kind, ErrorKind::Transport | ErrorKind::Conflict)
                    && lost < MAX_LOST_ANSWERS =>
            {
                lost += 1;
                answer_lost |= e.kind == ErrorKind::Transport;
                let pause = Duration::from_millis(250 << lost.min(5));
                if Instant::now() + pause >= scope.deadline {
                    return Err(e);
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = scope.cancel.cancelled() => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio_util::sync::CancellationToken;

    use super::*;

    fn scope(ms: u64) -> Scope {
        Scope::new(&CancellationToken::new(), Duration::from_millis(ms))
    }

    #[tokio::test]
    async fn wait_until_times_out_with_a_clear_message() {
        let e = wait_until(
            &scope(600),
            Duration::from_millis(100),
            "the join",
            || async { Ok::<Option<()>, _>(None) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("the join"));
    }

    #[tokio::test]
    async fn an_existing_object_is_not_created_again() {
        let creates = AtomicUsize::new(0);
        let r = create_once(
            &scope(5_000),
            || async { Ok(Some("there")) },
            || async {
                creates.fetch_add(1, Ordering::SeqCst);
                Ok("new")
            },
        )
        .await
        .unwrap();
        assert_eq!(r, Created::Existing("there"));
        assert_eq!(creates.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_lost_answer_is_followed_by_a_look_not_a_second_create() {
        // The first create happened but its answer was lost: the next look
        // finds the object.
        let creates = AtomicUsize::new(0);
        let r = create_once(
            &scope(10_000),
            || async {
                Ok((creates.load(Ordering::SeqCst) > 0).then_some("made by the lost create"))
            },
            || async {
                creates.fetch_add(1, Ordering::SeqCst);
                Err::<&str, _>(GraphError::new(ErrorKind::Transport, "connection reset"))
            },
        )
        .await
        .unwrap();
        assert_eq!(r, Created::New("made by the lost create"));
        assert_eq!(creates.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn other_failures_are_reported_at_once() {
        let creates = AtomicUsize::new(0);
        let e = create_once(
            &scope(10_000),
            || async { Ok(None::<()>) },
            || async {
                creates.fetch_add(1, Ordering::SeqCst);
                Err(GraphError::new(ErrorKind::Forbidden, "no"))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert_eq!(creates.load(Ordering::SeqCst), 1);
    }
}
