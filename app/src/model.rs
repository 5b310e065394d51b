//! The view model: everything the page shows, as plain serde types.
//!
//! The server maps Kubernetes objects to these types (see the `server` crate); the
//! browser receives them as a [`Snapshot`] and then as [`Delta`]s over the live
//! stream. `GET /api/snapshot` serves the same [`Snapshot`] as JSON for scripts and
//! autograders, so field names are part of the public contract (camelCase JSON).

use serde::{Deserialize, Serialize};

/// Everything on screen at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Increases with every change the server publishes; deltas carry the next one.
    pub revision: u64,
    /// How the dashboard is connected to the cluster.
    pub connection: Connection,
    /// The namespace being watched.
    pub namespace: String,
    /// Every StatefulSet in the namespace, by name, for the picker.
    pub statefulsets: Vec<String>,
    /// The StatefulSet on screen, if one is chosen and exists.
    pub statefulset: Option<StatefulSetView>,
    /// Its pods, in ordinal order.
    pub pods: Vec<PodView>,
    /// Its claims (one per pod and template, plus retained ones), in ordinal order.
    pub claims: Vec<ClaimView>,
    /// The DNS records its governing (headless) Service publishes.
    pub dns: DnsView,
    /// Whether buttons are hidden and mutations refused (`--read-only`).
    pub read_only: bool,
    /// The cluster described in words, e.g. "practice cluster at http://127.0.0.1:6443".
    pub cluster: String,
    /// Whether the dashboard is connected to the practice cluster: only there do the
    /// break/heal faults exist.
    pub practice: bool,
    /// What just happened, in sentences, newest first, at most [`TIMELINE_CAP`] entries.
    pub timeline: Vec<Narration>,
    /// The last two scale-ups or re-creations, oldest first: per ordinal, created → Ready.
    pub ordering: Vec<OrderingChart>,
}

/// How many narrations the timeline keeps.
pub const TIMELINE_CAP: usize = 50;

/// One sentence of the narrated timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Narration {
    /// Increases with every narration of this StatefulSet's feed; the row key.
    pub id: u64,
    /// When it happened (Unix seconds).
    pub at: i64,
    /// What happened, in a plain sentence that links cause to effect.
    pub text: String,
    /// The kubectl command that shows it, e.g. `kubectl get pod web-0 -o wide`.
    pub kubectl: String,
    /// The pod it is about, if one.
    pub pod: Option<String>,
    /// That pod's ordinal, if one.
    pub ordinal: Option<i32>,
    /// What kind of news it is, for styling.
    pub kind: NarrationKind,
}

/// What kind of news a [`Narration`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NarrationKind {
    /// A step of something under way: deleted, Terminating, created, waiting.
    #[default]
    Progress,
    /// Something reached a good state: Ready, back in the endpoints, same claim.
    Good,
    /// Something stopped working: a probe failing, not Ready, a DNS record withdrawn.
    Warning,
    /// Something broke: a crash, a restart, back-off.
    Failure,
    /// A fact to notice that is neither good nor bad: an IP changed, a count kept.
    Note,
}

/// One scale-up or re-creation, per ordinal from created to Ready.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderingChart {
    /// `spec.podManagementPolicy` at the time: `OrderedReady` or `Parallel`.
    pub policy: String,
    /// What started it, e.g. `scale 2 → 5` or `re-created 0–2`.
    pub cause: String,
    /// When it started (Unix seconds): the chart's left edge.
    pub started_at: i64,
    /// One bar per pod created, in ordinal order.
    pub bars: Vec<OrderingBar>,
}

/// One ordinal's bar in an [`OrderingChart`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderingBar {
    /// The pod's name.
    pub pod: String,
    /// Its ordinal.
    pub ordinal: i32,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it became Ready (Unix seconds; 0 while it is not yet).
    pub ready_at: i64,
}

/// The connection indicator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Connection {
    /// Watches are running and the view is current.
    #[default]
    Live,
    /// A watch failed and is being retried; the view is as of `since` (RFC 3339).
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        /// When the view stopped being current.
        since: String,
        /// The last error, in words.
        error: String,
    },
    /// The cluster refused or could not be reached, in words.
    #[serde(rename_all = "camelCase")]
    Error {
        /// What went wrong.
        message: String,
    },
}

/// The StatefulSet panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetView {
    /// Name.
    pub name: String,
    /// UID: changes when the StatefulSet is re-created (e.g. by the policy toggle).
    pub uid: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.readyReplicas`.
    pub ready_replicas: i32,
    /// `status.replicas` (pods that exist).
    pub current_replicas: i32,
    /// `spec.podManagementPolicy`: `OrderedReady` or `Parallel`.
    pub pod_management_policy: String,
    /// `spec.serviceName`.
    pub service_name: String,
    /// `spec.updateStrategy.type`, with the partition when set, e.g. `RollingUpdate (partition 0)`.
    pub update_strategy: String,
    /// `status.currentRevision`.
    pub current_revision: String,
    /// `status.updateRevision`.
    pub update_revision: String,
    /// The claim templates' names, e.g. `["data"]`.
    pub claim_templates: Vec<String>,
    /// When it was created (Unix seconds; 0 if unknown): the page shows AGE from it.
    pub created_at: i64,
}

/// One row of the pods panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    /// Pod name, `<sts>-<ordinal>`; the row key.
    pub name: String,
    /// Ordinal parsed from the name.
    pub ordinal: i32,
    /// UID: a recreated pod has a new one under the same name.
    pub uid: String,
    /// STATUS exactly as `kubectl get pods` prints it.
    pub status: String,
    /// READY as `kubectl get pods` prints it, e.g. `1/1`.
    pub ready: String,
    /// Whether every container is ready (the Ready condition).
    pub is_ready: bool,
    /// Restarts summed over containers.
    pub restarts: i32,
    /// When the most recent restart's container ended (Unix seconds; 0 if none or
    /// unknown): with `restarts` it makes kubectl's RESTARTS cell, e.g. `1 (8s ago)`.
    pub last_restart_at: i64,
    /// When the pod was created (Unix seconds; 0 if unknown): the page shows AGE from it.
    pub created_at: i64,
    /// When it last became Ready (Unix seconds; 0 while it is not Ready).
    pub ready_at: i64,
    /// While Terminating: the grace period it was given to stop, in seconds.
    pub grace_period_seconds: Option<i64>,
    /// `status.podIP`, or empty.
    pub ip: String,
    /// `spec.nodeName`, or empty.
    pub node: String,
    /// `controller-revision-hash` label.
    pub revision: String,
    /// Containers with their probes.
    pub containers: Vec<ContainerView>,
    /// Recent `Unhealthy` events (and `BackOff`/`Killing`), newest first.
    pub events: Vec<EventView>,
    /// Visit counter as last read from the pod.
    pub visits: Visits,
    /// The practice cluster's faults switched on for this pod by `stslab.dev/*`
    /// annotations: `readiness`, `liveness`, `app` (see the `fault` action).
    pub faults: Vec<String>,
}

/// A container's state and probes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// `ready` from the container status.
    pub ready: bool,
    /// `started` from the container status.
    pub started: bool,
    /// Restarts of this container.
    pub restart_count: i32,
    /// Current state in words: `Running`, `Waiting: CrashLoopBackOff`, `Terminated: Error (exit 1)`.
    pub state: String,
    /// Why the previous instance ended, e.g. `Error (exit 137)`, if it did.
    pub last_termination: Option<String>,
    /// When the previous instance ended (Unix seconds; 0 if unknown).
    pub last_termination_at: i64,
    /// Liveness, readiness and startup probes as configured.
    pub probes: Vec<ProbeView>,
    /// The app exited by itself (not killed for a failed liveness probe): now, or as
    /// the instance before the running one.
    pub crash: Option<Crash>,
}

/// A container that exited by itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Crash {
    /// The kubelet's reason, e.g. `Error`, `OOMKilled`, `Completed`.
    pub reason: String,
    /// The exit code, e.g. `1`.
    pub exit_code: i32,
    /// When it exited (Unix seconds; 0 if unknown).
    pub finished_at: i64,
    /// Whether the kubelet is holding off the next start (`CrashLoopBackOff`).
    pub back_off: bool,
    /// Whether this is the instance before the one now running (the app came back).
    pub previous: bool,
}

/// One configured probe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeView {
    /// `liveness`, `readiness` or `startup`.
    pub kind: String,
    /// What it checks, e.g. `GET http://:8000/healthz`, `exec cat /tmp/healthy`, `tcp :8000`.
    pub action: String,
    /// `initialDelaySeconds`.
    pub initial_delay_seconds: i32,
    /// `periodSeconds`.
    pub period_seconds: i32,
    /// `timeoutSeconds`.
    pub timeout_seconds: i32,
    /// `successThreshold`.
    pub success_threshold: i32,
    /// `failureThreshold`.
    pub failure_threshold: i32,
    /// What the kubelet last reported for this probe.
    pub state: ProbeState,
}

impl ProbeState {
    /// The state at time `now` (Unix seconds): a probe whose first check is due has
    /// not run before then and passes after it, as no failure was reported.
    pub fn as_of(&self, now: i64) -> ProbeState {
        match self {
            ProbeState::FirstDue { at } if now < *at => ProbeState::NotYetRun,
            ProbeState::FirstDue { .. } => ProbeState::Passing,
            other => other.clone(),
        }
    }
}

/// What the kubelet last reported for one probe: never guessed from the container
/// being down.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProbeState {
    /// The probe has not run on this container instance yet (initial delay, or the
    /// startup probe has not succeeded yet).
    #[default]
    NotYetRun,
    /// No failure reported, and the first check is due at `at` (Unix seconds: the
    /// container's start plus `initialDelaySeconds`). The kubelet reports failures,
    /// not successes, so from `at` on the probe is passing until a failure is reported:
    /// see [`ProbeState::as_of`].
    #[serde(rename_all = "camelCase")]
    FirstDue {
        /// When the first check runs.
        at: i64,
    },
    /// The last result was a success.
    Passing,
    /// Consecutive failures as the kubelet reported them (`Unhealthy` events).
    #[serde(rename_all = "camelCase")]
    Failing {
        /// Consecutive failures seen, capped at the threshold.
        failures: i32,
        /// `failureThreshold`: at this many the kubelet acts.
        threshold: i32,
        /// The kubelet's message, e.g. `HTTP probe failed with statuscode: 500`.
        message: String,
    },
    /// The probe does not run because the container does not: the reason in words,
    /// e.g. `the app exited with code 1; waiting to restart it (CrashLoopBackOff)`.
    #[serde(rename_all = "camelCase")]
    NotRunning {
        /// Why, in words a student understands.
        reason: String,
    },
}

/// An event about a pod, aggregated as `kubectl describe` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    /// e.g. `Unhealthy`.
    pub reason: String,
    /// e.g. `Readiness probe failed: HTTP probe failed with statuscode: 500`.
    pub message: String,
    /// How many times it happened.
    pub count: i32,
    /// When it was last seen (Unix seconds; 0 if unknown).
    pub last_seen_at: i64,
}

/// A pod's visit counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Visits {
    /// Not read yet.
    #[default]
    Unknown,
    /// The count read from the pod's file.
    #[serde(rename_all = "camelCase")]
    Count {
        /// Visits so far.
        value: u64,
        /// Revision of the snapshot in which the value last changed (for highlighting).
        changed_at: u64,
    },
    /// Reading failed; the reason in words (never shown as zero).
    #[serde(rename_all = "camelCase")]
    Error {
        /// e.g. `no visits file yet (cat: can't open 'visits': No such file or directory)`.
        message: String,
    },
}

/// One row of the storage panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimView {
    /// Claim name `<template>-<sts>-<ordinal>`; the row key.
    pub name: String,
    /// Ordinal it belongs to.
    pub ordinal: i32,
    /// The pod using it, or `None` when retained without a pod (e.g. after scale-down).
    pub pod: Option<String>,
    /// Claim phase: `Pending`, `Bound`, `Lost`.
    pub status: String,
    /// Bound PV name, or empty.
    pub volume: String,
    /// Capacity, e.g. `1Gi`.
    pub capacity: String,
    /// Access modes abbreviated, e.g. `RWO`.
    pub access_modes: String,
    /// Storage class.
    pub storage_class: String,
    /// The claim's UID: stays the same when the pod is recreated.
    pub uid: String,
    /// The PV's phase, e.g. `Bound`, `Released`, if the PV exists.
    pub volume_status: String,
}

/// The DNS panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsView {
    /// The governing Service's name, if it exists.
    pub service: Option<String>,
    /// Whether it is headless (`clusterIP: None`).
    pub headless: bool,
    /// `spec.publishNotReadyAddresses`.
    pub publish_not_ready: bool,
    /// The cluster domain, e.g. `cluster.local`.
    pub domain: String,
    /// Records, published and withheld.
    pub records: Vec<DnsRecord>,
}

/// A DNS record the Service publishes (or would, if its endpoint were ready).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    /// Fully qualified name, e.g. `web-0.web.default.svc.cluster.local`.
    pub name: String,
    /// `A` or `SRV`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The answer without an SRV record's priority and weight: an IP, or
    /// `8000 web-0.web.default.svc.cluster.local.` (see [`DnsRecord::answer`]).
    pub value: String,
    /// An SRV record's weight (its priority is 0). Kept apart from `value` because it
    /// is shared: CoreDNS gives each of a name's n answers 100 / n, so one pod turning
    /// ready changes every weight, which travels as one [`Change::SrvWeights`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Whether DNS answers it now (false: the endpoint is not ready).
    pub published: bool,
    /// The pod the record is about, if one.
    pub pod: Option<String>,
}

impl DnsRecord {
    /// The answer as `dig` prints it: `10.244.0.5`, or
    /// `0 50 8000 web-0.web.default.svc.cluster.local.` for an SRV record.
    pub fn answer(&self) -> String {
        match self.weight {
            Some(weight) => format!("0 {weight} {}", self.value),
            None => self.value.clone(),
        }
    }

    /// What identifies the record in a list: its name, type and answer (weight aside).
    fn key(&self) -> (&str, &str, &str) {
        (&self.name, &self.type_, &self.value)
    }

    /// Equal but for the weight.
    fn same_but_weight(&self, other: &DnsRecord) -> bool {
        self.key() == other.key() && self.published == other.published && self.pod == other.pod
    }
}

/// A message of the live stream: the whole snapshot, or what changed since the last
/// message. Externally tagged (`{"snapshot":{…}}`, `{"changes":{…}}`), which the
/// browser reads in one pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Delta {
    /// Replace the whole snapshot (first message, or after the server lost track).
    Snapshot(Box<Snapshot>),
    /// Row-level changes, to apply in order.
    #[serde(rename_all = "camelCase")]
    Changes {
        /// The revision after applying them.
        revision: u64,
        /// The changes.
        changes: Vec<Change>,
    },
}

/// One keyed change, e.g. `{"podPatch":{"name":"web-0","ready":"0/1",…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// The connection indicator.
    Connection(Connection),
    /// The picker's list of StatefulSet names.
    StatefulSets(Vec<String>),
    /// The StatefulSet panel, or `None` when it is gone.
    StatefulSet(Option<StatefulSetView>),
    /// The fields of the StatefulSet panel that changed.
    StatefulSetPatch(StatefulSetPatch),
    /// A pod row added (or replaced: a new pod under the same name).
    Pod(PodView),
    /// The fields of a pod row that changed.
    PodPatch(PodPatch),
    /// A pod row removed: its name.
    PodRemoved(String),
    /// A claim row added or changed.
    Claim(ClaimView),
    /// A claim row removed: its name.
    ClaimRemoved(String),
    /// The DNS panel, whole (its Service changed).
    Dns(DnsView),
    /// Some of the DNS panel's records, as a splice: the records from `from` on, `remove`
    /// of them, are replaced by `insert`. One pod's change sends its own records, not
    /// the whole list, however many pods there are.
    DnsRecords {
        /// Index of the first record replaced.
        from: usize,
        /// How many records are replaced.
        remove: usize,
        /// What replaces them.
        insert: Vec<DnsRecord>,
    },
    /// The records at these places (in the list as it is) are now published, or withheld.
    DnsPublished {
        /// The records' indexes.
        at: Vec<usize>,
        /// Whether DNS answers them now.
        published: bool,
    },
    /// New weights for every SRV answer of `name`: `published` for the ready ones and
    /// `withheld` for the others (as if they were ready too).
    SrvWeights {
        /// The SRV name, e.g. `_http._tcp.web.default.svc.cluster.local`.
        name: String,
        /// The weight of each published answer.
        published: u16,
        /// The weight a withheld answer would have.
        withheld: u16,
    },
    /// Narrations added since the last revision, newest first: put them before the
    /// timeline and keep [`TIMELINE_CAP`].
    Narrated(Vec<Narration>),
    /// The ordering charts, all of them (at most two), oldest first.
    Ordering(Vec<OrderingChart>),
    /// Whether the practice cluster's faults exist.
    Practice(bool),
}

/// Reads a field that is present as `Some`, even when its value is `null`, so that a
/// patch can set an `Option` field back to `None` (`"gracePeriodSeconds": null`) while
/// an absent field stays `None` (unchanged).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// How a field travels in a patch: whole ([`Patchable::Patch`] is the field's own type),
/// or as a patch of its own (a list of containers, each a [`ContainerPatch`]).
pub trait Patchable: Sized {
    /// What the field's change travels as.
    type Patch;
    /// The change from `old` to `new`, if they differ.
    fn diff(old: &Self, new: &Self) -> Option<Self::Patch>;
    /// Applies a change made by [`Patchable::diff`].
    fn patch(&mut self, patch: Self::Patch);
}

/// Fields that travel whole when they change.
macro_rules! whole {
    ($($ty:ty),* $(,)?) => {$(
        impl Patchable for $ty {
            type Patch = $ty;
            fn diff(old: &Self, new: &Self) -> Option<Self> {
                (old != new).then(|| new.clone())
            }
            fn patch(&mut self, patch: Self) {
                *self = patch;
            }
        }
    )*};
}

whole!(String, bool, i32, i64, Option<i64>, Option<String>, Option<Crash>, ProbeState, Visits, Vec<EventView>, Vec<String>);

/// A list whose elements are patched one by one while they stay the same elements
/// (the same containers, the same probes, in the same order), and sent whole otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ListPatch<T, P> {
    /// Other elements: the new list.
    Whole(Vec<T>),
    /// The same elements: one patch each, in order (`{}` for an unchanged one).
    Each(Vec<P>),
}

/// [`Patchable`] for a list of rows with a patch type: per element when every element
/// is still `same` as the old one at its place.
macro_rules! list_patchable {
    ($view:ty, $patch:ty, $same:expr) => {
        impl Patchable for Vec<$view> {
            type Patch = ListPatch<$view, $patch>;
            fn diff(old: &Self, new: &Self) -> Option<Self::Patch> {
                let same: fn(&$view, &$view) -> bool = $same;
                if old == new {
                    None
                } else if old.len() == new.len() && old.iter().zip(new).all(|(o, n)| same(o, n)) {
                    Some(ListPatch::Each(old.iter().zip(new).map(|(o, n)| <$patch>::between(o, n)).collect()))
                } else {
                    Some(ListPatch::Whole(new.clone()))
                }
            }
            fn patch(&mut self, patch: Self::Patch) {
                match patch {
                    ListPatch::Whole(list) => *self = list,
                    ListPatch::Each(patches) => {
                        for (row, p) in self.iter_mut().zip(patches) {
                            p.apply(row);
                        }
                    }
                }
            }
        }
    };
}

/// Declares a patch of a view: one optional field per patchable field, absent when
/// unchanged; `key` names the field that identifies the row (kept whole).
macro_rules! patch {
    ($(#[$doc:meta])* $patch:ident for $view:ident $(key $key:ident)? { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $patch {
            $(
                /// The row's key.
                pub $key: String,
            )?
            $(
                #[doc = concat!("The change to `", stringify!($field), "`, if it changed.")]
                #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
                pub $field: Option<<$ty as Patchable>::Patch>,
            )*
        }

        impl $patch {
            /// What changed from `old` to `new` (two states of the same row).
            pub fn between(old: &$view, new: &$view) -> $patch {
                $patch { $($key: new.$key.clone(),)? $($field: Patchable::diff(&old.$field, &new.$field),)* }
            }

            /// Applies the changes.
            pub fn apply(self, row: &mut $view) {
                $(if let Some(change) = self.$field {
                    row.$field.patch(change);
                })*
            }
        }
    };
}

patch!(
    /// The fields of one pod row that changed, the others absent: a pod turning not
    /// Ready costs its `ready` fields, its readiness probe's state and its events, not
    /// the whole row. A new pod under the same name (a new UID) is sent whole, as
    /// [`Change::Pod`].
    PodPatch for PodView key name {
        status: String,
        ready: String,
        is_ready: bool,
        restarts: i32,
        last_restart_at: i64,
        ready_at: i64,
        grace_period_seconds: Option<i64>,
        ip: String,
        node: String,
        revision: String,
        containers: Vec<ContainerView>,
        events: Vec<EventView>,
        visits: Visits,
        faults: Vec<String>,
    }
);

patch!(
    /// What changed in one container (the same container: same name and image).
    ContainerPatch for ContainerView {
        ready: bool,
        started: bool,
        restart_count: i32,
        state: String,
        last_termination: Option<String>,
        last_termination_at: i64,
        probes: Vec<ProbeView>,
        crash: Option<Crash>,
    }
);

patch!(
    /// What changed in one probe (the same kind and check): usually only its state.
    ProbePatch for ProbeView {
        initial_delay_seconds: i32,
        period_seconds: i32,
        timeout_seconds: i32,
        success_threshold: i32,
        failure_threshold: i32,
        state: ProbeState,
    }
);

patch!(
    /// What changed in the StatefulSet panel (the same StatefulSet: same name and UID),
    /// e.g. `readyReplicas` when a pod turns Ready.
    StatefulSetPatch for StatefulSetView {
        replicas: i32,
        ready_replicas: i32,
        current_replicas: i32,
        pod_management_policy: String,
        service_name: String,
        update_strategy: String,
        current_revision: String,
        update_revision: String,
        claim_templates: Vec<String>,
        created_at: i64,
    }
);

list_patchable!(ContainerView, ContainerPatch, |o, n| o.name == n.name && o.image == n.image);
list_patchable!(ProbeView, ProbePatch, |o, n| o.kind == n.kind && o.action == n.action);

impl Snapshot {
    /// The changes that turn `self` into `next`, row by row.
    pub fn diff(&self, next: &Snapshot) -> Vec<Change> {
        let mut out = Vec::new();
        if self.connection != next.connection {
            out.push(Change::Connection(next.connection.clone()));
        }
        if self.statefulsets != next.statefulsets {
            out.push(Change::StatefulSets(next.statefulsets.clone()));
        }
        match (&self.statefulset, &next.statefulset) {
            (old, new) if old == new => {}
            (Some(old), Some(new)) if old.name == new.name && old.uid == new.uid => out.push(Change::StatefulSetPatch(StatefulSetPatch::between(old, new))),
            (_, new) => out.push(Change::StatefulSet(new.clone())),
        }
        keyed_diff(
            &self.pods,
            &next.pods,
            |p| &p.name,
            &mut out,
            |old, new| match old {
                // The same pod: only what changed. Same name, new UID (or ordinal): the whole row.
                Some(old) if old.uid == new.uid && old.ordinal == new.ordinal && old.created_at == new.created_at => {
                    Change::PodPatch(PodPatch::between(old, new))
                }
                _ => Change::Pod(new.clone()),
            },
            Change::PodRemoved,
        );
        keyed_diff(&self.claims, &next.claims, |c| &c.name, &mut out, |_, c| Change::Claim(c.clone()), Change::ClaimRemoved);
        if self.dns != next.dns {
            out.extend(dns_diff(&self.dns, &next.dns));
        }
        let newest = self.timeline.first().map(|n| n.id);
        let entries: Vec<Narration> = next.timeline.iter().take_while(|n| Some(n.id) > newest).cloned().collect();
        if !entries.is_empty() {
            out.push(Change::Narrated(entries));
        }
        if self.ordering != next.ordering {
            out.push(Change::Ordering(next.ordering.clone()));
        }
        if self.practice != next.practice {
            out.push(Change::Practice(next.practice));
        }
        out
    }

    /// Applies a delta in place. Returns false if it does not follow on from this
    /// snapshot's revision (the client should then fetch a fresh snapshot).
    pub fn apply(&mut self, delta: Delta) -> bool {
        match delta {
            Delta::Snapshot(snapshot) => {
                *self = *snapshot;
                true
            }
            Delta::Changes { revision, changes } => {
                if revision <= self.revision {
                    return true;
                }
                for change in changes {
                    self.apply_change(change);
                }
                self.revision = revision;
                true
            }
        }
    }

    /// Applies one change.
    pub fn apply_change(&mut self, change: Change) {
        match change {
            Change::Connection(connection) => self.connection = connection,
            Change::StatefulSets(names) => self.statefulsets = names,
            Change::StatefulSet(statefulset) => self.statefulset = statefulset,
            Change::StatefulSetPatch(patch) => {
                if let Some(statefulset) = &mut self.statefulset {
                    patch.apply(statefulset);
                }
            }
            Change::Pod(pod) => upsert(&mut self.pods, pod, |p| (p.ordinal, p.name.clone())),
            Change::PodPatch(patch) => {
                if let Some(pod) = self.pods.iter_mut().find(|p| p.name == patch.name) {
                    patch.apply(pod);
                }
            }
            Change::PodRemoved(name) => self.pods.retain(|p| p.name != name),
            Change::Claim(claim) => upsert(&mut self.claims, claim, |c| (c.ordinal, c.name.clone())),
            Change::ClaimRemoved(name) => self.claims.retain(|c| c.name != name),
            Change::Dns(dns) => self.dns = dns,
            Change::DnsRecords { from, remove, insert } => {
                let records = &mut self.dns.records;
                let from = from.min(records.len());
                let to = from.saturating_add(remove).min(records.len());
                records.splice(from..to, insert);
            }
            Change::DnsPublished { at, published } => {
                for i in at {
                    if let Some(r) = self.dns.records.get_mut(i) {
                        r.published = published;
                    }
                }
            }
            Change::SrvWeights { name, published, withheld } => {
                for r in self.dns.records.iter_mut().filter(|r| r.weight.is_some() && r.name == name) {
                    r.weight = Some(if r.published { published } else { withheld });
                }
            }
            Change::Narrated(mut entries) => {
                let newest = self.timeline.first().map(|n| n.id);
                entries.retain(|n| Some(n.id) > newest);
                entries.append(&mut self.timeline);
                entries.truncate(TIMELINE_CAP);
                self.timeline = entries;
            }
            Change::Ordering(charts) => self.ordering = charts,
            Change::Practice(practice) => self.practice = practice,
        }
    }
}

/// The changes from `old` to `new` (which differ): splices for the records added,
/// removed or changed, and one [`Change::SrvWeights`] per SRV name whose weights moved;
/// the whole view when the Service itself changed, or when that would not rebuild
/// `new` exactly.
fn dns_diff(old: &DnsView, new: &DnsView) -> Vec<Change> {
    let whole = || vec![Change::Dns(new.clone())];
    let same_service = old.service == new.service && old.headless == new.headless && old.publish_not_ready == new.publish_not_ready && old.domain == new.domain;
    if !same_service {
        return whole();
    }
    // The same records, some published or withheld now (a pod turned ready or not):
    // their places, not the records.
    let same_records = old.records.len() == new.records.len() && old.records.iter().zip(&new.records).all(|(o, n)| o.key() == n.key() && o.pod == n.pod);
    let mut changes: Vec<Change> = if same_records {
        [true, false]
            .into_iter()
            .filter_map(|published| {
                let at: Vec<usize> =
                    (0..new.records.len()).filter(|&i| new.records[i].published == published && old.records[i].published != published).collect();
                (!at.is_empty()).then_some(Change::DnsPublished { at, published })
            })
            .collect()
    } else {
        record_splices(&old.records, &new.records)
            .into_iter()
            .map(|(from, remove, insert)| Change::DnsRecords { from, remove, insert: new.records[insert].to_vec() })
            .collect()
    };
    let mut rebuilt = Snapshot { dns: old.clone(), ..Default::default() };
    for change in &changes {
        rebuilt.apply_change(change.clone());
    }
    let mut names: Vec<&str> = Vec::new();
    for (was, now) in rebuilt.dns.records.iter().zip(&new.records) {
        if was.weight != now.weight && !names.contains(&now.name.as_str()) {
            names.push(&now.name);
        }
    }
    for name in names {
        let weight = |published: bool| new.records.iter().find(|r| r.name == name && r.published == published).and_then(|r| r.weight);
        let (published, withheld) = (weight(true), weight(false));
        let change =
            Change::SrvWeights { name: name.to_owned(), published: published.or(withheld).unwrap_or(0), withheld: withheld.or(published).unwrap_or(0) };
        rebuilt.apply_change(change.clone());
        changes.push(change);
    }
    if rebuilt.dns != *new { whole() } else { changes }
}

/// Splices `(from, remove, insert)` that turn `old` into `new`, applied in order, with
/// `insert` a range of `new`: a walk of both lists that matches records by
/// [`DnsRecord::key`], so a record added, removed or changed in place costs that
/// record, not the records between it and the next change.
fn record_splices(old: &[DnsRecord], new: &[DnsRecord]) -> Vec<(usize, usize, std::ops::Range<usize>)> {
    let at: std::collections::HashMap<(&str, &str, &str), usize> = old.iter().enumerate().map(|(i, r)| (r.key(), i)).collect();
    let mut out: Vec<(usize, usize, std::ops::Range<usize>)> = Vec::new();
    let mut push = |from: usize, remove: usize, insert: std::ops::Range<usize>| match out.last_mut() {
        // Touching the previous splice: one splice.
        Some((f, r, ins)) if *f + ins.len() == from && (ins.start == ins.end || insert.start == insert.end || ins.end == insert.start) => {
            *r += remove;
            if ins.start == ins.end {
                *ins = insert;
            } else if insert.start != insert.end {
                ins.end = insert.end;
            }
        }
        _ => out.push((from, remove, insert)),
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i].key() == new[j].key() {
            if !old[i].same_but_weight(&new[j]) {
                push(j, 1, j..j + 1);
            }
            i += 1;
            j += 1;
        } else if j == new.len() {
            push(j, old.len() - i, j..j);
            i = old.len();
        } else {
            match at.get(&new[j].key()) {
                // The records before it in `old` are gone.
                Some(&k) if k > i => {
                    push(j, k - i, j..j);
                    i = k;
                }
                _ => {
                    push(j, 0, j..j + 1);
                    j += 1;
                }
            }
        }
    }
    out
}

fn keyed_diff<T: PartialEq>(
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> &String,
    out: &mut Vec<Change>,
    upsert: impl Fn(Option<&T>, &T) -> Change,
    removed: impl Fn(String) -> Change,
) {
    // Indexed by key: linear in the rows, for a StatefulSet of 1,000 pods.
    let old_rows: std::collections::HashMap<&String, &T> = old.iter().map(|o| (key(o), o)).collect();
    let new_keys: std::collections::HashSet<&String> = new.iter().map(&key).collect();
    for o in old {
        if !new_keys.contains(key(o)) {
            out.push(removed(key(o).clone()));
        }
    }
    for n in new {
        let was = old_rows.get(key(n)).copied();
        if was != Some(n) {
            out.push(upsert(was, n));
        }
    }
}

fn upsert<T, K: Ord>(rows: &mut Vec<T>, row: T, order: impl Fn(&T) -> K) {
    let k = order(&row);
    match rows.iter().position(|r| order(r) == k) {
        Some(i) => rows[i] = row,
        None => {
            let at = rows.iter().position(|r| order(r) > k).unwrap_or(rows.len());
            rows.insert(at, row);
        }
    }
}

/// Who is looking at the page: the presenter may change the lab, the audience watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Signed in with the presenter link or token: the page has the buttons.
    Presenter,
    /// Everyone else: the same live page, with no controls.
    #[default]
    Audience,
}

/// What the page is rendered from: the shared snapshot plus what is particular to
/// this viewer and this moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The StatefulSet's state, the same for every viewer.
    pub snapshot: Snapshot,
    /// This viewer's role.
    pub role: Role,
    /// The server's clock (Unix seconds), which ages are counted against.
    pub server_time: i64,
}

impl Page {
    /// Whether this viewer gets the buttons: the presenter, unless the dashboard is read-only.
    pub fn controls(&self) -> bool {
        self.role == Role::Presenter && !self.snapshot.read_only
    }
}

/// The result of a button press, shown to the user with the kubectl equivalent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// What happened, in words.
    pub message: String,
    /// The kubectl commands that do the same.
    pub kubectl: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ordinal: i32, status: &str) -> PodView {
        PodView { name: name.into(), ordinal, status: status.into(), ..Default::default() }
    }

    #[test]
    fn diff_touches_only_the_changed_rows_and_round_trips() {
        let old =
            Snapshot { revision: 1, pods: vec![pod("web-0", 0, "Running"), pod("web-1", 1, "Running"), pod("web-2", 2, "Running")], ..Default::default() };
        let mut next = old.clone();
        next.pods[1].status = "Terminating".into();
        next.pods.remove(2);
        next.pods.push(pod("web-10", 10, "Pending"));
        let changes = old.diff(&next);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(changes.contains(&Change::PodRemoved("web-2".into())));
        let mut replayed = old.clone();
        assert!(replayed.apply(Delta::Changes { revision: 2, changes }));
        next.revision = 2;
        assert_eq!(replayed, next);
    }

    fn narration(id: u64) -> Narration {
        Narration { id, at: id as i64, text: format!("event {id}"), ..Default::default() }
    }

    #[test]
    fn narrations_travel_as_new_entries_and_the_timeline_stays_capped() {
        let old = Snapshot { timeline: (1..=TIMELINE_CAP as u64).rev().map(narration).collect(), ..Default::default() };
        let mut next = old.clone();
        next.timeline.insert(0, narration(TIMELINE_CAP as u64 + 1));
        next.timeline.insert(0, narration(TIMELINE_CAP as u64 + 2));
        next.timeline.truncate(TIMELINE_CAP);
        next.practice = true;
        let changes = old.diff(&next);
        let Some(Change::Narrated(entries)) = changes.first() else { panic!("{changes:?}") };
        assert_eq!(entries.iter().map(|n| n.id).collect::<Vec<_>>(), [52, 51]);
        let mut replayed = old.clone();
        assert!(replayed.apply(Delta::Changes { revision: 1, changes: changes.clone() }));
        next.revision = 1;
        assert_eq!(replayed, next);
        // The same delta applied twice (e.g. after a lagged stream) adds nothing.
        for change in changes {
            replayed.apply_change(change);
        }
        assert_eq!(replayed.timeline, next.timeline);
    }

    #[test]
    fn probe_state_json_says_what_the_kubelet_reported() {
        let failing = ProbeState::Failing { failures: 2, threshold: 3, message: "HTTP probe failed with statuscode: 500".into() };
        assert_eq!(
            serde_json::to_value(failing).expect("json"),
            serde_json::json!({"failing": {"failures": 2, "threshold": 3, "message": "HTTP probe failed with statuscode: 500"}})
        );
        assert_eq!(serde_json::to_value(ProbeState::NotYetRun).expect("json"), serde_json::json!("notYetRun"));
        assert_eq!(serde_json::to_value(ProbeState::FirstDue { at: 100 }).expect("json"), serde_json::json!({"firstDue": {"at": 100}}));
    }

    #[test]
    fn a_probe_due_later_has_not_run_and_passes_once_due_without_a_failure() {
        let due = ProbeState::FirstDue { at: 100 };
        assert_eq!(due.as_of(99), ProbeState::NotYetRun);
        assert_eq!(due.as_of(100), ProbeState::Passing);
        let failing = ProbeState::Failing { failures: 1, threshold: 3, message: "timeout".into() };
        assert_eq!(failing.as_of(1_000), failing, "a reported state stays as it was reported");
    }

    /// A headless Service's records as the mapping lists them, for pods `ordinals` of
    /// which those in `ready` are ready: its A records, each pod's A record, its SRV answers.
    fn headless_dns(ordinals: &[usize], ready: impl Fn(usize) -> bool) -> DnsView {
        let fqdn = "web.default.svc.cluster.local";
        let ready_count = ordinals.iter().filter(|&&n| ready(n)).count();
        let weight = |published: bool| (100 / if published { ready_count } else { ready_count + 1 }.max(1)).max(1) as u16;
        let ip = |n: usize| format!("10.244.{}.{}", n / 200, n % 200 + 2);
        let pod = |n: usize| Some(format!("web-{n}"));
        let mut records: Vec<DnsRecord> = ordinals
            .iter()
            .map(|&n| DnsRecord { name: fqdn.into(), type_: "A".into(), value: ip(n), weight: None, published: ready(n), pod: pod(n) })
            .collect();
        records.extend(ordinals.iter().map(|&n| DnsRecord {
            name: format!("web-{n}.{fqdn}"),
            type_: "A".into(),
            value: ip(n),
            weight: None,
            published: ready(n),
            pod: pod(n),
        }));
        records.extend(ordinals.iter().map(|&n| DnsRecord {
            name: format!("_http._tcp.{fqdn}"),
            type_: "SRV".into(),
            value: format!("8000 web-{n}.{fqdn}."),
            weight: Some(weight(ready(n))),
            published: ready(n),
            pod: pod(n),
        }));
        DnsView { service: Some("web".into()), headless: true, domain: "cluster.local".into(), records, ..Default::default() }
    }

    #[test]
    fn one_pods_readiness_costs_its_records_places_and_one_weight_change_at_any_size() {
        let srv = "_http._tcp.web.default.svc.cluster.local";
        for size in [10, 1000] {
            let all: Vec<usize> = (0..size).collect();
            let before = Snapshot { dns: headless_dns(&all, |_| true), ..Default::default() };
            let after = Snapshot { dns: headless_dns(&all, |n| n != size / 2), ..Default::default() };
            let changes = before.diff(&after);
            let half = size / 2;
            let withheld = Change::DnsPublished { at: vec![half, size + half, 2 * size + half], published: false };
            assert!(changes.contains(&withheld), "its service A, its own A and its SRV answer, by place: {changes:?}");
            let bytes = serde_json::to_vec(&changes).expect("json").len();
            assert!(bytes < 200, "{bytes} bytes for one pod of {size}");
            let mut replayed = before.clone();
            for change in changes.clone() {
                replayed.apply_change(change);
            }
            assert_eq!(replayed.dns, after.dns);
            if size == 10 {
                // 9 ready: 100 / 9 each; the withheld one as if it were the tenth.
                assert!(changes.contains(&Change::SrvWeights { name: srv.into(), published: 11, withheld: 10 }), "{changes:?}");
                assert_eq!(after.dns.records[20].answer(), "0 11 8000 web-0.web.default.svc.cluster.local.");
            }
        }
    }

    #[test]
    fn any_dns_change_replays_to_the_same_view() {
        let all: Vec<usize> = (0..50).collect();
        let before = Snapshot { dns: headless_dns(&all, |n| n % 3 != 0), ..Default::default() };
        let fewer: Vec<usize> = (0..50).filter(|n| n % 7 != 0).collect();
        let more: Vec<usize> = (0..60).collect();
        for next in [
            headless_dns(&all, |_| true),
            headless_dns(&all, |n| n % 2 == 0),
            headless_dns(&more, |n| n % 3 != 0),
            headless_dns(&fewer, |n| n % 3 != 0),
            headless_dns(&fewer, |_| false),
            headless_dns(&[], |_| true),
            DnsView { headless: false, ..headless_dns(&all, |_| true) },
        ] {
            let next = Snapshot { dns: next, ..Default::default() };
            let changes = before.diff(&next);
            // Only a changed Service sends the whole view; the rest are splices and weights.
            assert_eq!(changes.iter().any(|c| matches!(c, Change::Dns(_))), next.dns.headless != before.dns.headless, "{changes:?}");
            let mut replayed = before.clone();
            for change in changes {
                replayed.apply_change(change);
            }
            assert_eq!(replayed.dns, next.dns);
        }
    }

    #[test]
    fn upsert_keeps_ordinal_order_not_name_order() {
        let mut s = Snapshot { pods: vec![pod("web-2", 2, "Running"), pod("web-10", 10, "Running")], ..Default::default() };
        s.apply_change(Change::Pod(pod("web-3", 3, "Pending")));
        let names: Vec<_> = s.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-2", "web-3", "web-10"]);
    }

    #[test]
    fn json_field_names_are_camel_case() {
        let s = Snapshot { read_only: true, ..Default::default() };
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["readOnly"], true);
        assert_eq!(v["connection"], "live");
        let visits = serde_json::to_value(Visits::Count { value: 3, changed_at: 7 }).expect("json");
        assert_eq!(visits, serde_json::json!({"count": {"value": 3, "changedAt": 7}}));
    }

    /// A pod of a lab StatefulSet as the mapping makes it: one container, two probes,
    /// an event.
    fn lab_pod(ordinal: i32) -> PodView {
        let probe = |kind: &str| ProbeView {
            kind: kind.into(),
            action: "http-get http://:http/healthz".into(),
            initial_delay_seconds: 1,
            period_seconds: 2,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 2,
            state: ProbeState::Passing,
        };
        PodView {
            name: format!("web-{ordinal}"),
            ordinal,
            uid: format!("3ef7d9ce-76bb-42ef-b65f-38e1cd30{ordinal:04}"),
            status: "Running".into(),
            ready: "1/1".into(),
            is_ready: true,
            created_at: 1_796_286_053,
            ready_at: 1_796_286_074,
            ip: format!("10.244.{}.{}", ordinal / 250, ordinal % 250 + 2),
            node: "practice-node".into(),
            revision: "web-7d49b47777".into(),
            containers: vec![ContainerView {
                name: "app".into(),
                image: "stslab/visits:1.0".into(),
                ready: true,
                started: true,
                state: "Running".into(),
                probes: vec![probe("liveness"), probe("readiness")],
                ..Default::default()
            }],
            visits: Visits::Count { value: 7, changed_at: 3 },
            ..Default::default()
        }
    }

    #[test]
    fn a_pod_turning_not_ready_travels_as_the_fields_that_changed() {
        let old = Snapshot { pods: (0..1000).map(lab_pod).collect(), ..Default::default() };
        let mut next = old.clone();
        let web = &mut next.pods[500];
        web.ready = "0/1".into();
        web.is_ready = false;
        web.ready_at = 0;
        web.containers[0].ready = false;
        web.containers[0].probes[1].state = ProbeState::Failing { failures: 2, threshold: 2, message: "HTTP probe failed with statuscode: 500".into() };
        web.events = vec![EventView {
            type_: "Warning".into(),
            reason: "Unhealthy".into(),
            message: "Readiness probe failed: HTTP probe failed with statuscode: 500".into(),
            count: 2,
            last_seen_at: 1_796_286_090,
        }];
        let changes = old.diff(&next);
        let [Change::PodPatch(patch)] = changes.as_slice() else { panic!("{changes:?}") };
        assert_eq!((patch.name.as_str(), patch.status.as_ref(), patch.ip.as_ref(), patch.visits.as_ref()), ("web-500", None, None, None));
        let json = serde_json::to_string(&Delta::Changes { revision: 1, changes: changes.clone() }).expect("json");
        let whole = serde_json::to_string(&Change::Pod(next.pods[500].clone())).expect("json");
        assert!(json.len() < 500 && json.len() < whole.len() / 2, "{} bytes, the whole row {}: {json}", json.len(), whole.len());
        // The container and its probes are patched in place: their names and checks stay home.
        assert!(!json.contains("healthz") && !json.contains("stslab/visits"), "{json}");
        // Read back as the browser reads it, the patch rebuilds the row exactly.
        let mut replayed = old.clone();
        assert!(replayed.apply(serde_json::from_str(&json).expect("delta")));
        next.revision = 1;
        assert_eq!(replayed, next);
    }

    #[test]
    fn a_pod_turning_ready_changes_the_statefulset_panel_by_one_field() {
        let panel = StatefulSetView { name: "web".into(), uid: "u1".into(), replicas: 3, ready_replicas: 2, ..Default::default() };
        let old = Snapshot { statefulset: Some(panel.clone()), ..Default::default() };
        let next = Snapshot { statefulset: Some(StatefulSetView { ready_replicas: 3, ..panel.clone() }), ..Default::default() };
        let changes = old.diff(&next);
        assert_eq!(serde_json::to_string(&changes).expect("json"), r#"[{"statefulSetPatch":{"readyReplicas":3}}]"#);
        let mut replayed = old.clone();
        replayed.apply(Delta::Changes { revision: 1, changes });
        assert_eq!(replayed.statefulset, next.statefulset);
        // A re-created StatefulSet (the policy switch) is sent whole.
        let recreated = Snapshot { statefulset: Some(StatefulSetView { uid: "u2".into(), ..panel }), ..Default::default() };
        assert!(matches!(old.diff(&recreated).as_slice(), [Change::StatefulSet(Some(_))]));
    }

    #[test]
    fn a_patch_can_set_an_optional_field_back_to_none() {
        let terminating = PodView { status: "Terminating".into(), grace_period_seconds: Some(30), ..lab_pod(0) };
        let patch = PodPatch::between(&terminating, &lab_pod(0));
        let json = serde_json::to_string(&patch).expect("json");
        assert!(json.contains(r#""gracePeriodSeconds":null"#), "{json}");
        let mut row = terminating;
        serde_json::from_str::<PodPatch>(&json).expect("patch").apply(&mut row);
        assert_eq!(row, lab_pod(0));
        // Absent fields stay as they are.
        let mut row = lab_pod(0);
        serde_json::from_str::<PodPatch>(r#"{"name":"web-0"}"#).expect("patch").apply(&mut row);
        assert_eq!(row, lab_pod(0));
    }

    #[test]
    fn a_new_pod_under_the_same_name_is_sent_whole() {
        let old = Snapshot { pods: vec![lab_pod(0)], ..Default::default() };
        let recreated = PodView { uid: "b0b2d9ce-0000-4000-8000-000000000000".into(), status: "Pending".into(), ..lab_pod(0) };
        let next = Snapshot { pods: vec![recreated.clone()], ..Default::default() };
        assert_eq!(old.diff(&next), [Change::Pod(recreated)]);
    }
}
