//! The page's live state: a snapshot taken at first paint, then kept current by the
//! server's stream of [`Delta`]s. Pods and claims are keyed rows, each with its own
//! signal, so one pod's change redraws one row.

use leptos::prelude::*;

use crate::model::{Change, ClaimView, Delta, PodView, Role, Snapshot};

/// How many rows each table shows until "Show all" is pressed: keeps the page of a
/// 1,000-pod StatefulSet light (and its server-rendered HTML small).
pub const PAGE_ROWS: usize = 50;

/// Rows of one kind, keyed by name, each with its own signal.
pub type Rows<T> = RwSignal<Vec<(String, RwSignal<T>)>>;

/// What the dashboard shows, as signals.
#[derive(Clone, Copy)]
pub struct LiveView {
    /// Everything but the rows (connection, StatefulSet, DNS, picker).
    pub snapshot: RwSignal<Snapshot>,
    /// Pod rows in ordinal order.
    pub pods: Rows<PodView>,
    /// Claim rows in ordinal order.
    pub claims: Rows<ClaimView>,
    /// Whether the stream from the dashboard server is connected.
    pub stream_up: RwSignal<bool>,
    /// When the stream last delivered anything (ms since the epoch, browser clock).
    pub last_message_ms: RwSignal<f64>,
    /// Whether the tables show every row, not the first [`PAGE_ROWS`].
    pub show_all: RwSignal<bool>,
    /// Which view is on screen: the ordinal lanes (default) or the Details tables.
    pub details: RwSignal<bool>,
    /// Whether the keyboard shortcuts are listed (the `?` key).
    pub help: RwSignal<bool>,
    /// This viewer's role.
    pub role: Role,
    /// Whether this viewer gets the buttons (the presenter, unless read-only).
    pub controls: bool,
    owner: StoredValue<Owner>,
}

fn rows<T: Clone + Send + Sync + 'static>(items: &[T], key: impl Fn(&T) -> String) -> Vec<(String, RwSignal<T>)> {
    items.iter().map(|i| (key(i), RwSignal::new(i.clone()))).collect()
}

/// The row signal under `key`, if the page has that row.
fn row<T: Send + Sync + 'static>(rows: Rows<T>, key: &str) -> Option<RwSignal<T>> {
    rows.with_untracked(|r| r.iter().find(|(k, _)| k == key).map(|(_, s)| *s))
}

fn upsert<T: Clone + Send + Sync + 'static>(rows: Rows<T>, owner: StoredValue<Owner>, key: String, value: T, order: impl Fn(&T) -> i32) {
    match row(rows, &key) {
        Some(signal) => signal.set(value),
        None => {
            let signal = owner.with_value(|o| o.with(|| RwSignal::new(value.clone())));
            rows.update(|r| {
                let at = r.iter().position(|(_, s)| order(&s.get_untracked()) > order(&value)).unwrap_or(r.len());
                r.insert(at, (key, signal));
            });
        }
    }
}

/// Makes `rows` show exactly `items`, in order: rows whose key stays keep their
/// signal (updated in place, so the row on screen stays bound to it), new keys get
/// a new signal, and missing keys are dropped.
fn sync_rows<T: Clone + PartialEq + Send + Sync + 'static>(rows: Rows<T>, owner: StoredValue<Owner>, items: &[T], key: impl Fn(&T) -> String) {
    let existing = rows.get_untracked();
    let next: Vec<(String, RwSignal<T>)> = items
        .iter()
        .map(|item| {
            let k = key(item);
            match existing.iter().find(|(ek, _)| *ek == k) {
                Some((_, signal)) => {
                    if signal.with_untracked(|v| v != item) {
                        signal.set(item.clone());
                    }
                    (k, *signal)
                }
                None => (k, owner.with_value(|o| o.with(|| RwSignal::new(item.clone())))),
            }
        })
        .collect();
    let same_keys = next.len() == existing.len() && next.iter().zip(&existing).all(|(a, b)| a.0 == b.0);
    if !same_keys {
        rows.set(next);
    }
}

impl LiveView {
    /// Live state starting from `initial`, for a viewer in `role`.
    pub fn new(initial: Snapshot, role: Role) -> Self {
        let controls = role == Role::Presenter && !initial.read_only;
        let pods = RwSignal::new(rows(&initial.pods, |p| p.name.clone()));
        let claims = RwSignal::new(rows(&initial.claims, |c| c.name.clone()));
        LiveView {
            snapshot: RwSignal::new(Snapshot { pods: vec![], claims: vec![], ..initial }),
            pods,
            claims,
            stream_up: RwSignal::new(true),
            last_message_ms: RwSignal::new(0.0),
            show_all: RwSignal::new(false),
            details: RwSignal::new(false),
            help: RwSignal::new(false),
            role,
            controls,
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
        }
    }

    /// The rows a table shows now: the first [`PAGE_ROWS`], or all of them.
    pub fn visible<T: Send + Sync + 'static>(&self, rows: Rows<T>) -> Vec<(String, RwSignal<T>)> {
        let limit = if self.show_all.get() { usize::MAX } else { PAGE_ROWS };
        rows.with(|r| r.iter().take(limit).cloned().collect())
    }

    /// How many rows `rows` has beyond what is shown.
    pub fn hidden<T: Send + Sync + 'static>(&self, rows: Rows<T>) -> usize {
        if self.show_all.get() { 0 } else { rows.with(Vec::len).saturating_sub(PAGE_ROWS) }
    }

    /// Applies one message of the live stream.
    pub fn apply(&self, delta: Delta) {
        match delta {
            Delta::Snapshot(snapshot) => {
                let snapshot = *snapshot;
                sync_rows(self.pods, self.owner, &snapshot.pods, |p| p.name.clone());
                sync_rows(self.claims, self.owner, &snapshot.claims, |c| c.name.clone());
                self.snapshot.set(Snapshot { pods: vec![], claims: vec![], ..snapshot });
            }
            Delta::Changes { revision, changes } => {
                // Changes already contained in the snapshot we have (e.g. one sent after a
                // lag) are skipped.
                if revision <= self.snapshot.with_untracked(|s| s.revision) {
                    return;
                }
                for change in changes {
                    match change {
                        Change::Pod(pod) => upsert(self.pods, self.owner, pod.name.clone(), pod, |p| p.ordinal),
                        Change::PodPatch(patch) => {
                            // Rows the server patches are rows this page has (it follows
                            // every revision); a missing one is ignored.
                            if let Some(pod) = row(self.pods, &patch.name) {
                                pod.update(|p| patch.apply(p));
                            }
                        }
                        Change::PodRemoved(name) => self.pods.update(|r| r.retain(|(k, _)| *k != name)),
                        Change::Claim(claim) => upsert(self.claims, self.owner, claim.name.clone(), claim, |c| c.ordinal),
                        Change::ClaimRemoved(name) => self.claims.update(|r| r.retain(|(k, _)| *k != name)),
                        other => self.snapshot.update(|s| s.apply_change(other)),
                    }
                }
                self.snapshot.update(|s| s.revision = revision);
            }
        }
    }

    /// Opens the live stream for `statefulset` (browser only). The browser reconnects
    /// by itself; the server starts every connection with a full snapshot.
    #[cfg(feature = "hydrate")]
    pub fn connect(self, statefulset: Option<String>) {
        use futures::StreamExt;
        use gloo_net::eventsource::futures::EventSource;

        let url = match &statefulset {
            Some(s) => format!("/api/stream?statefulset={s}"),
            None => "/api/stream".to_owned(),
        };
        let Ok(mut source) = EventSource::new(&url) else {
            self.stream_up.set(false);
            return;
        };
        let Ok(mut messages) = source.subscribe("delta") else {
            self.stream_up.set(false);
            return;
        };
        let source = send_wrapper::SendWrapper::new(source);
        leptos::task::spawn_local(async move {
            while let Some(item) = messages.next().await {
                match item {
                    Ok((_, event)) => {
                        mark_hydrated();
                        self.stream_up.set(true);
                        self.last_message_ms.set(js_sys_now());
                        if let Some(text) = event.data().as_string()
                            && let Ok(delta) = serde_json::from_str::<Delta>(&text)
                        {
                            self.apply(delta);
                        }
                    }
                    Err(_) => self.stream_up.set(false),
                }
            }
            drop(source);
        });
    }
}

/// Tells end-to-end tests (and anyone curious) that the page is hydrated and live.
#[cfg(feature = "hydrate")]
fn mark_hydrated() {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__stslabHydrated".into(), &true.into());
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.time_origin() + p.now())
}
