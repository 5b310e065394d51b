//! The HTTP surface: the Leptos pages and server functions, `GET /api/snapshot`
//! (the page's view model as JSON) and `GET /api/stream` (the same, live, as
//! server-sent events: a full snapshot, then row-level changes), behind a guard that
//! refuses cross-origin writes.

use std::convert::Infallible;
use std::time::Duration;

use app::backend::SharedBackend;
use app::model::{Delta, Snapshot};
use app::{App, shell};
use axum::extract::{FromRef, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::Stream;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Deserialize;
use tokio::sync::watch;

/// How often streams re-render even without a cluster change (ages, staleness).
const TICK: Duration = Duration::from_secs(1);

/// What handlers share.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos site options.
    pub leptos_options: LeptosOptions,
    /// The backend behind the page.
    pub backend: SharedBackend,
    /// Bumped on every change that may show on screen.
    pub changes: watch::Receiver<u64>,
}

/// `?statefulset=NAME`.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    /// The StatefulSet to show.
    pub statefulset: Option<String>,
}

/// The whole dashboard router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let backend = state.backend.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/snapshot", get(snapshot))
        .route("/api/stream", get(stream))
        .leptos_routes_with_context(&state, routes, move || provide_context(backend.clone()), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(same_origin_writes))
        .with_state(state)
}

/// `GET /api/snapshot`: what the page shows, as JSON.
async fn snapshot(State(backend): State<SharedBackend>, Query(choice): Query<Choice>) -> Json<Snapshot> {
    Json(backend.snapshot(choice.statefulset.filter(|s| !s.is_empty())))
}

/// `GET /api/stream`: server-sent events named `delta`, each a JSON [`Delta`].
async fn stream(State(state): State<AppState>, Query(choice): Query<Choice>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(deltas(state.backend, state.changes, choice.statefulset.filter(|s| !s.is_empty()))).keep_alive(KeepAlive::default())
}

struct StreamState {
    backend: SharedBackend,
    changes: watch::Receiver<u64>,
    chosen: Option<String>,
    last: Option<Snapshot>,
    tick: tokio::time::Interval,
}

fn event(delta: &Delta) -> Event {
    Event::default().event("delta").data(serde_json::to_string(delta).unwrap_or_default())
}

/// A snapshot first, then the changes since the previous message, whenever the
/// cluster changes (and every second, for ages).
pub fn deltas(backend: SharedBackend, changes: watch::Receiver<u64>, chosen: Option<String>) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = StreamState { backend, changes, chosen, last: None, tick };
    futures::stream::unfold(start, |mut st| async move {
        loop {
            let Some(last) = st.last.take() else {
                let snap = st.backend.snapshot(st.chosen.clone());
                let ev = event(&Delta::Snapshot { snapshot: Box::new(snap.clone()) });
                st.last = Some(snap);
                return Some((Ok(ev), st));
            };
            tokio::select! {
                changed = st.changes.changed() => if changed.is_err() { return None },
                _ = st.tick.tick() => {}
            }
            let mut next = st.backend.snapshot(st.chosen.clone());
            next.revision = next.revision.max(last.revision + 1);
            let changes = last.diff(&next);
            if changes.is_empty() {
                st.last = Some(Snapshot { revision: last.revision, ..next });
                continue;
            }
            let ev = event(&Delta::Changes { revision: next.revision, changes });
            st.last = Some(next);
            return Some((Ok(ev), st));
        }
    })
}

fn authority(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/')
}

/// Refuses writes (anything but GET/HEAD/OPTIONS) that a browser sends from another
/// site, so a page elsewhere cannot press the dashboard's buttons.
pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if let Some(why) = cross_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, Json(serde_json::json!({"error": why}))).into_response();
    }
    next.run(req).await
}

/// Why a write with these headers is cross-origin, if it is.
pub fn cross_origin(headers: &HeaderMap) -> Option<String> {
    let get = |h| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = get(header::HeaderName::from_static("sec-fetch-site")) {
        if site == "cross-site" || site == "same-site" {
            return Some(format!("cross-origin request refused (Sec-Fetch-Site: {site}): changes can only be made from the dashboard's own page"));
        }
    }
    let (Some(origin), Some(host)) = (get(header::ORIGIN), get(header::HOST)) else { return None };
    (authority(origin) != host).then(|| format!("cross-origin request refused: origin {origin} is not this dashboard ({host})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_authority() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:3000".parse().expect("header"));
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().expect("header"));
        assert_eq!(cross_origin(&h), None);
        h.insert(header::ORIGIN, "http://evil.example".parse().expect("header"));
        assert!(cross_origin(&h).is_some());
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().expect("header"));
        assert!(cross_origin(&h).is_some());
    }
}
