//! The storage panel: each pod's claim, the volume bound to it, and the claim's UID,
//! so a viewer sees the same claim re-attached after a pod is recreated.

use leptos::prelude::*;

use crate::live::LiveView;
use crate::model::ClaimView;

/// Claims of the StatefulSet on screen.
#[component]
pub fn StoragePanel() -> impl IntoView {
    let live = expect_context::<LiveView>();
    view! {
        <section class="panel storage" data-testid="storage-panel">
            <h2>"Storage"</h2>
            <table>
                <thead><tr>
                    <th>"Claim"</th><th>"Pod"</th><th>"Status"</th><th>"Volume"</th><th>"Capacity"</th>
                    <th>"Access"</th><th>"Class"</th><th>"Claim UID"</th>
                </tr></thead>
                <tbody>
                    <For each=move || live.visible(live.claims) key=|(name, _)| name.clone()
                        children=move |(_, claim)| view! { <ClaimRow claim/> }/>
                </tbody>
            </table>
            <Show when=move || live.claims.with(Vec::is_empty)>
                <p class="none">"This StatefulSet has no volumeClaimTemplates."</p>
            </Show>
        </section>
    }
}

#[component]
fn ClaimRow(
    /// The row's claim.
    claim: RwSignal<ClaimView>,
) -> impl IntoView {
    let f = move |g: fn(&ClaimView) -> String| move || claim.with(g);
    let name = claim.with_untracked(|c| c.name.clone());
    view! {
        <tr data-testid=format!("claim-{name}") class:retained=move || claim.with(|c| c.pod.is_none())>
            <td class="mono">{f(|c| c.name.clone())}</td>
            <td>{f(|c| c.pod.clone().unwrap_or_else(|| "retained, no pod".into()))}</td>
            <td>{f(|c| c.status.clone())}</td>
            <td class="mono small">{f(|c| c.volume.clone())}</td>
            <td>{f(|c| c.capacity.clone())}</td>
            <td>{f(|c| c.access_modes.clone())}</td>
            <td>{f(|c| c.storage_class.clone())}</td>
            <td class="mono small" data-testid="claim-uid" title=f(|c| c.uid.clone())>{f(|c| c.uid.clone())}</td>
        </tr>
    }
}
