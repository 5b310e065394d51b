//! Server functions: what the page and its buttons call. On the server they reach the
//! cluster through the [`crate::backend::Backend`] in context; in the browser they are
//! POSTs under `/api/fn/`. Every one but [`get_page`] changes the lab, and the server
//! lets only the presenter's requests through to them.

use leptos::prelude::*;

use crate::error::ActionError;
use crate::model::{ActionReport, Page};

#[cfg(feature = "ssr")]
fn backend() -> Result<crate::backend::SharedBackend, ActionError> {
    use_context::<crate::backend::SharedBackend>().ok_or_else(|| ActionError::Internal("the dashboard backend is not running".to_owned()))
}

/// The endpoints under `/api/fn/` that only read; the server requires presenter
/// credentials for every other one.
pub const READ_ONLY_ENDPOINTS: [&str; 1] = ["page"];

/// The page for a StatefulSet (the default one when `statefulset` is `None`), as this
/// viewer sees it.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "page")]
pub async fn get_page(statefulset: Option<String>) -> Result<Page, ActionError> {
    // The server's guard puts the viewer's role in the request's extensions.
    let role = use_context::<leptos::server_fn::http_export::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::backend::Viewer>().copied())
        .unwrap_or_default()
        .0;
    let story = use_context::<crate::backend::SharedStories>().and_then(|s| s.story(statefulset.as_deref()));
    let mut snapshot = backend()?.snapshot(statefulset)?;
    if let Some((timeline, ordering)) = story {
        snapshot.timeline = timeline;
        snapshot.ordering = ordering;
    }
    // The first paint shows the first rows; the live stream brings the rest.
    snapshot.pods.truncate(crate::live::PAGE_ROWS);
    snapshot.claims.truncate(crate::live::PAGE_ROWS);
    snapshot.dns.records.truncate(crate::live::PAGE_ROWS * 2);
    let server_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    Ok(Page { snapshot, role, server_time })
}

/// Deletes one pod of the StatefulSet on screen.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "delete-pod")]
pub async fn delete_pod(statefulset: String, pod: String) -> Result<ActionReport, ActionError> {
    backend()?.delete_pod(statefulset, pod).await
}

/// Switches the StatefulSet's pod management policy.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "set-policy")]
pub async fn set_policy(statefulset: String, policy: String) -> Result<ActionReport, ActionError> {
    backend()?.set_policy(statefulset, policy).await
}

/// Scales the StatefulSet. `replicas` is text so that a bad number is the backend's
/// to refuse with a sentence, like every other bad input.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "scale")]
pub async fn scale(statefulset: String, replicas: String) -> Result<ActionReport, ActionError> {
    backend()?.scale(statefulset, replicas).await
}

/// Visits a pod: one `GET /` through the API server's pod proxy, so its count rises.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "visit")]
pub async fn visit(statefulset: String, pod: String) -> Result<ActionReport, ActionError> {
    backend()?.visit(statefulset, pod).await
}

/// Breaks or heals a pod on the practice cluster: `fault` is `readiness`, `liveness`
/// or `app`, `action` is `break` or `heal`. On a real cluster it is refused.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "fault")]
pub async fn fault(statefulset: String, pod: String, fault: String, action: String) -> Result<ActionReport, ActionError> {
    backend()?.fault(statefulset, pod, fault, action).await
}
