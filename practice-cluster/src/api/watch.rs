//! Watches: a chunked stream of one JSON event per line, as kube-rs and kubectl expect.
//!
//! Each watch is a task that replays what the client missed (or the current state),
//! then forwards the kind's live feed through the request's namespace and selectors,
//! with bookmarks, `timeoutSeconds`, and `410 Expired` as an ERROR event.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::error::{ApiError, Result};
use super::query::Params;
use super::resource::{Format, selected, table};
use crate::Cluster;
use crate::kinds::ApiKind;
use crate::store::{Change, ChangeType, StoreError};

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// A watch's response body.
pub type WatchBody = Body;

fn line(kind: &str, object: Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// Starts a watch of `K` and returns the streaming body.
pub fn start<K: ApiKind>(cluster: Arc<Cluster>, ns: Option<String>, params: Params, format: Format) -> Result<WatchBody> {
    let from = match params.resource_version.as_deref() {
        None | Some("0") => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("invalid resource version {v:?}: must be a number"))
        })?),
    };
    let from = if params.send_initial_events { None } else { from };
    // Check the selectors once up front so a bad one is a 400, not a broken stream.
    if let Some(obj) = K::collection(&cluster.store).list(ns.as_deref()).0.first() {
        selected(obj.as_ref(), &params)?;
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
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
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: ApiKind> Sender<K> {
    fn matches(&self, obj: &K) -> bool {
        let in_ns = self.ns.as_deref().is_none_or(|ns| obj.metadata().namespace.as_deref() == Some(ns));
        in_ns && selected(obj, &self.params).unwrap_or(false)
    }

    fn encode(&mut self, obj: &Arc<K>) -> Value {
        match self.format {
            Format::Json => serde_json::to_value(obj.as_ref()).unwrap_or(Value::Null),
            Format::Table(include) => {
                let t = table(std::slice::from_ref(obj), self.cluster.clock.now(), include, !self.headers_sent, None, None);
                self.headers_sent = true;
                t.unwrap_or(Value::Null)
            }
        }
    }

    /// Sends one change if it concerns this watch; false when the client has gone.
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
        let obj = self.encode(&change.object);
        self.tx.send(Ok(line(kind.as_str(), obj))).await.is_ok()
    }

    async fn bookmark(&mut self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": K::KIND, "apiVersion": K::API_VERSION, "metadata": meta});
        self.tx.send(Ok(line("BOOKMARK", obj))).await.is_ok()
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
        _kind: std::marker::PhantomData,
    };
    for change in &start.replay {
        if !out.send(change).await {
            return;
        }
    }
    if initial_events {
        let rv = start.replay.iter().map(|c| c.rv).max().unwrap_or_else(|| collection.consistent_rv());
        if !out.bookmark(rv, true).await {
            return;
        }
    }
    let mut feed = start.feed;
    let mut expired = start.expired;
    let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(60 * 60 * 24 * 365)));
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = out.tx.closed() => return,
            _ = expired.changed() => return,
            _ = tick.tick(), if bookmarks => {
                let rv = collection.consistent_rv();
                // Everything up to `rv` is queued in the feed: deliver it before saying so.
                loop {
                    match feed.try_recv() {
                        Ok(change) => if !out.send(&change).await { return },
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(_) => return,
                    }
                }
                if !out.bookmark(rv.max(out.last_rv), false).await {
                    return;
                }
            }
            change = feed.recv() => match change {
                Ok(change) => if change.rv > out.last_rv && !out.send(&change).await { return },
                // Lagging or closed: end the watch; the client resumes from its last version.
                Err(_) => return,
            },
        }
    }
}
