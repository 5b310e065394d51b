//! The StatefulSet panel: replicas, ordering policy (with its toggle), service,
//! update strategy and revisions, and the scale buttons.

use leptos::prelude::*;

use crate::age::Clock;
use crate::components::confirm::{Outcome, Pending, run};
use crate::live::LiveView;

/// The StatefulSet on screen.
#[component]
pub fn StatefulSetPanel() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let pending = expect_context::<RwSignal<Option<Pending>>>();
    let outcome = expect_context::<RwSignal<Option<Outcome>>>();
    let sts = move || live.snapshot.with(|s| s.statefulset.clone().unwrap_or_default());
    let clock = expect_context::<Clock>();
    let controls = live.controls;
    let other_policy = move || if sts().pod_management_policy == "Parallel" { "OrderedReady" } else { "Parallel" };
    let scale_to = move |to: i32| {
        let s = sts();
        if to < 0 {
            return;
        }
        let action = Pending::ScaleDown { statefulset: s.name.clone(), to };
        if to < s.replicas { pending.set(Some(action)) } else { run(action, outcome) }
    };
    view! {
        <section class="panel sts" data-testid="statefulset-panel">
            <h2>"StatefulSet " <span class="name">{move || sts().name}</span></h2>
            <dl class="facts">
                <div class="fact">
                    <dt>"Ready"</dt>
                    <dd data-testid="sts-ready">{move || format!("{}/{}", sts().ready_replicas, sts().replicas)}</dd>
                </div>
                <div class="fact">
                    <dt>"Replicas"</dt>
                    <dd class="replicas">
                        <Show when=move || controls>
                            <button class="step" aria-label="Scale down" data-testid="scale-down"
                                on:click=move |_| scale_to(sts().replicas - 1)>"−"</button>
                        </Show>
                        <span data-testid="sts-replicas">{move || sts().replicas}</span>
                        <Show when=move || controls>
                            <button class="step" aria-label="Scale up" data-testid="scale-up"
                                on:click=move |_| scale_to(sts().replicas + 1)>"+"</button>
                        </Show>
                    </dd>
                </div>
                <div class="fact">
                    <dt>"podManagementPolicy"</dt>
                    <dd>
                        <span class="policy" data-testid="policy">{move || sts().pod_management_policy}</span>
                        <Show when=move || controls>
                            <button class="toggle" data-testid="toggle-policy" on:click=move |_| {
                                pending.set(Some(Pending::SetPolicy { statefulset: sts().name, to: other_policy().to_owned() }))
                            }>{move || format!("Switch to {}", other_policy())}</button>
                        </Show>
                    </dd>
                </div>
                <div class="fact">
                    <dt>"Service"</dt>
                    <dd data-testid="sts-service">{move || sts().service_name}</dd>
                </div>
                <div class="fact extra">
                    <dt>"Update strategy"</dt>
                    <dd>{move || sts().update_strategy}</dd>
                </div>
                <div class="fact extra">
                    <dt>"Revisions"</dt>
                    <dd class="mono">{move || {
                        let s = sts();
                        if s.current_revision == s.update_revision { s.current_revision } else {
                            format!("{} → {}", s.current_revision, s.update_revision)
                        }
                    }}</dd>
                </div>
                <div class="fact extra">
                    <dt>"Age"</dt>
                    <dd>{move || clock.age(sts().created_at)}</dd>
                </div>
            </dl>
        </section>
    }
}
