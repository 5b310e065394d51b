//! The ordering chart's data: for the last scale-up or re-creation, when each new pod
//! was created and when it became Ready, with the previous one kept beside it, so that
//! OrderedReady's staircase and Parallel's block can be compared after the teacher
//! scales twice with the policy switched in between.

use std::collections::HashMap;

use app::model::{OrderingBar, OrderingChart, Snapshot};

/// How many charts are kept: the last one and the one before.
pub const KEPT: usize = 2;

/// The charts of one StatefulSet feed.
#[derive(Debug, Default)]
pub struct Tracker {
    charts: Vec<OrderingChart>,
    /// The last chart's pods by ordinal (their UIDs) while it is still filling in.
    open: Option<HashMap<i32, String>>,
}

impl Tracker {
    /// The charts, oldest first.
    pub fn charts(&self) -> &[OrderingChart] {
        &self.charts
    }

    fn start(&mut self, chart: OrderingChart) {
        self.charts.push(chart);
        if self.charts.len() > KEPT {
            self.charts.remove(0);
        }
        self.open = Some(HashMap::new());
    }

    /// Takes in the change from `prev` to `next`, observed at `now` (Unix seconds).
    pub fn observe(&mut self, prev: &Snapshot, next: &Snapshot, now: i64) {
        let (Some(old), Some(sts)) = (&prev.statefulset, &next.statefulset) else { return };
        if old.name != sts.name {
            *self = Tracker::default();
            return;
        }
        let created: Vec<_> = next.pods.iter().filter(|p| !prev.pods.iter().any(|o| o.uid == p.uid)).collect();
        if sts.replicas > old.replicas {
            let added = old.replicas..sts.replicas;
            // The pod watch may deliver the first new pod before the StatefulSet's new
            // spec: that pod was taken for a re-creation, and belongs to this scale-up.
            let early = self.open.is_some()
                && self.charts.last().is_some_and(|c| c.cause.starts_with("re-created") && c.bars.iter().all(|b| added.contains(&b.ordinal)));
            if early {
                self.charts.pop();
            }
            let bars = added.clone().map(|n| OrderingBar { pod: format!("{}-{n}", sts.name), ordinal: n, ..Default::default() }).collect();
            let cause = format!("scale {} → {}", old.replicas, sts.replicas);
            self.start(OrderingChart { policy: sts.pod_management_policy.clone(), cause, started_at: now, bars });
            if let Some(members) = self.open.as_mut() {
                members.extend(next.pods.iter().filter(|p| added.contains(&p.ordinal) && p.grace_period_seconds.is_none()).map(|p| (p.ordinal, p.uid.clone())));
            }
        } else if !created.is_empty() && self.open.is_none() {
            self.start(OrderingChart { policy: sts.pod_management_policy.clone(), cause: "re-created".to_owned(), started_at: now, bars: Vec::new() });
        }
        let (Some(members), Some(chart)) = (self.open.as_mut(), self.charts.last_mut()) else { return };
        let rebuilt = chart.cause.starts_with("re-created");
        for p in created {
            if rebuilt && !chart.bars.iter().any(|b| b.ordinal == p.ordinal) {
                let at = chart.bars.iter().position(|b| b.ordinal > p.ordinal).unwrap_or(chart.bars.len());
                chart.bars.insert(at, OrderingBar { pod: p.name.clone(), ordinal: p.ordinal, ..Default::default() });
            }
            if chart.bars.iter().any(|b| b.ordinal == p.ordinal) {
                members.insert(p.ordinal, p.uid.clone());
            }
        }
        if rebuilt {
            let names: Vec<&str> = chart.bars.iter().map(|b| b.pod.as_str()).collect();
            chart.cause = format!("re-created {}", names.join(", "));
        }
        for bar in &mut chart.bars {
            let Some(pod) = next.pods.iter().find(|p| p.ordinal == bar.ordinal && members.get(&bar.ordinal) == Some(&p.uid)) else { continue };
            bar.created_at = pod.created_at;
            if bar.ready_at == 0 && pod.is_ready {
                bar.ready_at = pod.ready_at.max(pod.created_at);
            }
            chart.started_at = chart.started_at.min(pod.created_at);
        }
        // Done when every bar and every ordinal is Ready (under OrderedReady a re-creation
        // brings its pods back one by one); the next creation starts a new chart.
        let settled = (0..sts.replicas).all(|n| next.pods.iter().any(|p| p.ordinal == n && p.is_ready));
        if settled && !chart.bars.is_empty() && chart.bars.iter().all(|b| b.ready_at != 0) {
            self.open = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{PodView, StatefulSetView};

    fn sts(replicas: i32, policy: &str) -> Option<StatefulSetView> {
        Some(StatefulSetView { name: "web".into(), uid: "s1".into(), replicas, pod_management_policy: policy.into(), ..Default::default() })
    }

    /// Pod `web-n`, created at `created`, Ready since `ready` (0: not Ready).
    fn pod(n: i32, created: i64, ready: i64) -> PodView {
        PodView {
            name: format!("web-{n}"),
            ordinal: n,
            uid: format!("uid-{n}-{created}"),
            created_at: created,
            ready_at: ready,
            is_ready: ready != 0,
            ..Default::default()
        }
    }

    fn snap(replicas: i32, policy: &str, pods: Vec<PodView>) -> Snapshot {
        Snapshot { statefulset: sts(replicas, policy), pods, ..Default::default() }
    }

    /// Feeds the snapshots in order, the n-th observed at second 100 + n.
    fn run(t: &mut Tracker, snaps: &[Snapshot]) {
        for (i, w) in snaps.windows(2).enumerate() {
            t.observe(&w[0], &w[1], 100 + i as i64);
        }
    }

    fn spans(c: &OrderingChart) -> Vec<(i32, i64, i64)> {
        c.bars.iter().map(|b| (b.ordinal, b.created_at, b.ready_at)).collect()
    }

    #[test]
    fn ordered_ready_draws_a_staircase_and_parallel_a_block_side_by_side() {
        let mut t = Tracker::default();
        let base = vec![pod(0, 1, 2)];
        run(&mut t, &[
            snap(1, "OrderedReady", base.clone()),
            snap(3, "OrderedReady", base.clone()),
            snap(3, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 0)]),
            snap(3, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 103)]),
            snap(3, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 103), pod(2, 104, 0)]),
            snap(3, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 103), pod(2, 104, 106)]),
            // The policy switched; scale down then up again.
            snap(1, "Parallel", base.clone()),
            snap(3, "Parallel", base.clone()),
            snap(3, "Parallel", vec![pod(0, 1, 2), pod(1, 110, 0), pod(2, 110, 0)]),
            snap(3, "Parallel", vec![pod(0, 1, 2), pod(1, 110, 112), pod(2, 110, 112)]),
        ]);
        let charts = t.charts();
        assert_eq!(charts.len(), 2);
        assert_eq!((charts[0].policy.as_str(), charts[0].cause.as_str()), ("OrderedReady", "scale 1 → 3"));
        assert_eq!(spans(&charts[0]), [(1, 101, 103), (2, 104, 106)], "each ordinal starts after the one before is Ready");
        assert_eq!((charts[1].policy.as_str(), charts[1].cause.as_str()), ("Parallel", "scale 1 → 3"));
        assert_eq!(spans(&charts[1]), [(1, 110, 112), (2, 110, 112)], "all at once");
    }

    #[test]
    fn a_waiting_ordinal_is_a_bar_without_times_and_only_two_charts_are_kept() {
        let mut t = Tracker::default();
        run(&mut t, &[snap(1, "OrderedReady", vec![pod(0, 1, 2)]), snap(2, "OrderedReady", vec![pod(0, 1, 2)]), snap(4, "OrderedReady", vec![pod(0, 1, 2)])]);
        run(&mut t, &[snap(4, "OrderedReady", vec![pod(0, 1, 2)]), snap(5, "OrderedReady", vec![pod(0, 1, 2)])]);
        let causes: Vec<&str> = t.charts().iter().map(|c| c.cause.as_str()).collect();
        assert_eq!(causes, ["scale 2 → 4", "scale 4 → 5"]);
        assert_eq!(spans(&t.charts()[0]), [(2, 0, 0), (3, 0, 0)]);
    }

    #[test]
    fn a_pod_seen_before_the_new_replica_count_belongs_to_the_scale_up() {
        let mut t = Tracker::default();
        run(&mut t, &[
            snap(1, "OrderedReady", vec![pod(0, 1, 2)]),
            // The pod watch was faster than the StatefulSet watch.
            snap(1, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 0)]),
            snap(2, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 0)]),
            snap(2, "OrderedReady", vec![pod(0, 1, 2), pod(1, 101, 103)]),
        ]);
        assert_eq!(t.charts().iter().map(|c| c.cause.as_str()).collect::<Vec<_>>(), ["scale 1 → 2"]);
        assert_eq!(spans(&t.charts()[0]), [(1, 101, 103)]);
    }

    #[test]
    fn deleted_pods_coming_back_make_a_re_creation_chart() {
        let mut t = Tracker::default();
        let all = vec![pod(0, 1, 2), pod(1, 1, 2)];
        run(&mut t, &[
            snap(2, "OrderedReady", all.clone()),
            snap(2, "OrderedReady", vec![]),
            snap(2, "OrderedReady", vec![pod(0, 120, 0)]),
            snap(2, "OrderedReady", vec![pod(0, 120, 122)]),
            snap(2, "OrderedReady", vec![pod(0, 120, 122), pod(1, 123, 125)]),
        ]);
        let chart = &t.charts()[0];
        assert_eq!(chart.cause, "re-created web-0, web-1");
        assert_eq!(spans(chart), [(0, 120, 122), (1, 123, 125)]);
        assert_eq!(chart.started_at, 101, "the chart starts when the first pod was seen created");
    }
}
