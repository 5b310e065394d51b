//! The presenter's buttons on a lane: visit the pod, delete it, and on the practice
//! cluster break or heal its readiness, liveness or app. Only in the presenter's page.

use leptos::prelude::*;

use crate::components::confirm::{Outcome, Pending, run};
use crate::live::LiveView;
use crate::model::PodView;

/// The faults a lane can switch, as (fault id in `PodView::faults`, button text).
const FAULTS: [(&str, &str); 3] = [("readiness", "ready"), ("liveness", "live"), ("app", "app")];

/// Buttons for the lane's pod.
#[component]
pub fn LaneActions(
    /// The lane's pod (the buttons are shown only when there is one).
    pod: Memo<Option<PodView>>,
) -> impl IntoView {
    let live = expect_context::<LiveView>();
    let pending = expect_context::<RwSignal<Option<Pending>>>();
    let outcome = expect_context::<RwSignal<Option<Outcome>>>();
    let statefulset = move || live.snapshot.with_untracked(|s| s.statefulset.as_ref().map(|x| x.name.clone()).unwrap_or_default());
    let name = move || pod.with_untracked(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let terminating = move || pod.with(|p| p.as_ref().is_some_and(|p| p.status == "Terminating"));
    let practice = move || live.snapshot.with(|s| s.practice);
    view! {
        <div class="lane-actions">
            <div class="row">
                <button data-testid="visit" aria-label=move || format!("Visit {}", name())
                    on:click=move |_| run(Pending::Visit { statefulset: statefulset(), pod: name() }, outcome)>"Visit"</button>
                <button class="danger" data-testid="delete-pod" aria-label=move || format!("Delete pod {}", name())
                    disabled=terminating
                    on:click=move |_| pending.set(Some(Pending::DeletePod { statefulset: statefulset(), pod: name() }))>"Delete"</button>
            </div>
            <Show when=practice>
                <div class="row faults" role="group" aria-label=move || format!("Break or heal {}", name())>
                    <span class="tag">"break"</span>
                    {FAULTS.into_iter().map(|(fault, text)| {
                        let on = move || pod.with(|p| p.as_ref().is_some_and(|p| p.faults.iter().any(|f| f == fault)));
                        view! {
                            <button class="fault" class:on=on data-testid=format!("fault-{fault}") aria-pressed=move || on().to_string()
                                title=move || format!("{} the {fault} of {}", if on() { "Heal" } else { "Break" }, name())
                                on:click=move |_| run(Pending::Fault { statefulset: statefulset(), pod: name(), fault: fault.to_owned(), on: !on() }, outcome)>
                                {move || if on() { format!("✗ {text}") } else { text.to_owned() }}
                            </button>
                        }
                    }).collect_view()}
                </div>
            </Show>
        </div>
    }
}
