//! Watches: a chunked stream of one JSON event per line, as kube-rs and kubectl expect.
//!
//! Each watch is a task that replays what the client missed (or the current state),
//! then reads the kind's history from its own cursor whenever the kind is written,
//! taking everything new at once and sending it in a few large chunks, through the
//! request's namespace and selectors, with bookmarks, `timeoutSeconds`, and
//! `410 Expired` as an ERROR event.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::error::{ApiError, Result};
use super::query::Params;
use super::resource::{Format, Include, selected, table};
use crate::Cluster;
use crate::kinds::ApiKind;
use crate::store::{Change, ChangeType, Collection, StoreError};

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);
/// Events already waiting are sent together, up to this many bytes per chunk: a burst
/// of thousands of changes then costs a few writes per watch, not one per event.
const BATCH_BYTES: usize = 64 * 1024;
/// Room for the event that takes a batch past [`BATCH_BYTES`], so it never grows.
const BATCH_SLACK: usize = 16 * 1024;

/// Changes taken from the history per read, so its lock is held briefly.
const READ_AT_ONCE: usize = 512;
/// The shortest time between two reads of a busy watch: during a burst of thousands of
/// writes a second, each watch then wakes and writes to its client a few dozen times a
/// second with many events each, instead of once per event. A change after a quiet
/// spell is sent at once (`kubectl get -w` and the dashboard see it without delay).
const LINGER: Duration = Duration::from_millis(20);

/// A watch's response body.
pub type WatchBody = Body;

fn line(kind: &str, object: Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// Appends `{"type":KIND,"object":OBJECT}` and a newline, around an object already encoded.
fn push_json_line(out: &mut Vec<u8>, kind: &str, object: &[u8]) {
    out.reserve(object.len() + 40);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
}

/// Starts a watch of `K` and returns the streaming body.
pub fn start<K: ApiKind>(cluster: Arc<Cluster>, ns: Option<String>, params: Params, format: Format) -> Result<WatchBody> {
    let from = match params.resource_version.as_deref() {
        None | Some("0") => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version {v:?}: must be a number")))?),
    };
    let from = if params.send_initial_events { None } else { from };
    // Check the selectors once up front so a bad one is a 400, not a broken stream.
    if let Some(obj) = K::collection(&cluster.store).list(ns.as_deref()).0.first() {
        selected(obj.as_ref(), &params)?;
    }
    // Few chunks in flight: each may hold a batch of events ([`BATCH_BYTES`]).
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(run::<K>(cluster, ns, params, format, from, tx));
    Ok(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

struct Sender<K> {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    cluster: Arc<Cluster>,
    ns: Option<String>,
    params: Params,
    format: Format,
    headers_sent: bool,
    last_rv: u64,
    /// Events not yet handed to the response body.
    batch: Vec<u8>,
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: ApiKind> Sender<K> {
    fn matches(&self, obj: &K) -> bool {
        let in_ns = self.ns.as_deref().is_none_or(|ns| obj.metadata().namespace.as_deref() == Some(ns));
        in_ns && selected(obj, &self.params).unwrap_or(false)
    }

    /// The object as a one-row Table; the first carries the column definitions.
    fn table_row(&mut self, obj: &Arc<K>, include: Include) -> Value {
        let t = table(std::slice::from_ref(obj), self.cluster.clock.now(), include, !self.headers_sent, None, None);
        self.headers_sent = true;
        t.unwrap_or(Value::Null)
    }

    /// Queues one change if it concerns this watch, sending the batch once it is large;
    /// false when the client has gone.
    async fn send(&mut self, change: &Change<K>) -> bool {
        let now_in = self.matches(&change.object);
        let was_in = change.old.as_ref().is_some_and(|o| self.matches(o));
        let kind = match (change.kind, was_in, now_in) {
            (ChangeType::Added, _, true) => ChangeType::Added,
            (ChangeType::Modified, true, true) => ChangeType::Modified,
            (ChangeType::Modified, false, true) => ChangeType::Added,
            (ChangeType::Modified, true, false) => ChangeType::Deleted,
            (ChangeType::Deleted, _, true) => ChangeType::Deleted,
            _ => {
                self.last_rv = self.last_rv.max(change.rv);
                return true;
            }
        };
        self.last_rv = self.last_rv.max(change.rv);
        match self.format {
            // The object's JSON is encoded once per change and shared by every watch.
            Format::Json => push_json_line(&mut self.batch, kind.as_str(), change.json()),
            Format::Table(include) => {
                let row = line(kind.as_str(), self.table_row(&change.object, include));
                self.batch.extend_from_slice(&row);
            }
        }
        self.batch.len() < BATCH_BYTES || self.flush().await
    }

    /// Sends the queued events; false when the client has gone.
    async fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = Bytes::from(std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_BYTES + BATCH_SLACK)));
        self.tx.send(Ok(batch)).await.is_ok()
    }

    async fn bookmark(&mut self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": K::KIND, "apiVersion": K::API_VERSION, "metadata": meta});
        self.flush().await && self.tx.send(Ok(line("BOOKMARK", obj))).await.is_ok()
    }
}

/// Sends every change of the kind after the watch's cursor, in large chunks. False when
/// the client has gone, or when the history no longer reaches back to the cursor (the
/// watch fell that far behind): the watch then ends and the client's resume gets
/// `410 Expired`.
async fn drain<K: ApiKind>(collection: &Collection<K>, out: &mut Sender<K>) -> bool {
    loop {
        let Ok(changes) = collection.since(out.last_rv, READ_AT_ONCE) else { return false };
        if changes.is_empty() {
            return out.flush().await;
        }
        for change in &changes {
            if !out.send(change).await {
                return false;
            }
        }
    }
}

async fn run<K: ApiKind>(
    cluster: Arc<Cluster>,
    ns: Option<String>,
    params: Params,
    format: Format,
    from: Option<u64>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let collection = K::collection(&cluster.store);
    let start = match collection.watch(from) {
        Ok(s) => s,
        Err(StoreError::TooOld { requested, oldest }) => {
            let status = json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {requested} ({oldest})"),
                "reason": "Expired", "code": 410,
            });
            let _ = tx.send(Ok(line("ERROR", status))).await;
            return;
        }
        Err(_) => return,
    };
    let bookmarks = params.bookmarks;
    let initial_events = params.send_initial_events;
    let timeout = params.timeout_seconds.map(Duration::from_secs);
    let mut out = Sender::<K> {
        tx,
        cluster: cluster.clone(),
        ns,
        params,
        format,
        headers_sent: false,
        last_rv: from.unwrap_or(0),
        batch: Vec::with_capacity(BATCH_BYTES + BATCH_SLACK),
        _kind: std::marker::PhantomData,
    };
    for change in &start.replay {
        if !out.send(change).await {
            return;
        }
    }
    if !out.flush().await {
        return;
    }
    if initial_events {
        let rv = start.replay.iter().map(|c| c.rv).max().unwrap_or_else(|| collection.consistent_rv());
        if !out.bookmark(rv, true).await {
            return;
        }
    }
    out.last_rv = out.last_rv.max(start.cursor);
    let mut head = start.head;
    let mut expired = start.expired;
    let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(60 * 60 * 24 * 365)));
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    loop {
        // Marked seen before reading, so a write during the read rings again.
        head.borrow_and_update();
        let read_at = tokio::time::Instant::now();
        if !drain(collection, &mut out).await {
            return;
        }
        tokio::select! {
            _ = &mut deadline => return,
            _ = out.tx.closed() => return,
            _ = expired.changed() => return,
            _ = tick.tick(), if bookmarks => {
                let rv = collection.consistent_rv();
                // Everything up to `rv` is in the history: deliver it before saying so.
                if !drain(collection, &mut out).await || !out.bookmark(rv.max(out.last_rv), false).await {
                    return;
                }
            }
            rung = head.changed() => {
                if rung.is_err() {
                    return;
                }
                tokio::time::sleep_until(read_at + LINGER).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::{Clock, Config};

    #[tokio::test]
    async fn a_watch_that_falls_behind_a_burst_still_receives_every_event() {
        let cluster = Cluster::new(Config::default(), Clock::manual(jiff::Timestamp::UNIX_EPOCH));
        let from = cluster.store.shared.current_rv();
        let query = format!("watch=1&timeoutSeconds=1&resourceVersion={from}");
        let params = Params::parse(Some(&query)).expect("params");
        let body = start::<Pod>(cluster.clone(), Some("default".into()), params, Format::Json).expect("watch");
        // Let the watch start, then write many more changes than it reads at once before
        // it can read any of them.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        let burst = 9_000;
        for i in 0..burst {
            let meta = ObjectMeta { name: Some(format!("p-{i}")), namespace: Some("default".into()), ..Default::default() };
            cluster.store.pods.create(Pod { metadata: meta, ..Default::default() }).expect("create");
        }
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        let added = bytes.split(|b| *b == b'\n').filter(|l| l.starts_with(br#"{"type":"ADDED""#)).count();
        assert_eq!(added, burst);
    }
}
