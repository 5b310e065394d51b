//! The presenter's actions: the confirmation every destructive one goes through,
//! naming exactly what will happen, and the call to the server.

use leptos::prelude::*;

use crate::actions::{delete_pod, fault, scale, set_policy, visit};
use crate::components::focus::move_focus_with_dialog;
use crate::error::ActionError;
use crate::model::ActionReport;

/// What the last button press did, shown under the header.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It worked; what happened and the kubectl equivalent.
    Done(ActionReport),
    /// It failed, in words.
    Failed(String),
}

/// An action: destructive ones wait for the user's confirmation first.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    /// Delete one pod.
    DeletePod {
        /// The StatefulSet on screen.
        statefulset: String,
        /// The pod.
        pod: String,
    },
    /// Switch the pod management policy.
    SetPolicy {
        /// The StatefulSet on screen.
        statefulset: String,
        /// The policy to switch to.
        to: String,
    },
    /// Scale down (removes pods; their claims are kept).
    ScaleDown {
        /// The StatefulSet on screen.
        statefulset: String,
        /// The new replica count.
        to: i32,
    },
    /// One visit to the pod's app (harmless: not confirmed).
    Visit {
        /// The StatefulSet on screen.
        statefulset: String,
        /// The pod.
        pod: String,
    },
    /// Break or heal a probe or the app on the practice cluster (not confirmed: it heals).
    Fault {
        /// The StatefulSet on screen.
        statefulset: String,
        /// The pod.
        pod: String,
        /// `readiness`, `liveness` or `app`.
        fault: String,
        /// Break (true) or heal (false).
        on: bool,
    },
}

impl Pending {
    fn question(&self) -> String {
        match self {
            Pending::DeletePod { pod, .. } => format!("Delete pod {pod}?"),
            Pending::SetPolicy { statefulset, to } => format!("Switch {statefulset} to {to}?"),
            Pending::ScaleDown { statefulset, to } => format!("Scale {statefulset} down to {to}?"),
            Pending::Visit { pod, .. } => format!("Visit {pod}?"),
            Pending::Fault { pod, fault, on, .. } => format!("{} the {fault} of {pod}?", if *on { "Break" } else { "Heal" }),
        }
    }

    fn explanation(&self) -> String {
        match self {
            Pending::DeletePod { statefulset, pod } => format!(
                "The pod goes Terminating, then the StatefulSet controller creates {pod} again, with the same name and the same claim, so its visit count is still there. Only pods of {statefulset} can be deleted here."
            ),
            Pending::SetPolicy { .. } => "podManagementPolicy cannot be changed in place. The dashboard saves the spec, deletes the StatefulSet with --cascade=orphan (pods and claims keep running), and creates it again with the new policy; the new StatefulSet adopts the same pods. No pod restarts.".to_owned(),
            Pending::ScaleDown { .. } => "Pods are removed from the highest ordinal down. Their claims are kept (Retain), so scaling up again brings back the same data.".to_owned(),
            Pending::Visit { .. } | Pending::Fault { .. } => String::new(),
        }
    }

    fn confirm_label(&self) -> &'static str {
        match self {
            Pending::DeletePod { .. } => "Delete pod",
            Pending::SetPolicy { .. } => "Switch policy",
            Pending::ScaleDown { .. } => "Scale down",
            Pending::Visit { .. } => "Visit",
            Pending::Fault { on: true, .. } => "Break",
            Pending::Fault { on: false, .. } => "Heal",
        }
    }
}

/// Runs a confirmed (or harmless) action and reports its outcome.
pub fn run(action: Pending, outcome: RwSignal<Option<Outcome>>) {
    leptos::task::spawn_local(async move {
        let result: Result<ActionReport, ActionError> = match action {
            Pending::DeletePod { statefulset, pod } => delete_pod(statefulset, pod).await,
            Pending::SetPolicy { statefulset, to } => set_policy(statefulset, to).await,
            Pending::ScaleDown { statefulset, to } => scale(statefulset, to.to_string()).await,
            Pending::Visit { statefulset, pod } => visit(statefulset, pod).await,
            Pending::Fault { statefulset, pod, fault: which, on } => fault(statefulset, pod, which, if on { "break" } else { "heal" }.to_owned()).await,
        };
        outcome.set(Some(match result {
            Ok(r) => Outcome::Done(r),
            Err(e) => Outcome::Failed(e.to_string()),
        }));
    });
}

/// The modal dialog shown while an action waits for confirmation.
#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let pending = expect_context::<RwSignal<Option<Pending>>>();
    let outcome = expect_context::<RwSignal<Option<Outcome>>>();
    // Focus goes to Cancel when the dialog opens: a keyboard user is inside it, and
    // Enter pressed twice by mistake does not confirm. Esc cancels (see shortcuts).
    let cancel = NodeRef::<leptos::html::Button>::new();
    move_focus_with_dialog(cancel, move || pending.with(Option::is_some));
    move || {
        pending.get().map(|p| {
            let confirm = {
                let p = p.clone();
                move |_| {
                    pending.set(None);
                    run(p.clone(), outcome);
                }
            };
            view! {
                <div class="backdrop">
                    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm">
                        <h2 id="confirm-title">{p.question()}</h2>
                        <p>{p.explanation()}</p>
                        <div class="buttons">
                            <button class="cancel" node_ref=cancel data-testid="confirm-no" on:click=move |_| pending.set(None)>"Cancel"</button>
                            <button class="danger" data-testid="confirm-yes" on:click=confirm>{p.confirm_label()}</button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}
