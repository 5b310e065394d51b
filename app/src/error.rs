//! The error every button press can come back with: typed, serialisable, and carrying
//! the HTTP status the server answers with, so the page shows a sentence and scripts
//! get a 4xx or 5xx they can act on.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why an action was not done, in words for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "camelCase")]
pub enum ActionError {
    /// The request itself is wrong: a bad name, an unknown policy, replicas out of range.
    #[error("{0}")]
    Invalid(String),
    /// No presenter credentials came with the request.
    #[error("{0}")]
    Unauthorized(String),
    /// The request is understood but not allowed: read-only, another site, not the
    /// StatefulSet on screen.
    #[error("{0}")]
    Forbidden(String),
    /// What the action is about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The cluster is not in a state for it (the policy is already that, a switch is running).
    #[error("{0}")]
    Conflict(String),
    /// The cluster refused, in its own words.
    #[error("{0}")]
    Cluster(String),
    /// The cluster could not be reached or did not answer in time.
    #[error("{0}")]
    Unavailable(String),
    /// The dashboard failed on its side (e.g. the disk); the details are in its log.
    #[error("{0}")]
    Internal(String),
    /// The browser could not reach the dashboard, or could not read its answer.
    #[error("{0}")]
    Transport(String),
}

impl ActionError {
    /// The HTTP status the server answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            ActionError::Invalid(_) => 400,
            ActionError::Unauthorized(_) => 401,
            ActionError::Forbidden(_) => 403,
            ActionError::NotFound(_) => 404,
            ActionError::Conflict(_) => 409,
            ActionError::Cluster(_) => 502,
            ActionError::Unavailable(_) => 503,
            ActionError::Internal(_) | ActionError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for ActionError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(e) | ServerFnErrorErr::MissingArg(e) => ActionError::Invalid(format!("the request's arguments are not valid: {e}")),
            ServerFnErrorErr::Request(e) => ActionError::Transport(format!("could not reach the dashboard server: {e}")),
            ServerFnErrorErr::Deserialization(e) => ActionError::Transport(format!("could not read the dashboard server's answer: {e}")),
            other => ActionError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_as_json_with_their_kind_and_sentence() {
        let e = ActionError::Forbidden("the dashboard is read-only".into());
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json, serde_json::json!({"kind": "forbidden", "message": "the dashboard is read-only"}));
        assert_eq!(serde_json::from_value::<ActionError>(json).expect("back"), e);
        assert_eq!(e.status(), 403);
    }

    #[test]
    fn bad_arguments_are_the_callers_fault() {
        let e = ActionError::from_server_fn_error(ServerFnErrorErr::Args("replicas: invalid digit".into()));
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("replicas"), "{e}");
    }
}
