//! Focus for modal dialogs: into the dialog when it opens, and back to the control
//! that opened it when it closes, so a keyboard user carries on where they were.

use leptos::prelude::*;

/// Focuses `first` whenever the dialog renders it, and refocuses the element that had
/// focus before once `open` turns false. Browser only: the server renders no focus,
/// and a browser element must not be dropped on another server thread.
pub fn move_focus_with_dialog(first: NodeRef<leptos::html::Button>, open: impl Fn() -> bool + 'static) {
    #[cfg(not(feature = "hydrate"))]
    let _ = (first, open);
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::HtmlElement;

        let opener = StoredValue::new_local(None::<HtmlElement>);
        Effect::new(move || {
            if let Some(button) = first.get() {
                let before = document().active_element().and_then(|e| e.dyn_into::<HtmlElement>().ok());
                // Re-rendered while open: focus is already inside, keep the first opener.
                if let Some(e) = before.filter(|e| e.closest(".dialog").ok().flatten().is_none()) {
                    opener.set_value(Some(e));
                }
                let _ = button.focus();
            }
        });
        Effect::new(move |was_open: Option<bool>| {
            let is_open = open();
            if was_open == Some(true) && !is_open {
                if let Some(e) = opener.get_value().filter(|e| e.is_connected()) {
                    let _ = e.focus();
                }
                opener.set_value(None);
            }
            is_open
        });
    }
}
