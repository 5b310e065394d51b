//! The dashboard: the StatefulSet on screen as ordinal lanes beside the narrated
//! timeline (the teaching view), or as the Details tables; rendered on the server from
//! the cluster's current state and kept live afterwards.

use leptos::either::Either;
use leptos::prelude::*;

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
    let chosen = chosen_in_address();
    let page = Resource::new(
        {
            let chosen = chosen.clone();
            move || chosen.clone()
        },
        get_page,
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the cluster's state…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(p) => Either::Left(erased(view! { <Live initial=p chosen=chosen.clone()/> })),
                Err(e) => Either::Right(view! {
                    <main class="page">
                        <p class="error-banner" role="alert">"Cannot read the cluster: " {e.to_string()}</p>
                    </main>
                }),
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
            {erased(view! { <Header/> })}
            <Show
                when=move || live.snapshot.with(|s| s.statefulset.is_some())
                fallback=move || view! { <OutcomeBanner/> <NoStatefulSet/> }
            >
                {erased(view! { <StatefulSetPanel/> })}
                {move || if live.details.get() { Either::Left(erased(view! { <Details/> })) } else { Either::Right(erased(view! { <Stage/> })) }}
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
            {erased(view! { <OrdinalLanes/> })}
            <aside class="side" aria-label="what happened">
                {erased(view! { <OutcomeBanner/> })}
                {erased(view! { <Timeline/> })}
                {erased(view! { <OrderingCharts/> })}
            </aside>
        </div>
    }
}

/// The Details view: every table, with the same data as the lanes.
#[component]
fn Details() -> impl IntoView {
    view! {
        {erased(view! { <OutcomeBanner/> })}
        <div class="grid" data-testid="details">
            {erased(view! { <PodsPanel/> })}
            {erased(view! { <StoragePanel/> })}
            {erased(view! { <ProbesPanel/> })}
            {erased(view! { <DnsPanel/> })}
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
            Outcome::Done(r) => Either::Left(view! {
                <section class="outcome ok" role="status" data-testid="outcome">
                    <p>{r.message}</p>
                    <p class="kubectl-label">"The same with kubectl:"</p>
                    <pre class="kubectl">{r.kubectl.join("\n")}</pre>
                    <button class="dismiss" on:click=move |_| outcome.set(None)>"Dismiss"</button>
                </section>
            }),
            Outcome::Failed(e) => Either::Right(view! {
                <section class="outcome failed" role="alert" data-testid="outcome">
                    <p>{e}</p>
                    <button class="dismiss" on:click=move |_| outcome.set(None)>"Dismiss"</button>
                </section>
            }),
        })
    }
}

/// On the server, a panel's view with its type erased: rendering the page as one
/// concrete type makes futures (and stack frames) too big for a thread's stack. In the
/// browser the view is kept as it is: an erased view would carry the code for async
/// hydration of everything under it, about a fifth of the download. Both render the
/// same HTML, since every panel renders an element.
#[cfg(feature = "ssr")]
fn erased<V: IntoView + 'static>(view: V) -> AnyView {
    view.into_any()
}

#[cfg(not(feature = "ssr"))]
fn erased<V: IntoView>(view: V) -> V {
    view
}

/// The StatefulSet asked for in the page's address (`?statefulset=NAME`), if any: read
/// from the request on the server and from `location` in the browser.
fn chosen_in_address() -> Option<String> {
    #[cfg(feature = "ssr")]
    let chosen = use_context::<leptos::server_fn::http_export::request::Parts>()
        .and_then(|p| form_urlencoded::parse(p.uri.query().unwrap_or_default().as_bytes()).find(|(k, _)| k == "statefulset").map(|(_, v)| v.into_owned()));
    #[cfg(feature = "hydrate")]
    let chosen = window().location().search().ok().and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok()).and_then(|q| q.get("statefulset"));
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let chosen: Option<String> = None;
    chosen.filter(|s| !s.is_empty())
}
