//! The pods table: one keyed row per pod, in ordinal order, with kubectl's STATUS,
//! READY and RESTARTS, the visit counter, and the delete button.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::age::Clock;
use crate::components::confirm::Pending;
use crate::live::LiveView;
use crate::model::{PodView, Visits};

/// CSS class for a kubectl STATUS word.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "Running" => "st-running",
        "Terminating" => "st-terminating",
        "Pending" | "ContainerCreating" | "PodInitializing" => "st-pending",
        s if s.starts_with("Init:") && !s.contains("Err") && !s.contains("Crash") => "st-pending",
        "Completed" | "Succeeded" => "st-done",
        _ => "st-bad",
    }
}

/// The pods of the StatefulSet on screen.
#[component]
pub fn PodsPanel() -> impl IntoView {
    let live = expect_context::<LiveView>();
    view! {
        <section class="panel pods" data-testid="pods-panel">
            <h2>"Pods"</h2>
            <table>
                <thead><tr>
                    <th>"Name"</th><th>"Ready"</th><th>"Status"</th><th>"Restarts"</th><th>"Age"</th>
                    <th>"IP"</th><th>"Node"</th><th>"Visits"</th><th></th>
                </tr></thead>
                <tbody>
                    <For each=move || live.visible(live.pods) key=|(name, _)| name.clone()
                        children=move |(_, pod)| view! { <PodRow pod/> }/>
                </tbody>
            </table>
            <Show when=move || live.pods.with(Vec::is_empty)>
                <p class="none">"No pods."</p>
            </Show>
            <Show when=move || { live.hidden(live.pods) > 0 }>
                <p class="more">
                    {move || format!("Showing the first {} of {} pods. ", crate::live::PAGE_ROWS, live.pods.with(Vec::len))}
                    <button class="link" data-testid="show-all" on:click=move |_| live.show_all.set(true)>"Show all"</button>
                </p>
            </Show>
        </section>
    }
}

#[component]
fn PodRow(
    /// The row's pod.
    pod: RwSignal<PodView>,
) -> impl IntoView {
    let live = expect_context::<LiveView>();
    let pending = expect_context::<RwSignal<Option<Pending>>>();
    let clock = expect_context::<Clock>();
    let field = move |f: fn(&PodView) -> String| move || pod.with(f);
    let name = pod.with_untracked(|p| p.name.clone());
    view! {
        <tr data-testid=format!("pod-{name}") data-uid=move || pod.with(|p| p.uid.clone())>
            <td class="mono name">{field(|p| p.name.clone())}</td>
            <td data-testid="ready">{field(|p| p.ready.clone())}</td>
            <td><span data-testid="status" class=move || format!("status {}", pod.with(|p| status_class(&p.status)))>
                {field(|p| p.status.clone())}
            </span></td>
            <td data-testid="restarts">{move || pod.with(|p| restarts_cell(p.restarts, p.last_restart_at, clock))}</td>
            <td>{move || clock.age(pod.with(|p| p.created_at))}</td>
            <td class="mono">{field(|p| if p.ip.is_empty() { "<none>".into() } else { p.ip.clone() })}</td>
            <td>{field(|p| p.node.clone())}</td>
            <td data-testid="visits"><VisitsCell pod/></td>
            <td>
                <Show when=move || live.controls>
                    <button class="danger small" data-testid="delete-pod"
                        disabled=move || pod.with(|p| p.status == "Terminating")
                        on:click=move |_| {
                            let statefulset = live.snapshot.with_untracked(|s| s.statefulset.as_ref().map(|x| x.name.clone()).unwrap_or_default());
                            pending.set(Some(Pending::DeletePod { statefulset, pod: pod.with_untracked(|p| p.name.clone()) }));
                        }>"Delete"</button>
                </Show>
            </td>
        </tr>
    }
}

/// kubectl's RESTARTS cell: `0`, or `1 (8s ago)` once a container has restarted.
fn restarts_cell(restarts: i32, last_restart_at: i64, clock: Clock) -> String {
    if restarts == 0 || last_restart_at == 0 { restarts.to_string() } else { format!("{restarts} ({} ago)", clock.age(last_restart_at)) }
}

/// The visit count, highlighted when it changes; errors in words, never as zero.
#[component]
fn VisitsCell(
    /// The row's pod.
    pod: RwSignal<PodView>,
) -> impl IntoView {
    move || match pod.with(|p| p.visits.clone()) {
        Visits::Unknown => EitherOf3::A(view! { <span class="visits unknown">"…"</span> }),
        // A new element per value restarts the highlight animation.
        Visits::Count { value, changed_at } => EitherOf3::B(view! {
            <span class="visits" class:bumped=changed_at != 0 data-value=value.to_string()>{value}</span>
        }),
        Visits::Error { message } => EitherOf3::C(view! {
            <span class="visits error" title=message.clone()>{message.clone()}</span>
        }),
    }
}
