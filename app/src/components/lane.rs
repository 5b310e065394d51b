//! One ordinal's lane: the pod, its visit count, its probe lights, then (connected by
//! arrows) its claim, the claim's volume and the pod's DNS name; the presenter's
//! buttons for that pod at the bottom.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::age::Clock;
use crate::components::lane_actions::LaneActions;
use crate::components::pods::status_class;
use crate::components::probes::probe_words;
use crate::lanes::{Lane, LaneDns, PROBE_KINDS, crash, probe_light, short_uid};
use crate::live::LiveView;
use crate::model::{ClaimView, PodView, ProbeState, Visits};

/// The card of one ordinal.
#[component]
pub fn LaneCard(
    /// The lane, kept current by the lanes view.
    lane: Memo<Lane>,
) -> impl IntoView {
    let live = expect_context::<LiveView>();
    let ordinal = lane.with_untracked(|l| l.ordinal);
    let pod = Memo::new(move |_| lane.with(|l| l.pod.clone()));
    let claims = Memo::new(move |_| lane.with(|l| l.claims.clone()));
    let dns = Memo::new(move |_| lane.with(|l| l.dns.clone()));
    view! {
        <article class="lane" class:kept=move || pod.with(Option::is_none) data-testid=format!("lane-{ordinal}")
            data-uid=move || pod.with(|p| p.as_ref().map(|p| p.uid.clone()).unwrap_or_default())
            aria-label=format!("ordinal {ordinal}")>
            {move || match pod.get() {
                Some(p) => Either::Left(view! { <PodPart pod=p/> }),
                None => Either::Right(view! {
                    <div class="part pod none" data-testid="no-pod">
                        <p class="ordinal">{format!("ordinal {ordinal}")}</p>
                        <p class="kept-note">"claim kept, no pod"</p>
                    </div>
                }),
            }}
            <VisitCount pod/>
            <ProbeLights pod/>
            {move || claims.get().into_iter().map(|c| view! { <ClaimParts claim=c/> }).collect_view()}
            <DnsPart dns/>
            <Show when=move || live.controls && pod.with(Option::is_some)>
                <LaneActions pod/>
            </Show>
        </article>
    }
}

#[component]
fn PodPart(
    /// The pod.
    pod: PodView,
) -> impl IntoView {
    let ip = if pod.ip.is_empty() { "<none>".to_owned() } else { pod.ip.clone() };
    let crashed = crash(&pod).map(|c| {
        let again = if c.back_off { ", waiting to restart" } else { "" };
        format!("app exited: {} (exit {}){again}", c.reason, c.exit_code)
    });
    view! {
        <div class="part pod">
            <h3 class="pod-head">
                <span class="mono pod-name" data-testid="pod-name">{pod.name.clone()}</span>
                " "
                <span data-testid="status" class=format!("status {}", status_class(&pod.status))>{pod.status.clone()}</span>
            </h3>
            <p class="facts-line">
                <span class="pair">"READY " <b data-testid="ready">{pod.ready.clone()}</b></span>
                " "
                <span class="pair">"restarts " <b data-testid="restarts">{pod.restarts}</b></span>
            </p>
            <p class="facts-line">"IP " <span class="mono" data-testid="ip">{ip}</span></p>
            {crashed.map(|c| view! { <p class="crash" data-testid="crash">{c}</p> })}
        </div>
    }
}

/// The count in large type; a count that cannot be read says why, never 0.
#[component]
fn VisitCount(
    /// The lane's pod, if any.
    pod: Memo<Option<PodView>>,
) -> impl IntoView {
    let visits = Memo::new(move |_| pod.with(|p| p.as_ref().map(|p| p.visits.clone())));
    move || {
        visits.get().map(|v| match v {
            // A new element per value restarts the highlight animation.
            Visits::Count { value, changed_at } => EitherOf3::A(view! {
                <p class="count" data-testid="visits-line">
                    <span class="visits" class:bumped=changed_at != 0 data-testid="visits">{value}</span>
                    <span class="unit">{if value == 1 { " visit" } else { " visits" }}</span>
                </p>
            }),
            Visits::Unknown => EitherOf3::B(view! {
                <p class="count unknown" data-testid="visits-line"><span data-testid="visits">"count not read yet"</span></p>
            }),
            Visits::Error { message } => EitherOf3::C(view! {
                <p class="count unknown" data-testid="visits-line"><span data-testid="visits">{message}</span></p>
            }),
        })
    }
}

/// Startup, liveness and readiness, each as a light with its state in words.
#[component]
fn ProbeLights(
    /// The lane's pod, if any.
    pod: Memo<Option<PodView>>,
) -> impl IntoView {
    let clock = expect_context::<Clock>();
    // A liveness probe's first check falls due a few seconds after the pod starts.
    let lights = Memo::new(move |_| {
        let now = clock.now.get();
        pod.with(|p| p.as_ref().map(|p| PROBE_KINDS.iter().map(|k| (*k, probe_light(p, k).map(|s| s.as_of(now)))).collect::<Vec<_>>()))
    });
    move || {
        lights.get().map(|lights| {
            view! {
                <ul class="lights" aria-label="probes">
                    {lights.into_iter().map(|(kind, state)| {
                        let (class, text) = probe_words(state.as_ref());
                        let short = short_words(state.as_ref());
                        let title = match &state {
                            Some(ProbeState::Failing { message, .. }) => message.clone(),
                            Some(ProbeState::NotRunning { reason }) => reason.clone(),
                            _ => String::new(),
                        };
                        view! {
                            <li class=format!("light {class}") data-testid=format!("probe-{kind}") title=title>
                                <span class="lamp" aria-hidden="true"></span>
                                <span class="kind">{kind}</span>
                                " "
                                <span class="state" aria-hidden="true">{short}</span>
                                <span class="visually-hidden">{text}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
        })
    }
}

/// A probe's state in a few characters, to fit a lane: the full words are read out
/// to screen readers and shown in the Details view.
fn short_words(state: Option<&ProbeState>) -> String {
    match state {
        None => "– none".to_owned(),
        Some(ProbeState::Passing) => "✓ ok".to_owned(),
        Some(ProbeState::Failing { failures, threshold, .. }) => format!("✗ {failures}/{threshold}"),
        Some(ProbeState::NotYetRun | ProbeState::FirstDue { .. }) => "… not yet".to_owned(),
        Some(ProbeState::NotRunning { .. }) => "– down".to_owned(),
    }
}

/// The claim and, below it, the volume it is bound to.
#[component]
fn ClaimParts(
    /// The claim.
    claim: ClaimView,
) -> impl IntoView {
    let uid = claim.uid.clone();
    let volume = if claim.volume.is_empty() { "no volume bound yet".to_owned() } else { claim.volume.clone() };
    let details = [claim.capacity.clone(), claim.storage_class.clone()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ");
    view! {
        <div class="link" aria-hidden="true">"↓ mounts"</div>
        <div class="part claim" data-testid=format!("lane-claim-{}", claim.name)>
            <p><span class="tag">"claim"</span>" "<span class="mono" data-testid="claim-name">{claim.name.clone()}</span></p>
            <p class="facts-line">
                <span data-testid="claim-status">{claim.status.clone()}</span>
                " · UID " <span class="mono" data-testid="claim-uid" data-uid=uid.clone() title=uid.clone()>{short_uid(&uid).to_owned()}</span>
            </p>
        </div>
        <div class="link" aria-hidden="true">"↓ bound to"</div>
        <div class="part volume" data-testid="volume">
            <p class="clip"><span class="tag">"volume"</span><span class="mono name" title=volume.clone()>{volume.clone()}</span></p>
            <p class="facts-line">{details}</p>
        </div>
    }
}

/// The pod's DNS name as selectable text, and whether DNS answers it now.
#[component]
fn DnsPart(
    /// The lane's DNS state.
    dns: Memo<LaneDns>,
) -> impl IntoView {
    move || {
        let d = dns.get();
        let (class, state) = match &d {
            LaneDns::Published { .. } => ("published", "✓ published".to_owned()),
            LaneDns::Withheld { .. } => ("withheld", "✗ withheld (not Ready)".to_owned()),
            LaneDns::NotListed { .. } => ("withheld", "✗ not listed yet".to_owned()),
            LaneDns::NoName { reason } => ("none", reason.clone()),
            LaneDns::NoPod => ("none", "no pod, no DNS record".to_owned()),
        };
        view! {
            <div class=format!("part dns {class}") data-testid="dns">
                {d.name().map(|n| view! { <p class="dns-name" data-testid="dns-name">{dotted(n)}</p> })}
                <p class="dns-state" data-testid="dns-state">{state}</p>
            </div>
        }
    }
}

/// A DNS name that may wrap only after its dots: `web-0.web.` / `default.svc.` / `cluster.local`.
fn dotted(name: &str) -> impl IntoView + use<> {
    let labels: Vec<String> = name.split_inclusive('.').map(str::to_owned).collect();
    // Each label in its own element: bare text nodes next to each other do not survive hydration.
    labels.into_iter().map(|l| view! { <span>{l}</span><wbr/> }).collect_view()
}
