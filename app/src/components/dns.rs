//! The DNS panel: the records the governing headless Service publishes, derived from
//! its EndpointSlices, with not-ready endpoints shown as withheld.

use leptos::either::Either;
use leptos::prelude::*;

use crate::live::LiveView;

/// DNS records of the StatefulSet's Service.
#[component]
pub fn DnsPanel() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let dns = move || live.snapshot.with(|s| s.dns.clone());
    view! {
        <section class="panel dns" data-testid="dns-panel">
            <h2>"DNS"</h2>
            {move || {
                let d = dns();
                match &d.service {
                    None => Either::Left(view! { <p class="none">"The governing Service does not exist, so no DNS records are published."</p> }),
                    Some(svc) => Either::Right(view! {
                        <p class="note">
                            {format!("Service {svc}: {}", if d.headless { "headless (clusterIP: None)" } else { "not headless: pods get no per-pod names" })}
                            {d.publish_not_ready.then_some(" · publishNotReadyAddresses: true")}
                        </p>
                    }),
                }
            }}
            <table>
                <thead><tr><th>"Name"</th><th>"Type"</th><th>"Answer"</th><th>"Published"</th></tr></thead>
                <tbody>
                    <For each=move || { let limit = if live.show_all.get() { usize::MAX } else { crate::live::PAGE_ROWS }; dns().records.into_iter().take(limit).collect::<Vec<_>>() } key=|r| (r.name.clone(), r.type_.clone(), r.answer(), r.published)
                        children=move |r| view! {
                            <tr class:withheld=!r.published data-testid=format!("dns-{}", r.name)>
                                <td class="mono">{r.name.clone()}</td>
                                <td>{r.type_.clone()}</td>
                                <td class="mono">{r.answer()}</td>
                                <td>{if r.published { "yes" } else { "no: endpoint not ready" }}</td>
                            </tr>
                        }/>
                </tbody>
            </table>
        </section>
    }
}
