//! The teaching view's lanes: one card per ordinal, left to right, wrapping when
//! there are more than fit.

use leptos::prelude::*;

use crate::components::lane::LaneCard;
use crate::lanes::{Lane, lanes};
use crate::live::LiveView;
use crate::model::{ClaimView, PodView};

/// Every ordinal of the StatefulSet on screen.
#[component]
pub fn OrdinalLanes() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let all = Memo::new(move |_| {
        let pods: Vec<PodView> = live.visible(live.pods).into_iter().map(|(_, p)| p.get()).collect();
        let claims: Vec<ClaimView> = live.visible(live.claims).into_iter().map(|(_, c)| c.get()).collect();
        live.snapshot.with(|s| lanes(&pods, &claims, &s.dns, &s.namespace))
    });
    let ordinals = move || all.with(|ls| ls.iter().map(|l| l.ordinal).collect::<Vec<_>>());
    view! {
        <section class="lanes" data-testid="lanes" aria-label="ordinals" tabindex="0">
            <For each=ordinals key=|o| *o children=move |ordinal| {
                // Each card redraws only when its own lane changes.
                let lane = Memo::new(move |_| all.with(|ls| ls.iter().find(|l| l.ordinal == ordinal).cloned().unwrap_or(Lane { ordinal, ..Default::default() })));
                view! { <LaneCard lane/> }
            }/>
            <Show when=move || all.with(Vec::is_empty)>
                <p class="none">"No pods and no claims yet."</p>
            </Show>
            <Show when=move || { live.hidden(live.pods) > 0 }>
                <p class="more">
                    {move || format!("Showing the first {} of {} pods. ", crate::live::PAGE_ROWS, live.pods.with(Vec::len))}
                    <button class="link" on:click=move |_| live.show_all.set(true)>"Show all"</button>
                </p>
            </Show>
        </section>
    }
}
