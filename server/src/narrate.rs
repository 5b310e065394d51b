//! The narrator: what just happened to the StatefulSet on screen, in sentences that
//! link cause to effect, each with the kubectl command that shows it.
//!
//! It compares consecutive snapshots of one feed (see `publish`), once for every
//! viewer, and remembers what a story needs across snapshots: a deleted pod's UID, IP,
//! claims and count, so that when the StatefulSet controller brings it back the
//! timeline can say "same name, same claim, same count, new IP".

use std::collections::{HashMap, HashSet};

use app::model::{ClaimView, DnsRecord, Narration, NarrationKind, PodView, ProbeState, Snapshot, TIMELINE_CAP, Visits};

/// What a deleted pod was, kept until its successor has told the whole story.
#[derive(Debug, Default)]
struct Recreation {
    old_uid: String,
    old_ip: String,
    /// Its claims, name and UID, when it was deleted.
    claims: Vec<(String, String)>,
    /// Its count when it was deleted, if it had been read.
    visits: Option<u64>,
    /// The successor's UID, once it exists.
    new_uid: Option<String>,
    told_mounted: bool,
    told_ip: bool,
    told_count: bool,
    told_ready: bool,
}

impl Recreation {
    fn done(&self) -> bool {
        self.told_mounted && self.told_ip && self.told_count && self.told_ready
    }
}

/// The narrator of one StatefulSet feed.
#[derive(Debug, Default)]
pub struct Narrator {
    next_id: u64,
    timeline: Vec<Narration>,
    recreations: HashMap<String, Recreation>,
    /// UIDs of the pods seen Ready, to tell "Ready" from "Ready again".
    been_ready: HashSet<String>,
    /// Pods whose DNS record was withheld while the pod still showed Ready: the watches
    /// deliver the EndpointSlice and the pod independently, and the effect is told
    /// after its cause.
    withheld_early: HashSet<String>,
    /// The page before the StatefulSet went away, while it is away.
    before_gap: Option<Box<Snapshot>>,
}

/// Short UID for a sentence: its first 8 characters, as on the lanes.
fn short(uid: &str) -> &str {
    uid.get(..8).unwrap_or(uid)
}

/// What a narration is about and how to show it.
struct Say<'a> {
    pod: Option<&'a PodView>,
    kind: NarrationKind,
    text: String,
    kubectl: String,
}

impl Narrator {
    /// The timeline, newest first, at most [`TIMELINE_CAP`] entries.
    pub fn timeline(&self) -> &[Narration] {
        &self.timeline
    }

    fn say(&mut self, now: i64, s: Say<'_>) {
        self.next_id += 1;
        let n = Narration {
            id: self.next_id,
            at: now,
            text: s.text,
            kubectl: s.kubectl,
            pod: s.pod.map(|p| p.name.clone()),
            ordinal: s.pod.map(|p| p.ordinal),
            kind: s.kind,
        };
        self.timeline.insert(0, n);
        self.timeline.truncate(TIMELINE_CAP);
    }

    /// Narrates what changed from `prev` to `next`, observed at `now` (Unix seconds).
    pub fn observe(&mut self, prev: &Snapshot, next: &Snapshot, now: i64) {
        match (&prev.statefulset, &next.statefulset) {
            (Some(_), Some(_)) => self.tell(prev, next, now),
            // The policy switch deletes the StatefulSet and creates it again: the story
            // compares the page before the gap with the page after it.
            (Some(_), None) => self.before_gap = Some(Box::new(prev.clone())),
            (None, Some(_)) => {
                if let Some(before) = self.before_gap.take() {
                    self.tell(&before, next, now);
                }
            }
            (None, None) => {}
        }
    }

    fn tell(&mut self, prev: &Snapshot, next: &Snapshot, now: i64) {
        let (Some(old_sts), Some(sts)) = (&prev.statefulset, &next.statefulset) else { return };
        if old_sts.name != sts.name {
            self.recreations.clear();
            return;
        }
        let k = Kubectl::new(&next.namespace);
        let mut out = Vec::new();
        statefulset_story(prev, next, &k, &mut out);
        for old in &prev.pods {
            match next.pods.iter().find(|p| p.name == old.name) {
                Some(new) if new.uid == old.uid => self.pod_changed(prev, next, old, new, &k, &mut out),
                Some(new) => {
                    self.pod_gone(prev, next, old, &k, &mut out);
                    self.pod_created(next, new, &k, &mut out);
                }
                None => self.pod_gone(prev, next, old, &k, &mut out),
            }
        }
        for new in next.pods.iter().filter(|n| !prev.pods.iter().any(|p| p.name == n.name)) {
            self.pod_created(next, new, &k, &mut out);
        }
        for new in &next.pods {
            self.recreation_story(prev, next, new, &k, &mut out);
        }
        dns_story(prev, next, &k, &mut self.withheld_early, &mut out);
        self.recreations.retain(|_, r| !r.done());
        let live: HashSet<&str> = next.pods.iter().map(|p| p.uid.as_str()).collect();
        self.been_ready.retain(|uid| live.contains(uid.as_str()));
        self.been_ready.extend(prev.pods.iter().chain(&next.pods).filter(|p| p.is_ready).map(|p| p.uid.clone()));
        for s in out {
            self.say(now, s);
        }
    }

    /// A pod with the same UID in both snapshots.
    fn pod_changed<'a>(&mut self, prev: &Snapshot, next: &'a Snapshot, old: &PodView, new: &'a PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
        let name = &new.name;
        if old.grace_period_seconds.is_none() && new.grace_period_seconds.is_some() {
            let grace = new.grace_period_seconds.unwrap_or(30);
            self.remember_deleted(prev, old);
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Progress,
                text: format!("{name} was deleted: it is Terminating, with {grace} s (its grace period) to stop before it is killed."),
                kubectl: k.cmd(&format!("get pod {name}")),
            });
            return;
        }
        if new.grace_period_seconds.is_some() {
            return;
        }
        probe_story(old, new, k, out);
        let readiness_failing = readiness(new).and_then(failing);
        if old.is_ready && !new.is_ready {
            let why = match readiness_failing {
                // Not Ready for readiness means the threshold was reached, whatever event arrived yet.
                Some((_, threshold)) => format!(": its readiness probe failed {threshold} times in a row"),
                None if new.containers.iter().any(|c| c.crash.is_some() || c.restart_count > 0 && !c.ready) => ": its container is not running".to_owned(),
                None => String::new(),
            };
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Warning,
                text: format!("{name} is no longer Ready (READY {}){why}.", new.ready),
                kubectl: k.cmd(&format!("get pod {name}")),
            });
        }
        if !old.is_ready && new.is_ready && !self.recreations.contains_key(name) {
            let text = if !self.been_ready.contains(&new.uid) {
                format!("{name} is Ready ({}).{}", new.ready, ordered_next(next, new))
            } else {
                format!("{name} is Ready again ({}): its probes pass.", new.ready)
            };
            out.push(Say { pod: Some(new), kind: NarrationKind::Good, text, kubectl: k.cmd(&format!("get pod {name}")) });
        }
        restart_story(old, new, k, out);
    }

    fn remember_deleted(&mut self, prev: &Snapshot, old: &PodView) {
        let claims = claims_of(&prev.claims, old).map(|c| (c.name.clone(), c.uid.clone())).collect();
        let visits = match old.visits {
            Visits::Count { value, .. } => Some(value),
            _ => None,
        };
        self.recreations.insert(old.name.clone(), Recreation { old_uid: old.uid.clone(), old_ip: old.ip.clone(), claims, visits, ..Default::default() });
    }

    fn pod_gone<'a>(&mut self, prev: &Snapshot, next: &'a Snapshot, old: &PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
        let name = &old.name;
        let replicas = next.statefulset.as_ref().map_or(0, |s| s.replicas);
        if old.ordinal >= replicas {
            out.push(Say {
                pod: None,
                kind: NarrationKind::Progress,
                text: format!("{name} is gone: the StatefulSet scaled down. Its claim stays, ready for when it comes back."),
                kubectl: k.cmd("get pods,pvc"),
            });
            self.recreations.remove(name);
            return;
        }
        if !self.recreations.contains_key(name) {
            self.remember_deleted(prev, old);
        }
        out.push(Say {
            pod: None,
            kind: NarrationKind::Progress,
            text: format!("{name} (UID {}) has stopped and is gone. The StatefulSet wants {replicas} replicas, so its controller creates {name} again.", short(&old.uid)),
            kubectl: k.cmd(&format!("describe statefulset {}", next.statefulset.as_ref().map_or("", |s| s.name.as_str()))),
        });
    }

    fn pod_created<'a>(&mut self, next: &'a Snapshot, new: &'a PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
        let name = &new.name;
        if let Some(r) = self.recreations.get_mut(name) {
            r.new_uid = Some(new.uid.clone());
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Progress,
                text: format!(
                    "The StatefulSet controller re-created {name} with the same name: a new pod (UID {}, was {}) with the same identity.",
                    short(&new.uid),
                    short(&r.old_uid)
                ),
                kubectl: k.cmd(&format!("get pod {name} -o custom-columns=NAME:.metadata.name,UID:.metadata.uid")),
            });
            return;
        }
        let Some(sts) = &next.statefulset else { return };
        let ordered = sts.pod_management_policy != "Parallel";
        let tail = if ordered && new.ordinal + 1 < sts.replicas {
            format!(" Under OrderedReady, {}-{} waits until {name} is Ready.", sts.name, new.ordinal + 1)
        } else {
            String::new()
        };
        out.push(Say {
            pod: Some(new),
            kind: NarrationKind::Progress,
            text: format!("The StatefulSet controller created {name} (ordinal {}).{tail}", new.ordinal),
            kubectl: k.cmd("get pods -w"),
        });
    }

    /// The deleted pod's successor: mounted the same claim, Ready, same count, new IP.
    fn recreation_story<'a>(&mut self, prev: &Snapshot, next: &'a Snapshot, new: &'a PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
        let Some(r) = self.recreations.get_mut(&new.name) else { return };
        if r.new_uid.as_deref() != Some(new.uid.as_str()) {
            return;
        }
        let name = &new.name;
        let old = prev.pods.iter().find(|p| p.uid == new.uid);
        if !r.told_mounted && new.status == "Running" {
            r.told_mounted = true;
            for (claim_name, old_uid) in &r.claims {
                let Some(claim) = next.claims.iter().find(|c| &c.name == claim_name) else { continue };
                let (kind, text) = if &claim.uid == old_uid {
                    (NarrationKind::Good, format!("{name} mounted the same claim {claim_name} (UID {}, unchanged): same volume, same files.", short(&claim.uid)))
                } else {
                    (NarrationKind::Warning, format!("{name} mounted claim {claim_name} with a new UID ({}, was {}): the old claim was deleted, so its data is gone.", short(&claim.uid), short(old_uid)))
                };
                out.push(Say { pod: Some(new), kind, text, kubectl: k.cmd(&format!("get pvc {claim_name} -o custom-columns=NAME:.metadata.name,UID:.metadata.uid,VOLUME:.spec.volumeName")) });
            }
        }
        if !r.told_ip && !new.ip.is_empty() {
            r.told_ip = true;
            let fqdn = next.dns.records.iter().find(|d| d.pod.as_deref() == Some(name) && d.type_ == "A" && d.name.starts_with(&format!("{name}."))).map(|d| d.name.clone());
            let dns = fqdn.map(|f| format!(" Its DNS name {f} stays the same and will point to the new IP.")).unwrap_or_default();
            let text = if r.old_ip.is_empty() || r.old_ip == new.ip {
                format!("{name} has IP {}.{dns}", new.ip)
            } else {
                format!("{name}'s IP changed: {} → {}.{dns}", r.old_ip, new.ip)
            };
            out.push(Say { pod: Some(new), kind: NarrationKind::Note, text, kubectl: k.cmd(&format!("get pod {name} -o wide")) });
        }
        if !r.told_ready && new.is_ready && !old.is_some_and(|o| o.is_ready) {
            r.told_ready = true;
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Good,
                text: format!("{name} is Ready again ({}).", new.ready),
                kubectl: k.cmd(&format!("get pod {name}")),
            });
        }
        if !r.told_count {
            if let Visits::Count { value, .. } = new.visits {
                r.told_count = true;
                let text = match r.visits {
                    Some(before) if before == value => format!("{name}'s count is still {value}: it is kept in a file on the claim's volume, not in the pod."),
                    Some(before) => format!("{name}'s count is {value} (it was {before} before the deletion)."),
                    None => format!("{name}'s count is {value}, read from the file on its volume."),
                };
                let kind = if r.visits.is_none_or(|b| b == value) { NarrationKind::Good } else { NarrationKind::Note };
                out.push(Say { pod: Some(new), kind, text, kubectl: k.cmd(&format!("exec {name} -- cat visits")) });
            } else if r.visits.is_none() {
                r.told_count = true;
            }
        }
    }
}

/// The pods' claims: those naming it as their pod, else those of its ordinal.
fn claims_of<'a>(claims: &'a [ClaimView], pod: &'a PodView) -> impl Iterator<Item = &'a ClaimView> {
    claims.iter().filter(move |c| c.pod.as_deref() == Some(pod.name.as_str()) || c.ordinal == pod.ordinal)
}

/// kubectl commands in the StatefulSet's namespace (`-n` only when not `default`).
struct Kubectl {
    namespace: String,
}

impl Kubectl {
    fn new(namespace: &str) -> Self {
        Kubectl { namespace: namespace.to_owned() }
    }

    fn cmd(&self, args: &str) -> String {
        if self.namespace.is_empty() || self.namespace == "default" {
            format!("kubectl {args}")
        } else {
            format!("kubectl {args} -n {}", self.namespace)
        }
    }
}

fn readiness(p: &PodView) -> Option<&ProbeState> {
    p.containers.iter().flat_map(|c| c.probes.iter()).find(|p| p.kind == "readiness").map(|p| &p.state)
}

fn failing(s: &ProbeState) -> Option<(i32, i32)> {
    match s {
        ProbeState::Failing { failures, threshold, .. } => Some((*failures, *threshold)),
        _ => None,
    }
}

/// Under OrderedReady, the ordinal that was waiting for `ready`.
fn ordered_next(next: &Snapshot, ready: &PodView) -> String {
    let Some(sts) = &next.statefulset else { return String::new() };
    let waiting = ready.ordinal + 1;
    let exists = next.pods.iter().any(|p| p.ordinal == waiting);
    if sts.pod_management_policy == "Parallel" || waiting >= sts.replicas || exists {
        return String::new();
    }
    format!(" Under OrderedReady that lets the controller create {}-{waiting}.", sts.name)
}

/// Probe failures as the kubelet reports them: one sentence per new failure.
fn probe_story<'a>(old: &PodView, new: &'a PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
    let name = &new.name;
    for (c_old, c_new) in new.containers.iter().filter_map(|c| Some((old.containers.iter().find(|o| o.name == c.name)?, c))) {
        for probe in &c_new.probes {
            let before = c_old.probes.iter().find(|p| p.kind == probe.kind).map(|p| &p.state);
            let same_instance = c_old.restart_count == c_new.restart_count;
            match (&probe.state, before) {
                (ProbeState::Failing { failures, threshold, message }, Some(b)) if b != &probe.state || !same_instance => {
                    let was = failing(b).filter(|_| same_instance).map_or(0, |(n, _)| n);
                    if *failures <= was {
                        continue;
                    }
                    let then = match probe.kind.as_str() {
                        "readiness" if failures >= threshold => " At the threshold, so the pod is not Ready.".to_owned(),
                        "readiness" => format!(" At {threshold} in a row the pod stops being Ready."),
                        "liveness" => format!(" At {threshold} in a row the kubelet restarts the container."),
                        _ => format!(" At {threshold} in a row the kubelet restarts the container."),
                    };
                    out.push(Say {
                        pod: Some(new),
                        kind: NarrationKind::Warning,
                        text: format!("{name}'s {} probe failed ({failures}/{threshold}): {message}.{then}", probe.kind),
                        kubectl: k.cmd(&format!("describe pod {name}")),
                    });
                }
                (ProbeState::Passing, Some(ProbeState::Failing { .. })) if same_instance && probe.kind != "readiness" => {
                    out.push(Say {
                        pod: Some(new),
                        kind: NarrationKind::Good,
                        text: format!("{name}'s {} probe passes again.", probe.kind),
                        kubectl: k.cmd(&format!("describe pod {name}")),
                    });
                }
                _ => {}
            }
        }
    }
}

/// Restarts: the kubelet killed it for a failed probe, or the app exited; back-off.
fn restart_story<'a>(old: &PodView, new: &'a PodView, k: &Kubectl, out: &mut Vec<Say<'a>>) {
    let name = &new.name;
    for c in &new.containers {
        let Some(before) = old.containers.iter().find(|o| o.name == c.name) else { continue };
        let crashed_now = c.crash.as_ref().is_some_and(|x| !x.previous) && before.crash.as_ref().is_none_or(|x| x.previous || x.finished_at != c.crash.as_ref().map_or(0, |n| n.finished_at));
        if crashed_now && let Some(x) = &c.crash {
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Failure,
                text: format!("{name}'s app exited with code {} ({}): a crash, not a probe. The kubelet will start it again.", x.exit_code, x.reason),
                kubectl: k.cmd(&format!("logs {name} --previous")),
            });
        }
        if c.restart_count > before.restart_count {
            let liveness = before.probes.iter().any(|p| p.kind == "liveness" && matches!(p.state, ProbeState::Failing { .. }));
            let text = if c.crash.is_some() && !liveness {
                format!("The kubelet restarted {name}'s container {} after the app exited (restart {}). Same pod: same name, IP and claim.", c.name, c.restart_count)
            } else {
                format!(
                    "The kubelet restarted {name}'s container {} because its liveness probe kept failing (restart {}). Same pod: same name, IP and claim.",
                    c.name, c.restart_count
                )
            };
            out.push(Say { pod: Some(new), kind: NarrationKind::Failure, text, kubectl: k.cmd(&format!("get pod {name}")) });
        }
        let backing_off = |s: &str| s == "Waiting: CrashLoopBackOff";
        if backing_off(&c.state) && !backing_off(&before.state) {
            out.push(Say {
                pod: Some(new),
                kind: NarrationKind::Failure,
                text: format!("{name} is in CrashLoopBackOff: the kubelet waits longer before each restart (10 s, 20 s, 40 s … up to 5 min)."),
                kubectl: k.cmd(&format!("describe pod {name}")),
            });
        }
    }
}

/// Scaling and re-creation of the StatefulSet itself.
fn statefulset_story(prev: &Snapshot, next: &Snapshot, k: &Kubectl, out: &mut Vec<Say<'_>>) {
    let (Some(old), Some(new)) = (&prev.statefulset, &next.statefulset) else { return };
    let name = &new.name;
    if old.uid != new.uid && !old.uid.is_empty() {
        let how = if old.pod_management_policy == new.pod_management_policy {
            String::new()
        } else {
            format!(", switching podManagementPolicy from {} to {}", old.pod_management_policy, new.pod_management_policy)
        };
        out.push(Say {
            pod: None,
            kind: NarrationKind::Note,
            text: format!("{name} was deleted with --cascade=orphan and created again{how}. Its pods were adopted, not restarted: the policy only matters for scaling."),
            kubectl: k.cmd(&format!("get statefulset {name} -o jsonpath={{.spec.podManagementPolicy}}")),
        });
    }
    if old.replicas == new.replicas {
        return;
    }
    let (from, to) = (old.replicas, new.replicas);
    let ordinals = |a: i32, b: i32| (a..b).map(|n| format!("{name}-{n}")).collect::<Vec<_>>().join(", ");
    let how = match (new.pod_management_policy.as_str(), to > from) {
        ("Parallel", true) => format!("Under Parallel, {} are created at once.", ordinals(from, to)),
        ("Parallel", false) => format!("Under Parallel, {} are removed at once.", ordinals(to, from)),
        (_, true) if to - from > 1 => {
            format!("Under OrderedReady, {name}-{from} comes first and each next ordinal waits until the one before is Ready.")
        }
        (_, true) => format!("Under OrderedReady, {name}-{from} is created once {name}-{} is Ready.", from - 1),
        (_, false) => format!("Under OrderedReady, they go from the highest ordinal down, one at a time: {}.", {
            let mut v: Vec<String> = (to..from).map(|n| format!("{name}-{n}")).collect();
            v.reverse();
            v.join(", then ")
        }),
    };
    out.push(Say {
        pod: None,
        kind: NarrationKind::Progress,
        text: format!("{name} was scaled from {from} to {to} replicas. {how}"),
        kubectl: k.cmd(&format!("get statefulset {name}")),
    });
}

/// Endpoints and DNS: a pod's record published, withheld or gone.
fn dns_story<'a>(prev: &Snapshot, next: &'a Snapshot, k: &Kubectl, withheld_early: &mut HashSet<String>, out: &mut Vec<Say<'a>>) {
    let Some(service) = &next.dns.service else { return };
    fn pod_record<'s>(s: &'s Snapshot, pod: &str) -> Option<&'s DnsRecord> {
        s.dns.records.iter().find(|r| r.type_ == "A" && r.pod.as_deref() == Some(pod) && r.name.starts_with(&format!("{pod}.")))
    }
    let mut names: Vec<&str> = prev.pods.iter().chain(&next.pods).map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for pod in names {
        let mut before = pod_record(prev, pod).map(|r| r.published);
        let after = pod_record(next, pod);
        let view = next.pods.iter().find(|p| p.name == pod);
        if after.is_some_and(|r| !r.published) && view.is_some_and(|p| p.is_ready && p.grace_period_seconds.is_none()) {
            // Withheld before the pod's own status says it is not Ready: told once it does.
            if before == Some(true) {
                withheld_early.insert(pod.to_owned());
            }
            continue;
        }
        if withheld_early.remove(pod) {
            before = Some(true);
        }
        let from = next.pods.iter().find(|p| p.name != pod && p.is_ready).map_or(pod, |p| p.name.as_str());
        let slices = k.cmd(&format!("get endpointslices -l kubernetes.io/service-name={service}"));
        let shutting_down = view.is_none_or(|p| p.grace_period_seconds.is_some());
        match (before, after) {
            (Some(true), after) if shutting_down && after.is_none_or(|r| !r.published) => {
                out.push(Say {
                    pod: view,
                    kind: NarrationKind::Progress,
                    text: format!("{pod} left Service {service}'s endpoints as it shuts down; DNS no longer answers its name."),
                    kubectl: slices,
                });
            }
            (Some(true), Some(r)) if !r.published => {
                out.push(Say {
                    pod: view,
                    kind: NarrationKind::Warning,
                    text: format!("{pod} was taken out of Service {service}'s endpoints because it is not Ready."),
                    kubectl: slices,
                });
                out.push(Say {
                    pod: view,
                    kind: NarrationKind::Warning,
                    text: format!("DNS withdrew {}: looking it up now answers NXDOMAIN, and {service} no longer lists {pod}'s IP.", r.name),
                    kubectl: k.cmd(&format!("exec {from} -- nslookup {}", r.name)),
                });
            }
            (Some(false) | None, Some(r)) if r.published => {
                out.push(Say {
                    pod: view,
                    kind: NarrationKind::Good,
                    text: format!("{pod} is in Service {service}'s endpoints, so DNS answers {} with {}.", r.name, r.value),
                    kubectl: k.cmd(&format!("exec {from} -- nslookup {}", r.name)),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
