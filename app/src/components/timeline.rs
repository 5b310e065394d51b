//! The narrated timeline: what just happened, newest first, each sentence with the
//! kubectl command that shows it. The sentences are written once on the server
//! (`narrate`); this only draws them.

use leptos::prelude::*;

use crate::age::Clock;
use crate::live::LiveView;
use crate::model::{Narration, NarrationKind};

/// The timeline panel.
#[component]
pub fn Timeline() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let entries = Memo::new(move |_| live.snapshot.with(|s| s.timeline.clone()));
    view! {
        // Focusable so a keyboard user can scroll it.
        <section class="timeline" data-testid="timeline" aria-labelledby="timeline-title" tabindex="0">
            <h2 id="timeline-title">"What just happened"</h2>
            <Show when=move || entries.with(Vec::is_empty)>
                <p class="none">"Nothing yet. Delete a pod, scale, or break a probe, and the story appears here."</p>
            </Show>
            <ol class="narrations">
                <For each=move || entries.get() key=|n| n.id children=move |n| view! { <Entry n/> }/>
            </ol>
        </section>
    }
}

#[component]
fn Entry(
    /// The sentence.
    n: Narration,
) -> impl IntoView {
    let clock = expect_context::<Clock>();
    let (class, sign) = kind_style(n.kind);
    let at = n.at;
    view! {
        <li class=format!("narration {class}") data-testid="narration" data-ordinal=n.ordinal.map(|o| o.to_string())>
            <p class="said"><span class="sign" aria-hidden="true">{sign}</span>{n.text}</p>
            <p class="meta">
                <span class="when">{move || format!("{} ago", clock.age(at))}</span>
                " "
                <code class="kubectl-line">{n.kubectl}</code>
            </p>
        </li>
    }
}

/// The class and the sign that go with a kind of news (the sentence itself says it in words).
fn kind_style(kind: NarrationKind) -> (&'static str, &'static str) {
    match kind {
        NarrationKind::Progress => ("progress", "→ "),
        NarrationKind::Good => ("good", "✓ "),
        NarrationKind::Warning => ("warning", "! "),
        NarrationKind::Failure => ("failure", "✗ "),
        NarrationKind::Note => ("note", "• "),
    }
}
