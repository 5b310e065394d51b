//! The HTTP surface: the Leptos pages and server functions, `GET /api/snapshot` (the
//! page's view model as JSON), `GET /api/stream` (the same, live; see [`crate::stream`]),
//! the site's static files (precompressed, revalidated), all behind the access guard
//! (see [`crate::access`]).

use std::path::Path;
use std::sync::Arc;

use app::backend::{SharedBackend, SharedStories};
use app::error::ActionError;
use app::model::Snapshot;
use app::shell;
use axum::body::Body;
use axum::extract::{FromRef, Query, State};
use axum::http::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use leptos::prelude::*;
use leptos::server_fn::axum::server_fn_paths;
use leptos_axum::{handle_server_fns_with_context, render_app_async_with_context};
use serde::Deserialize;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::access::{self, Access};
use crate::publish::Publisher;
use crate::stream::{self, StreamLimits};
use crate::validate;

/// What handlers share.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos site options.
    pub leptos_options: LeptosOptions,
    /// The backend behind the page.
    pub backend: SharedBackend,
    /// The live feeds.
    pub publisher: Arc<Publisher>,
    /// Bounds on open streams.
    pub limits: Arc<StreamLimits>,
    /// Who may do what.
    pub access: Access,
    /// Turns true when the server is shutting down: streams end.
    pub shutdown: watch::Receiver<bool>,
}

/// `?statefulset=NAME`.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    /// The StatefulSet to show.
    pub statefulset: Option<String>,
}

impl Choice {
    /// The StatefulSet asked for (`None` when the parameter is absent or empty), once it
    /// is checked to be a Kubernetes name.
    pub fn chosen(self) -> Result<Option<String>, ActionError> {
        let Some(name) = self.statefulset.filter(|s| !s.is_empty()) else { return Ok(None) };
        validate::object_name("StatefulSet", &name)?;
        Ok(Some(name))
    }
}

/// `e` as a JSON response with the status it calls for.
pub(crate) fn refuse(e: ActionError) -> Response {
    (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), Json::<ActionError>(e)).into_response()
}

/// The whole dashboard router.
pub fn router(state: AppState) -> Router {
    // Resources started while rendering run on tokio (an error means it already does).
    let _ = any_spawner::Executor::init_tokio();
    let backend = state.backend.clone();
    let stories: SharedStories = state.publisher.clone();
    let options = state.leptos_options.clone();
    // What the page and the server functions find in their Leptos context.
    let context = move || {
        provide_context(backend.clone());
        provide_context(stories.clone());
    };
    // The page, rendered once the cluster's state is in (async mode), so the first
    // paint is complete.
    let render = render_app_async_with_context(context.clone(), move || shell(options.clone()));
    // A name that is not a StatefulSet's renders the page with the sentence that says
    // so, and answers 400: nothing downstream reads the address unvalidated.
    let page = move |request: Request<Body>| {
        let invalid = Query::<Choice>::try_from_uri(request.uri()).map_or(true, |Query(c)| c.chosen().is_err());
        let render = render.clone();
        async move {
            let mut response = render(request).await;
            crate::memory::viewer_activity();
            if invalid {
                *response.status_mut() = StatusCode::BAD_REQUEST;
            }
            response
        }
    };
    let options = state.leptos_options.clone();
    // cargo-leptos writes the wasm, js and css here; scripts/build-site.sh adds .br and .gz.
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let assets = ServeDir::new(pkg).precompressed_br().precompressed_gzip();
    let mut router = Router::new().route("/", get(page));
    for (path, method) in server_fn_paths() {
        // Every server function is a POST (the `#[server]` default).
        debug_assert_eq!(method, axum::http::Method::POST, "{path}");
        let context = context.clone();
        router = router.route(path, post(move |request: Request<Body>| handle_server_fns_with_context(context, request)));
    }
    router
        .route("/api/snapshot", get(snapshot))
        .route("/api/stream", get(stream::stream))
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            // Not hashed by name: browsers revalidate (a 304 when unchanged).
            tower::ServiceBuilder::new().layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))).service(assets),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Compresses pages and JSON; skips the event stream and what is precompressed.
        // The guard reads server-function error bodies to give them their status, so it
        // must see them before compression does (the outer layer is added last).
        .layer(middleware::from_fn_with_state(state.access.clone(), access::guard))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// `GET /api/snapshot`: what the page shows, as JSON.
async fn snapshot(State(backend): State<SharedBackend>, Query(choice): Query<Choice>) -> Response {
    match choice.chosen().and_then(|chosen| backend.snapshot(chosen)) {
        Ok(s) => Json::<Snapshot>(s).into_response(),
        Err(e) => refuse(e),
    }
}
