//! Ages as kubectl prints them (`55s`, `3m20s`, `9d`), computed where they are shown.
//!
//! The server sends timestamps (Unix seconds), never ages, so an idle cluster sends the
//! browsers nothing; each page turns timestamps into ages against a [`Clock`] that ticks
//! once a second and is set from the server's time, so a laptop whose clock is wrong
//! still shows the ages `kubectl get` shows.

use leptos::prelude::*;

/// A duration in seconds the way kubectl's AGE column prints it.
pub fn human_age(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_owned();
    }
    let secs = secs.max(0);
    let (minutes, hours) = (secs / 60, secs / 3600);
    let (days, years) = (hours / 24, hours / 24 / 365);
    match () {
        _ if secs < 120 => format!("{secs}s"),
        _ if minutes < 10 => with_rest(minutes, "m", secs % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => with_rest(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => with_rest(days, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{days}d"),
        _ if hours < 24 * 365 * 8 => with_rest(years, "y", days % 365, "d"),
        _ => format!("{years}y"),
    }
}

fn with_rest(big: i64, big_unit: &str, rest: i64, rest_unit: &str) -> String {
    if rest == 0 { format!("{big}{big_unit}") } else { format!("{big}{big_unit}{rest}{rest_unit}") }
}

/// The age of something created at `at` (Unix seconds; 0 when unknown), at `now`.
pub fn age(at: i64, now: i64) -> String {
    if at == 0 { "<unknown>".to_owned() } else { human_age(now - at) }
}

/// The page's sense of the current time (Unix seconds), provided as context.
#[derive(Clone, Copy)]
pub struct Clock {
    /// Now, as the server counts it; ticks once a second in the browser.
    pub now: RwSignal<i64>,
}

impl Clock {
    /// A clock at the server's time `server_now`; in the browser it starts ticking,
    /// keeping the offset between the server's clock and the browser's.
    pub fn new(server_now: i64) -> Self {
        let clock = Clock { now: RwSignal::new(server_now) };
        #[cfg(feature = "hydrate")]
        {
            let offset = server_now - browser_now();
            let tick = move || clock.now.set(browser_now() + offset);
            let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
        }
        clock
    }

    /// The age of something created at `at`, redrawn every second.
    pub fn age(self, at: i64) -> String {
        age(at, self.now.get())
    }
}

#[cfg(feature = "hydrate")]
fn browser_now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (0, "0s"),
            (55, "55s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (11 * 60 + 5, "11m"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (9 * 86400, "9d"),
            (800 * 86400, "2y70d"),
            (10 * 365 * 86400, "10y"),
            (-1, "0s"),
            (-5, "<invalid>"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_age(secs), want, "{secs}s");
        }
        assert_eq!(age(0, 1_000), "<unknown>");
        assert_eq!(age(1_000, 1_055), "55s");
    }
}
