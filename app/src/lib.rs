//! StatefulSet Lab's user interface: Leptos components, the view model they show
//! ([`model`]), and the server functions the buttons call ([`actions`]).
//!
//! This crate has no Kubernetes dependency: the browser gets plain view-model types,
//! and the server side plugs in through [`backend::Backend`].

#![recursion_limit = "512"]

pub mod actions;
pub mod age;
pub mod backend;
pub mod components;
pub mod error;
pub mod lanes;
pub mod live;
pub mod model;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Stylesheet, Title, provide_meta_context};

use crate::components::theme;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: one page, the dashboard, in the theme this browser chose. The
/// server renders it at `/` only, waiting for the cluster's state (async mode), so the
/// first paint is complete HTML that reads right before (or without) hydration. There
/// is no client-side router: the picker loads a new page, and leaving the router out
/// keeps its code (and the async hydration it pulls in) out of every laptop's download.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let theme = RwSignal::new(theme::chosen());
    provide_context(theme);
    view! {
        <Stylesheet id="leptos" href="/pkg/stslab.css"/>
        <Title text="StatefulSet Lab"/>
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <div class="app" data-theme=move || theme.get().id() data-testid="app">
            <pages::dashboard::Dashboard/>
        </div>
    }
}

/// Entry point of the browser bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
