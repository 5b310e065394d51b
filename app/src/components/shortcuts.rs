//! Keyboard shortcuts (`?` lists them) and the list itself.

use leptos::prelude::*;

use crate::components::confirm::Pending;
use crate::components::focus::move_focus_with_dialog;
use crate::components::theme::{Theme, choose};
use crate::live::LiveView;

/// The shortcuts, as listed on `?`: key and what it does.
pub const SHORTCUTS: [(&str, &str); 6] = [
    ("?", "show or hide this list"),
    ("d", "switch between the lanes and the Details tables"),
    ("t", "next theme (System, Projector, Light, Dark)"),
    ("Esc", "close a dialog"),
    ("Tab / Shift+Tab", "move between controls"),
    ("Enter or Space", "press the control in focus"),
];

/// What a key press (with no modifier, outside a text field) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    /// Toggle the list of shortcuts.
    Help,
    /// Toggle the Details view.
    Details,
    /// Next theme.
    Theme,
    /// Close whatever dialog is open.
    Close,
}

impl Shortcut {
    /// The shortcut for `key` (a `KeyboardEvent.key`), if any.
    pub fn for_key(key: &str) -> Option<Shortcut> {
        match key {
            "?" => Some(Shortcut::Help),
            "d" | "D" => Some(Shortcut::Details),
            "t" | "T" => Some(Shortcut::Theme),
            "Escape" => Some(Shortcut::Close),
            _ => None,
        }
    }
}

/// Does what `shortcut` says.
pub fn run(shortcut: Shortcut, live: LiveView, theme: RwSignal<Theme>, pending: RwSignal<Option<Pending>>) {
    match shortcut {
        Shortcut::Help => live.help.update(|h| *h = !*h),
        Shortcut::Details => live.details.update(|d| *d = !*d),
        Shortcut::Theme => choose(theme, theme.get_untracked().next()),
        Shortcut::Close => {
            live.help.set(false);
            pending.set(None);
        }
    }
}

/// Listens for shortcuts on the whole page (browser only).
pub fn listen(live: LiveView, theme: RwSignal<Theme>, pending: RwSignal<Option<Pending>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || ev.default_prevented() {
                return;
            }
            // Letters typed into a field or a menu are not commands.
            let tag = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).map(|e| e.tag_name());
            if matches!(tag.as_deref(), Some("INPUT" | "SELECT" | "TEXTAREA")) {
                return;
            }
            let Some(shortcut) = Shortcut::for_key(&ev.key()) else { return };
            // While a confirmation is open, only Esc acts, so a stray key changes nothing behind it.
            if pending.with_untracked(Option::is_some) && shortcut != Shortcut::Close {
                return;
            }
            ev.prevent_default();
            run(shortcut, live, theme, pending);
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, theme, pending);
}

/// The list of shortcuts, shown on `?` or with the header's button.
#[component]
pub fn ShortcutsDialog() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let close = NodeRef::<leptos::html::Button>::new();
    move_focus_with_dialog(close, move || live.help.get());
    move || {
        live.help.get().then(|| {
            view! {
                <div class="backdrop" on:click=move |_| live.help.set(false)>
                    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" data-testid="shortcuts"
                        on:click=|ev| ev.stop_propagation()>
                        <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                        <dl class="shortcut-list">
                            {SHORTCUTS.into_iter().map(|(key, what)| view! {
                                <div><dt><kbd>{key}</kbd></dt><dd>{what}</dd></div>
                            }).collect_view()}
                        </dl>
                        <div class="buttons">
                            <button node_ref=close on:click=move |_| live.help.set(false)>"Close"</button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keys_do_what_the_list_says() {
        assert_eq!(Shortcut::for_key("?"), Some(Shortcut::Help));
        assert_eq!(Shortcut::for_key("d"), Some(Shortcut::Details));
        assert_eq!(Shortcut::for_key("t"), Some(Shortcut::Theme));
        assert_eq!(Shortcut::for_key("Escape"), Some(Shortcut::Close));
        assert_eq!(Shortcut::for_key("x"), None);
        for (key, _) in SHORTCUTS.iter().take(3) {
            assert!(Shortcut::for_key(key).is_some(), "{key} is listed but does nothing");
        }
    }
}
