//! Themes: projector (high contrast, large), light and dark, or the system's setting.
//! The choice is a cookie, so the server renders the chosen theme in the first paint
//! (no flash of the wrong colours) and the browser remembers it.

use leptos::prelude::*;

/// The cookie that remembers the theme.
pub const COOKIE: &str = "stslab-theme";

/// A colour theme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Light or dark, as the operating system says.
    #[default]
    System,
    /// Black on white, heavier type and borders: for washed-out beamers.
    Projector,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    /// Every theme, in the order the `t` key cycles through them.
    pub const ALL: [Theme; 4] = [Theme::System, Theme::Projector, Theme::Light, Theme::Dark];

    /// The value of the `data-theme` attribute and of the cookie.
    pub fn id(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Projector => "projector",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The name on screen.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Projector => "Projector",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The theme with this id; unknown ids (an old or forged cookie) are the system's.
    pub fn from_id(id: &str) -> Theme {
        Theme::ALL.into_iter().find(|t| t.id() == id).unwrap_or_default()
    }

    /// The theme a `Cookie` header (or `document.cookie`) names.
    pub fn from_cookies(cookies: &str) -> Theme {
        cookies
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map_or(Theme::System, |(_, value)| Theme::from_id(value))
    }

    /// The next theme for the `t` key.
    pub fn next(self) -> Theme {
        let i = Theme::ALL.iter().position(|t| *t == self).unwrap_or(0);
        Theme::ALL[(i + 1) % Theme::ALL.len()]
    }
}

/// The theme this browser chose: from the request's cookie on the server, from
/// `document.cookie` in the browser, so both render the same first paint.
pub fn chosen() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<leptos::server_fn::http_export::request::Parts>()
            .and_then(|p| p.headers.get("cookie").and_then(|v| v.to_str().ok()).map(Theme::from_cookies))
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        js_sys::Reflect::get(&document(), &"cookie".into()).ok().and_then(|v| v.as_string()).map(|c| Theme::from_cookies(&c)).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Theme::System
    }
}

/// Shows `theme` now and remembers it for a year (the system's setting forgets the cookie).
pub fn choose(signal: RwSignal<Theme>, theme: Theme) {
    signal.set(theme);
    #[cfg(feature = "hydrate")]
    {
        let age = if theme == Theme::System { 0 } else { 31_536_000 };
        let cookie = format!("{COOKIE}={}; Path=/; Max-Age={age}; SameSite=Lax", theme.id());
        let _ = js_sys::Reflect::set(&document(), &"cookie".into(), &cookie.into());
    }
}

/// The theme menu in the header.
#[component]
pub fn ThemePicker() -> impl IntoView {
    let theme = expect_context::<RwSignal<Theme>>();
    view! {
        <label class="theme-picker">
            "Theme "
            <select data-testid="theme" on:change=move |ev| choose(theme, Theme::from_id(&event_target_value(&ev)))>
                {Theme::ALL.into_iter().map(|t| view! {
                    <option value=t.id() selected=move || theme.get() == t>{t.label()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_theme_and_anything_else_is_the_system_setting() {
        assert_eq!(Theme::from_cookies("a=b; stslab-theme=dark; c=d"), Theme::Dark);
        assert_eq!(Theme::from_cookies("stslab-theme=projector"), Theme::Projector);
        assert_eq!(Theme::from_cookies("stslab-theme=<script>"), Theme::System);
        assert_eq!(Theme::from_cookies("other-stslab-theme=dark"), Theme::System);
        assert_eq!(Theme::from_cookies(""), Theme::System);
    }

    #[test]
    fn t_cycles_through_every_theme() {
        let mut seen = vec![Theme::System];
        for _ in 0..3 {
            seen.push(seen[seen.len() - 1].next());
        }
        assert_eq!(seen, Theme::ALL);
        assert_eq!(Theme::Dark.next(), Theme::System);
    }
}
