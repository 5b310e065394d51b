//! The header: title, StatefulSet picker, the view switch (lanes or Details), theme,
//! shortcuts, role and the connection indicator.

use leptos::either::Either;
use leptos::prelude::*;

use crate::components::theme::ThemePicker;
use crate::live::LiveView;
use crate::model::{Connection, Role};

/// Title, picker and connection indicator.
#[component]
pub fn Header() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let names = move || live.snapshot.with(|s| s.statefulsets.clone());
    let current = move || live.snapshot.with(|s| s.statefulset.as_ref().map(|x| x.name.clone()).unwrap_or_default());
    view! {
        <header class="top">
            <h1>"StatefulSet Lab"</h1>
            <form class="picker" method="get" action="/">
                <label for="statefulset">"StatefulSet"</label>
                <select
                    id="statefulset"
                    name="statefulset"
                    data-testid="picker"
                    onchange="this.form.submit()"
                >
                    <For each=names key=|n| n.clone() children=move |n| {
                        let selected = n == current();
                        view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                    }/>
                </select>
                <noscript><button type="submit">"Show"</button></noscript>
            </form>
            <p class="where" title=move || live.snapshot.with(|s| format!("namespace {} · {}", s.namespace, s.cluster))>
                {move || live.snapshot.with(|s| format!("namespace {} · {}", s.namespace, s.cluster))}
            </p>
            <div class="view-switch" role="group" aria-label="view">
                <button data-testid="view-lanes" aria-pressed=move || (!live.details.get()).to_string()
                    on:click=move |_| live.details.set(false)>"Lanes"</button>
                <button data-testid="view-details" aria-pressed=move || live.details.get().to_string()
                    on:click=move |_| live.details.set(true)>"Details"</button>
            </div>
            <ThemePicker/>
            <button class="help" data-testid="shortcuts-button" aria-keyshortcuts="?" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)"
                on:click=move |_| live.help.set(true)>"?"</button>
            <RoleBadge/>
            <ConnectionIndicator/>
        </header>
    }
}

/// Which role this page is in; the presenter can sign out (the page then has no buttons).
#[component]
fn RoleBadge() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let read_only = move || live.snapshot.with(|s| s.read_only);
    match live.role {
        Role::Presenter => Either::Left(view! {
            <form class="role presenter" method="post" action="/signout" data-testid="role">
                <span class="badge">{move || if read_only() { "Presenter (read-only)" } else { "Presenter" }}</span>
                <button type="submit" class="link" data-testid="sign-out">"Sign out"</button>
            </form>
        }),
        Role::Audience => Either::Right(view! {
            <p class="role audience" data-testid="role">
                <span class="badge">{move || if read_only() { "Watching (read-only)" } else { "Watching" }}</span>
            </p>
        }),
    }
}

#[component]
fn ConnectionIndicator() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let state = move || {
        if !live.stream_up.get() {
            return ("reconnecting", "Reconnecting to the dashboard server… the view may be stale".to_owned());
        }
        match live.snapshot.with(|s| s.connection.clone()) {
            Connection::Live => ("live", "Live".to_owned()),
            Connection::Reconnecting { since, error } => ("reconnecting", format!("Reconnecting to the cluster (view as of {since}): {error}")),
            Connection::Error { message } => ("error", format!("Cluster error: {message}")),
        }
    };
    view! {
        <p class=move || format!("connection {}", state().0) data-testid="connection" role="status">
            <span class="dot" aria-hidden="true"></span>
            {move || state().1}
        </p>
    }
}
