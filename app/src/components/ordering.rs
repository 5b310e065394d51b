//! The ordering chart: for the last two scale-ups or re-creations, a bar per ordinal
//! from created to Ready, on one time scale, so OrderedReady's staircase and
//! Parallel's block stand side by side.

use leptos::prelude::*;

use crate::age::Clock;
use crate::live::LiveView;
use crate::model::{OrderingBar, OrderingChart};

/// Where a bar sits on the track, in percent of the shared scale: (left, width).
/// A pod not Ready yet runs to `now`.
pub fn bar_span(bar: &OrderingBar, started_at: i64, scale_secs: i64, now: i64) -> (f64, f64) {
    let scale = scale_secs.max(1) as f64;
    let end = if bar.ready_at == 0 { now } else { bar.ready_at };
    // At least 2 % wide, so an instant Ready is still a visible mark.
    let left = ((bar.created_at - started_at).max(0) as f64 / scale * 100.0).min(98.0);
    let width = ((end - bar.created_at).max(0) as f64 / scale * 100.0).max(2.0).min(100.0 - left);
    (left, width)
}

/// How many seconds the shared scale spans: the longest chart, so both are comparable.
pub fn scale_secs(charts: &[OrderingChart], now: i64) -> i64 {
    charts.iter().flat_map(|c| c.bars.iter().map(move |b| (if b.ready_at == 0 { now } else { b.ready_at }) - c.started_at)).max().unwrap_or(1).max(1)
}

/// The charts panel.
#[component]
pub fn OrderingCharts() -> impl IntoView {
    let live = expect_context::<LiveView>();
    let clock = expect_context::<Clock>();
    let charts = Memo::new(move |_| live.snapshot.with(|s| s.ordering.clone()));
    view! {
        <section class="ordering" data-testid="ordering" aria-labelledby="ordering-title">
            <h2 id="ordering-title">"Order of creation"</h2>
            <Show when=move || charts.with(Vec::is_empty)>
                <p class="none">"Scale up to see which pod waits for which."</p>
            </Show>
            <div class="charts">
                {move || {
                    let all = charts.get();
                    let now = clock.now.get();
                    let scale = scale_secs(&all, now);
                    all.into_iter().map(|c| view! { <Chart chart=c scale now/> }).collect_view()
                }}
            </div>
        </section>
    }
}

#[component]
fn Chart(
    /// The chart.
    chart: OrderingChart,
    /// Seconds the track spans (shared by every chart).
    scale: i64,
    /// Now (Unix seconds), the end of bars not Ready yet.
    now: i64,
) -> impl IntoView {
    view! {
        <figure class="chart" data-testid="ordering-chart">
            <figcaption><b>{chart.policy.clone()}</b><br/>{chart.cause.clone()}</figcaption>
            <ul class="bars">
                {chart.bars.iter().map(|b| {
                    let (left, width) = bar_span(b, chart.started_at, scale, now);
                    let created = b.created_at - chart.started_at;
                    let words = if b.ready_at == 0 {
                        format!("{}: created at +{created}s, not Ready yet", b.pod)
                    } else {
                        format!("{}: created at +{created}s, Ready at +{}s", b.pod, b.ready_at - chart.started_at)
                    };
                    let title = words.clone();
                    view! {
                        <li title=title>
                            <span class="ord">{b.ordinal}</span>
                            <span class="track">
                                <span class="bar" class:waiting=b.ready_at == 0
                                    style=format!("left:{left:.1}%;width:{width:.1}%")></span>
                            </span>
                            <span class="visually-hidden">{words}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ordinal: i32, created_at: i64, ready_at: i64) -> OrderingBar {
        OrderingBar { pod: format!("web-{ordinal}"), ordinal, created_at, ready_at }
    }

    #[test]
    fn a_staircase_and_a_block_share_one_scale() {
        let ordered = OrderingChart { started_at: 100, bars: vec![bar(3, 100, 105), bar(4, 105, 110)], ..Default::default() };
        let parallel = OrderingChart { started_at: 200, bars: vec![bar(3, 200, 205), bar(4, 200, 205)], ..Default::default() };
        let scale = scale_secs(&[ordered.clone(), parallel.clone()], 300);
        assert_eq!(scale, 10);
        assert_eq!(bar_span(&ordered.bars[0], 100, scale, 300), (0.0, 50.0));
        assert_eq!(bar_span(&ordered.bars[1], 100, scale, 300), (50.0, 50.0));
        assert_eq!(bar_span(&parallel.bars[1], 200, scale, 300), (0.0, 50.0));
    }

    #[test]
    fn a_pod_not_ready_yet_runs_to_now_and_stays_on_the_track() {
        let waiting = bar(5, 110, 0);
        assert_eq!(scale_secs(&[OrderingChart { started_at: 100, bars: vec![waiting.clone()], ..Default::default() }], 120), 20);
        assert_eq!(bar_span(&waiting, 100, 20, 120), (50.0, 50.0));
        // Created after the scale's end (a later chart is longer): clamped, still visible.
        let (left, width) = bar_span(&bar(6, 150, 160), 100, 20, 200);
        assert_eq!((left, width), (98.0, 2.0));
    }
}
