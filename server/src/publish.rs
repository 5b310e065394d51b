//! One publisher, many viewers: what a cluster change means for the page is computed
//! once per StatefulSet on screen, not once per open stream.
//!
//! A [`Feed`] per StatefulSet (created when its first stream opens) waits for the
//! reflectors' change signal, computes the snapshot at most every [`COALESCE`], diffs
//! it with the previous one, lets the narrator and the ordering tracker add what the
//! change means (see `narrate` and `ordering`), and broadcasts the change as server-sent-event bytes,
//! framed and compressed once (see `gzip`) and shared by every stream (cloning
//! [`Bytes`] only counts a reference). A new stream starts from the feed's current snapshot, framed once per
//! revision. Ages are not in the snapshot (the browser computes them), so an idle
//! cluster publishes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use app::backend::{SharedBackend, Stories};
use app::error::ActionError;
use app::model::{Change, Narration, OrderingChart, Snapshot};
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::gzip::Frame;
use crate::narrate::Narrator;
use crate::ordering::Tracker;

/// The shortest time between two snapshots of one feed under churn.
pub const COALESCE: Duration = Duration::from_millis(50);
/// How long a feed waits after the first change before taking a snapshot, so that
/// what one cause changes at once (a probe's `Unhealthy` event and the pod turning
/// not ready arrive on two watches within a few milliseconds) is published together
/// rather than the second part a whole [`COALESCE`] later.
const SETTLE: Duration = Duration::from_millis(5);
/// How many messages a slow stream may fall behind before it is sent a fresh snapshot.
const BACKLOG: usize = 64;
/// How many StatefulSets can have feeds at once (each is one task).
pub const MAX_FEEDS: usize = 32;

/// A message of the live stream, as the browser's `EventSource` receives it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Wire<'a> {
    Snapshot(&'a Snapshot),
    Changes { revision: u64, changes: &'a [Change] },
}

/// `event: delta` with `message` as JSON: one server-sent event, ready to write plain
/// or gzipped.
fn frame(message: &Wire<'_>) -> Frame {
    const PREFIX: &[u8] = b"event: delta\ndata: ";
    let mut event = PREFIX.to_vec();
    // serde_json escapes newlines inside strings, so the JSON is one `data:` line.
    if let Err(e) = serde_json::to_writer(&mut event, message) {
        tracing::error!(error = %e, "could not serialize a stream message");
        event.truncate(PREFIX.len());
        event.extend_from_slice(b"{}");
    }
    event.extend_from_slice(b"\n\n");
    // A snapshot of 1,000 pods is 1.5 MB and stays while the feed lives: without the
    // room the vector grew into.
    event.shrink_to_fit();
    Frame::new(Bytes::from(event))
}

/// One broadcast change: its revision and its framed bytes.
#[derive(Clone, Debug)]
pub struct Message {
    /// The snapshot revision after the change.
    pub revision: u64,
    /// The server-sent event.
    pub frame: Frame,
}

struct Current {
    snapshot: Snapshot,
    /// `snapshot` framed as a `snapshot` message, made when a stream first needs it.
    framed: Option<Frame>,
    /// Tells what happened between snapshots, once for every viewer.
    narrator: Narrator,
    /// Follows scale-ups and re-creations for the ordering chart.
    ordering: Tracker,
}

impl Current {
    fn new(snapshot: Snapshot) -> Mutex<Self> {
        Mutex::new(Current { snapshot, framed: None, narrator: Narrator::default(), ordering: Tracker::default() })
    }
}

/// The server's clock in Unix seconds, for the timeline.
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The live state of one StatefulSet's page, shared by its streams.
pub struct Feed {
    current: Mutex<Current>,
    tx: broadcast::Sender<Message>,
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current snapshot as a framed message, and its revision.
    pub fn snapshot_frame(&self) -> Message {
        let mut current = self.lock();
        Self::framed(&mut current)
    }

    fn framed(current: &mut Current) -> Message {
        let revision = current.snapshot.revision;
        let frame = current.framed.get_or_insert_with(|| frame(&Wire::Snapshot(&current.snapshot))).clone();
        Message { revision, frame }
    }

    /// Replaces the snapshot with `next` and broadcasts what changed, if anything.
    /// Returns the number of changed rows.
    fn publish(&self, mut next: Snapshot) -> usize {
        let mut current = self.lock();
        let now = unix_now();
        let Current { snapshot, narrator, ordering, .. } = &mut *current;
        narrator.observe(snapshot, &next, now);
        ordering.observe(snapshot, &next, now);
        next.timeline = narrator.timeline().to_vec();
        next.ordering = ordering.charts().to_vec();
        let changes = current.snapshot.diff(&next);
        if changes.is_empty() {
            return 0;
        }
        let revision = current.snapshot.revision + 1;
        next.revision = revision;
        let frame = frame(&Wire::Changes { revision, changes: &changes });
        current.snapshot = next;
        current.framed = None;
        // No receivers is not an error: the feed task notices and ends.
        let _ = self.tx.send(Message { revision, frame });
        changes.len()
    }
}

/// What a new stream gets: the snapshot to start from and the changes after it.
pub struct Subscription {
    /// The feed, for a fresh snapshot after falling behind.
    pub feed: Arc<Feed>,
    /// The first message: the current snapshot.
    pub first: Message,
    /// Every change after `first`.
    pub changes: broadcast::Receiver<Message>,
}

/// The feeds, by StatefulSet (`None`: the default one).
pub struct Publisher {
    backend: SharedBackend,
    changes: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    feeds: Mutex<HashMap<Option<String>, Arc<Feed>>>,
}

impl Publisher {
    /// A publisher reading snapshots from `backend` whenever `changes` moves, until
    /// `shutdown` turns true.
    pub fn new(backend: SharedBackend, changes: watch::Receiver<u64>, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        Arc::new(Publisher { backend, changes, shutdown, feeds: Mutex::default() })
    }

    fn feeds(&self) -> MutexGuard<'_, HashMap<Option<String>, Arc<Feed>>> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes a stream to `statefulset`'s feed, starting the feed if needed.
    /// The name must already be validated.
    pub fn subscribe(self: &Arc<Self>, statefulset: Option<String>) -> Result<Subscription, ActionError> {
        let mut feeds = self.feeds();
        let feed = match feeds.get(&statefulset) {
            Some(feed) => feed.clone(),
            None => {
                if feeds.len() >= MAX_FEEDS {
                    return Err(ActionError::Unavailable(format!(
                        "the dashboard is already following {MAX_FEEDS} StatefulSets; open one of those, or try again later"
                    )));
                }
                // Marked seen before the first snapshot, so no change falls in between.
                let mut changes = self.changes.clone();
                changes.borrow_and_update();
                let mut snapshot = self.backend.snapshot(statefulset.clone())?;
                snapshot.revision = 1;
                let feed = Arc::new(Feed { current: Current::new(snapshot), tx: broadcast::channel(BACKLOG).0 });
                feeds.insert(statefulset.clone(), feed.clone());
                tokio::spawn(self.clone().run(statefulset, feed.clone(), changes));
                feed
            }
        };
        drop(feeds);
        // Subscribing under the feed's lock: a change is either in `first` or in `changes`.
        let mut current = feed.lock();
        let changes = feed.tx.subscribe();
        let first = Feed::framed(&mut current);
        drop(current);
        Ok(Subscription { feed, first, changes })
    }

    /// How many feeds are running (for tests and the benchmark).
    pub fn feed_count(&self) -> usize {
        self.feeds().len()
    }

    async fn run(self: Arc<Self>, key: Option<String>, feed: Arc<Feed>, mut changes: watch::Receiver<u64>) {
        let mut shutdown = self.shutdown.clone();
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            tokio::time::sleep(SETTLE).await;
            changes.mark_unchanged();
            {
                let mut feeds = self.feeds();
                if feed.tx.receiver_count() == 0 {
                    feeds.remove(&key);
                    return;
                }
            }
            match self.backend.snapshot(key.clone()) {
                Ok(next) => {
                    feed.publish(next);
                }
                Err(e) => tracing::warn!(statefulset = ?key, error = %e, "could not compute the page"),
            }
            tokio::time::sleep(COALESCE - SETTLE).await;
        }
        self.feeds().remove(&key);
    }
}

impl Stories for Publisher {
    fn story(&self, statefulset: Option<&str>) -> Option<(Vec<Narration>, Vec<OrderingChart>)> {
        let feed = self.feeds().get(&statefulset.map(str::to_owned)).cloned()?;
        let current = feed.lock();
        Some((current.snapshot.timeline.clone(), current.snapshot.ordering.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::PodView;

    fn snap(pods: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            pods: pods
                .iter()
                .enumerate()
                .map(|(i, (n, s))| PodView { name: (*n).into(), ordinal: i as i32, status: (*s).into(), ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }

    fn feed(s: Snapshot) -> Feed {
        Feed { current: Current::new(s), tx: broadcast::channel(BACKLOG).0 }
    }

    #[test]
    fn one_change_is_framed_once_and_every_stream_gets_the_same_bytes() {
        let f = feed(snap(&[("web-0", "Running"), ("web-1", "Running")]));
        let (mut a, mut b) = (f.tx.subscribe(), f.tx.subscribe());
        assert_eq!(f.publish(snap(&[("web-0", "Running"), ("web-1", "Terminating")])), 1);
        let (ma, mb) = (a.try_recv().expect("a"), b.try_recv().expect("b"));
        assert_eq!(ma.frame.plain.as_ptr(), mb.frame.plain.as_ptr(), "the streams share one buffer");
        assert_eq!(ma.frame.deflated.as_ptr(), mb.frame.deflated.as_ptr(), "and one compressed buffer");
        let text = std::str::from_utf8(&ma.frame.plain).expect("utf-8");
        assert!(text.starts_with("event: delta\ndata: {\"changes\":{\"revision\":1,"), "{text}");
        assert!(text.contains("web-1") && !text.contains("web-0"), "only the changed row travels: {text}");
        assert!(text.ends_with("\n\n"));
    }

    #[test]
    fn an_unchanged_snapshot_publishes_nothing() {
        let f = feed(snap(&[("web-0", "Running")]));
        let mut rx = f.tx.subscribe();
        assert_eq!(f.publish(snap(&[("web-0", "Running")])), 0);
        assert!(rx.try_recv().is_err());
        assert_eq!(f.snapshot_frame().revision, 0);
    }

    #[test]
    fn the_snapshot_frame_is_made_once_per_revision() {
        let f = feed(snap(&[("web-0", "Running")]));
        let (one, two) = (f.snapshot_frame(), f.snapshot_frame());
        assert_eq!(one.frame.plain.as_ptr(), two.frame.plain.as_ptr());
        assert_eq!(one.frame.deflated.as_ptr(), two.frame.deflated.as_ptr());
        f.publish(snap(&[("web-0", "Terminating")]));
        let three = f.snapshot_frame();
        assert_eq!(three.revision, 1);
        assert!(std::str::from_utf8(&three.frame.plain).expect("utf-8").contains("Terminating"));
    }
}
