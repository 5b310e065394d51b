//! The dashboard: the StatefulSet on screen as ordinal lanes beside the narrated
//! timeline (the teaching view), or as the Details tables; rendered on the server from
//! the cluster's current state and kept live afterwards.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::actions::get_page;
use crate::age::Clock;
use crate::components::confirm::{ConfirmDialog, Outcome, Pending};
use crate::components::dns::DnsPanel;
use crate::components::header::Header;
use crate::components::ordering::OrderingCharts;
use crate::components::ordinals::OrdinalLanes;
use crate::components::pods::PodsPanel;
use crate::components::probes::ProbesPanel;
use crate::components::shortcuts::{ShortcutsDialog, listen};
use crate::components::statefulset::StatefulSetPanel;
use crate::components::storage::StoragePanel;
use crate::components::theme::Theme;
use crate::components::timeline::Timeline;
use crate::live::LiveView;
use crate::model::Page;

/// The dashboard page.
#[component]
pub fn Dashboard() -> impl IntoView {
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("statefulset")).filter(|s| !s.is_empty());
    let page = Resource::new(chosen, get_page);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the cluster's state…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(p) => view! { <Live initial=p chosen=chosen()/> }.into_any(),
                Err(e) => view! {
                    <main class="page">
                        <p class="error-banner" role="alert">"Cannot read the cluster: " {e.to_string()}</p>
                    </main>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// The page once the first snapshot is there.
#[component]
fn Live(
    /// The state at first paint, and who is looking.
    initial: Page,
    /// The StatefulSet asked for in the URL, if any.
    chosen: Option<String>,
) -> impl IntoView {
    provide_context(Clock::new(initial.server_time));
    let live = LiveView::new(initial.snapshot, initial.role);
    #[cfg(feature = "hydrate")]
    live.connect(chosen.clone());
    #[cfg(not(feature = "hydrate"))]
    let _ = chosen;
    let outcome = RwSignal::new(None::<Outcome>);
    let pending = RwSignal::new(None::<Pending>);
    provide_context(live);
    provide_context(outcome);
    provide_context(pending);
    listen(live, expect_context::<RwSignal<Theme>>(), pending);
    view! {
        <main class="page" class:details-page=move || live.details.get()>
            {view! { <Header/> }.into_any()}
            <Show
                when=move || live.snapshot.with(|s| s.statefulset.is_some())
                fallback=move || view! { <OutcomeBanner/> <NoStatefulSet/> }
            >
                // Erasing each panel's view type keeps the page's type (and the stack
                // depth of rendering it) small.
                {view! { <StatefulSetPanel/> }.into_any()}
                {move || if live.details.get() { view! { <Details/> }.into_any() } else { view! { <Stage/> }.into_any() }}
            </Show>
            <ConfirmDialog/>
            <ShortcutsDialog/>
        </main>
    }
}

/// The teaching view: the lanes, and beside them what just happened.
#[component]
fn Stage() -> impl IntoView {
    view! {
        <div class="stage">
            {view! { <OrdinalLanes/> }.into_any()}
            <aside class="side" aria-label="what happened">
                {view! { <OutcomeBanner/> }.into_any()}
                {view! { <Timeline/> }.into_any()}
                {view! { <OrderingCharts/> }.into_any()}
            </aside>
        </div>
    }
}

/// The Details view: every table, with the same data as the lanes.
#[component]
fn Details() -> impl IntoView {
    view! {
        {view! { <OutcomeBanner/> }.into_any()}
        <div class="grid" data-testid="details">
            {view! { <PodsPanel/> }.into_any()}
            {view! { <StoragePanel/> }.into_any()}
            {view! { <ProbesPanel/> }.into_any()}
            {view! { <DnsPanel/> }.into_any()}
        </div>
    }
}

#[component]
fn NoStatefulSet() -> impl IntoView {
    let live = expect_context::<LiveView>();
    view! {
        <section class="panel empty" data-testid="no-statefulset">
            {move || live.snapshot.with(|s| if s.statefulsets.is_empty() {
                format!("There is no StatefulSet in namespace {}. Create one with kubectl apply -f, and it appears here.", s.namespace)
            } else {
                "Pick a StatefulSet above.".to_owned()
            })}
        </section>
    }
}

#[component]
fn OutcomeBanner() -> impl IntoView {
    let outcome = expect_context::<RwSignal<Option<Outcome>>>();
    move || {
        outcome.get().map(|o| match o {
            Outcome::Done(r) => view! {
                <section class="outcome ok" role="status" data-testid="outcome">
                    <p>{r.message}</p>
                    <p class="kubectl-label">"The same with kubectl:"</p>
                    <pre class="kubectl">{r.kubectl.join("\n")}</pre>
                    <button class="dismiss" on:click=move |_| outcome.set(None)>"Dismiss"</button>
                </section>
            }
            .into_any(),
            Outcome::Failed(e) => view! {
                <section class="outcome failed" role="alert" data-testid="outcome">
                    <p>{e}</p>
                    <button class="dismiss" on:click=move |_| outcome.set(None)>"Dismiss"</button>
                </section>
            }
            .into_any(),
        })
    }
}
