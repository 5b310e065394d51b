//! `GET /api/stream`: the live page as server-sent events, from the [`Publisher`]'s
//! shared bytes (gzipped when the browser accepts it, from chunks compressed once for
//! every stream), with a bound on open streams per client address and overall, and an
//! end when the server shuts down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::error::ActionError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{Extensions, HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::gzip::{self, Frame, Member};
use crate::publish::{Feed, Message, Subscription};
use crate::web::{AppState, Choice, refuse};

/// How often an idle stream sends a comment line, so proxies and browsers keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many streams may be open.
#[derive(Debug)]
pub struct StreamLimits {
    /// Overall.
    pub total: usize,
    /// From one client address.
    pub per_client: usize,
    open: Mutex<(usize, HashMap<Option<IpAddr>, usize>)>,
}

/// One open stream, counted until dropped.
#[derive(Debug)]
pub struct Permit {
    limits: Arc<StreamLimits>,
    client: Option<IpAddr>,
}

impl StreamLimits {
    /// Limits of `total` streams, `per_client` from one address.
    pub fn new(total: usize, per_client: usize) -> Arc<Self> {
        Arc::new(StreamLimits { total, per_client, open: Mutex::default() })
    }

    /// Counts a new stream from `client`, or says why there is no room.
    pub fn acquire(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Permit, ActionError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mine = open.1.get(&client).copied().unwrap_or(0);
        if open.0 >= self.total {
            return Err(ActionError::Unavailable(format!(
                "the dashboard is showing the lab live to {} viewers, its maximum (--max-streams); reload in a minute",
                self.total
            )));
        }
        if mine >= self.per_client {
            return Err(ActionError::Unavailable(format!(
                "this address already has {} live views open, the most one address may have (--max-streams-per-client); close a tab",
                self.per_client
            )));
        }
        open.0 += 1;
        *open.1.entry(client).or_default() += 1;
        Ok(Permit { limits: self.clone(), client })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        crate::memory::viewer_activity();
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

/// `GET /api/stream[?statefulset=NAME]`: events named `delta`, each a JSON `Delta`:
/// the current snapshot, then the changes; gzipped if `Accept-Encoding` allows.
pub async fn stream(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap, Query(choice): Query<Choice>) -> Response {
    let chosen = match choice.chosen() {
        Ok(chosen) => chosen,
        Err(e) => return refuse(e),
    };
    let client = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let permit = match state.limits.acquire(client) {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    let subscription = match state.publisher.subscribe(chosen) {
        Ok(s) => s,
        Err(e) => return refuse(e),
    };
    crate::memory::viewer_activity();
    let gzipped = headers.get_all(header::ACCEPT_ENCODING).iter().any(|v| v.to_str().is_ok_and(gzip::accepted));
    let body = Body::from_stream(events(subscription, state.shutdown.clone(), permit, gzipped.then(Member::default)));
    let mut response = (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache"), (header::HeaderName::from_static("x-accel-buffering"), "no")],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::VARY, header::HeaderValue::from_static("accept-encoding"));
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
    }
    response
}

struct Open {
    /// The feed, for a fresh snapshot after falling behind.
    feed: Arc<Feed>,
    /// Every change after the first message.
    changes: broadcast::Receiver<Message>,
    /// The gzip member this stream writes, or `None` for plain bytes.
    gzip: Option<Member>,
    /// Whether the last bytes (the gzip trailer) are sent.
    ended: bool,
    /// The revision the browser has; older changes are skipped.
    seen: u64,
    first: Option<Message>,
    keep_alive: tokio::time::Interval,
    shutdown: watch::Receiver<bool>,
    _permit: Permit,
}

impl Open {
    /// `frame` as this stream sends it.
    fn send(&mut self, frame: &Frame) -> Bytes {
        match &mut self.gzip {
            Some(member) => member.send(frame),
            None => frame.plain.clone(),
        }
    }

    /// The stream's last bytes, if it has any: the gzip trailer.
    fn end(&mut self) -> Option<Bytes> {
        self.ended = true;
        self.gzip.take().map(Member::finish)
    }
}

/// The stream's bytes: the first snapshot, then each change, keep-alives while idle,
/// a fresh snapshot after falling behind; ends when the server shuts down.
fn events(sub: Subscription, shutdown: watch::Receiver<bool>, permit: Permit, gzip: Option<Member>) -> impl futures::Stream<Item = Result<Bytes, Infallible>> {
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.reset();
    // The first message is sent once and not kept: at 1,000 pods it is a 1.5 MB snapshot.
    let Subscription { feed, first, changes } = sub;
    let open = Open { seen: first.revision, feed, changes, gzip, ended: false, first: Some(first), keep_alive, shutdown, _permit: permit };
    futures::stream::unfold(open, |mut o| async move {
        if o.ended {
            return None;
        }
        if let Some(first) = o.first.take() {
            let bytes = o.send(&first.frame);
            return Some((Ok(bytes), o));
        }
        loop {
            let next = tokio::select! {
                message = o.changes.recv() => Some(message),
                _ = o.keep_alive.tick() => None,
                _ = o.shutdown.wait_for(|stop| *stop) => Some(Err(RecvError::Closed)),
            };
            let frame = match next {
                None => Frame::keep_alive(),
                Some(Ok(m)) if m.revision <= o.seen => continue,
                Some(Ok(m)) => {
                    o.seen = m.revision;
                    m.frame
                }
                Some(Err(RecvError::Lagged(_))) => {
                    let fresh = o.feed.snapshot_frame();
                    o.seen = fresh.revision;
                    fresh.frame
                }
                // The server is stopping (or the feed is gone): end the stream.
                Some(Err(RecvError::Closed)) => return o.end().map(|last| (Ok(last), o)),
            };
            let bytes = o.send(&frame);
            return Some((Ok(bytes), o));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_bounded_per_address_and_overall_and_freed_on_drop() {
        let limits = StreamLimits::new(3, 2);
        let a: Option<IpAddr> = "10.0.0.1".parse().ok();
        let b: Option<IpAddr> = "10.0.0.2".parse().ok();
        let a1 = limits.acquire(a).expect("first");
        let _a2 = limits.acquire(a).expect("second");
        let e = limits.acquire(a).expect_err("third from one address");
        assert_eq!(e.status(), 503);
        assert!(e.to_string().contains("close a tab"), "{e}");
        let _b1 = limits.acquire(b).expect("another address");
        let e = limits.acquire(None).expect_err("full");
        assert!(e.to_string().contains("maximum"), "{e}");
        drop(a1);
        assert_eq!(limits.open(), 2);
        limits.acquire(a).expect("room again");
    }
}
