//! The probes panel: per pod and container, each probe's configuration and current
//! result, restarts and the last termination, and recent Unhealthy events.

use leptos::either::Either;
use leptos::prelude::*;

use crate::age::Clock;
use crate::live::LiveView;
use crate::model::{ContainerView, PodView, ProbeState};

/// A probe's state in words, with the class that colours it (colour is never the only
/// sign): `None` is a probe that is not configured.
pub fn probe_words(state: Option<&ProbeState>) -> (&'static str, String) {
    match state {
        None => ("off", "none".to_owned()),
        Some(ProbeState::Passing) => ("pass", "✓ passing".to_owned()),
        Some(ProbeState::Failing { failures, threshold, .. }) => ("fail", format!("✗ failing {failures}/{threshold}")),
        Some(ProbeState::NotYetRun | ProbeState::FirstDue { .. }) => ("wait", "… not yet run".to_owned()),
        Some(ProbeState::NotRunning { .. }) => ("off", "– not running".to_owned()),
    }
}

/// Probes of every pod on screen.
#[component]
pub fn ProbesPanel() -> impl IntoView {
    let live = expect_context::<LiveView>();
    view! {
        <section class="panel probes" data-testid="probes-panel">
            <h2>"Probes"</h2>
            <For each=move || live.visible(live.pods) key=|(name, _)| name.clone()
                children=move |(_, pod)| view! { <PodProbes pod/> }/>
        </section>
    }
}

#[component]
fn PodProbes(
    /// The row's pod.
    pod: RwSignal<PodView>,
) -> impl IntoView {
    let name = pod.with_untracked(|p| p.name.clone());
    let clock = expect_context::<Clock>();
    view! {
        <article class="pod-probes" data-testid=format!("probes-{name}")>
            <h3 class="mono">{name.clone()}</h3>
            {move || pod.with(|p| p.containers.clone()).into_iter().map(|c| view! { <ContainerProbes c/> }).collect_view()}
            {move || {
                let events = pod.with(|p| p.events.clone());
                (!events.is_empty()).then(|| view! {
                    <ul class="events" data-testid="events">
                        {events.into_iter().map(|e| view! {
                            <li class=format!("event {}", e.type_.to_lowercase())>
                                <span class="reason">{e.reason}</span>
                                " "
                                <span class="count">{if e.count > 1 { format!("×{} ", e.count) } else { String::new() }}</span>
                                <span class="age">{move || format!("{} ago", clock.age(e.last_seen_at))}</span>
                                <div class="message">{e.message}</div>
                            </li>
                        }).collect_view()}
                    </ul>
                })
            }}
        </article>
    }
}

#[component]
fn ContainerProbes(
    /// The container.
    c: ContainerView,
) -> impl IntoView {
    let summary = format!("{} · {} · started {} · ready {} · restarts {}", c.name, c.state, yes_no(c.started), yes_no(c.ready), c.restart_count);
    let clock = expect_context::<Clock>();
    view! {
        <div class="container">
            <p class="summary">{summary}</p>
            {c.crash.clone().filter(|k| !k.previous).map(|k| view! {
                <p class="last" data-testid="crash">{format!(
                    "The app exited by itself: {} (exit code {}){}",
                    k.reason, k.exit_code, if k.back_off { "; the kubelet waits before restarting it (CrashLoopBackOff)" } else { "" }
                )}</p>
            })}
            {c.last_termination.map(|t| {
                let at = c.last_termination_at;
                view! { <p class="last">"Last ended: " {t} {move || if at == 0 { String::new() } else { format!(", {} ago", clock.age(at)) }}</p> }
            })}
            {if c.probes.is_empty() {
                Either::Left(view! { <p class="none">"No probes: Kubernetes treats the container as ready as soon as it runs."</p> })
            } else {
                Either::Right(view! {
                    <ul class="probe-list">
                        {c.probes.into_iter().map(|p| {
                            let state = p.state.clone();
                            let now = Memo::new(move |_| probe_words(Some(&state.as_of(clock.now.get()))));
                            let why = match &p.state {
                                ProbeState::Failing { message, .. } => Some(message.clone()),
                                ProbeState::NotRunning { reason } => Some(reason.clone()),
                                _ => None,
                            };
                            view! {
                            <li data-testid=format!("probe-{}", p.kind)>
                                <span class="probe-kind">{p.kind.clone()}</span>
                                <span class=move || format!("probe-now {}", now.get().0)>{move || now.get().1}</span>
                                {why.filter(|w| !w.is_empty()).map(|w| view! { <div class="probe-why">{w}</div> })}
                                <div class="mono probe-spec">{format!(
                                    "{} delay={}s timeout={}s period={}s #success={} #failure={}",
                                    p.action, p.initial_delay_seconds, p.timeout_seconds, p.period_seconds,
                                    p.success_threshold, p.failure_threshold
                                )}</div>
                            </li>
                        }}).collect_view()}
                    </ul>
                })
            }}
        </div>
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
