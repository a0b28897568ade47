//! Our own SVG charts (no JS chart library): outcomes per bucket as stacked bars, latency p50/p95 as lines,
//! and a success-rate sparkline for endpoint cards. Pure functions of the stats, so they render on the server.

use super::time::absolute;
use crate::model::{DeliveryStats, StatsBucket};
use leptos::prelude::*;

const W: f64 = 600.0;
const H: f64 = 160.0;
const PAD_L: f64 = 36.0;
const PAD_B: f64 = 18.0;

/// Outcome series in stacking order, with their colours (fill classes work in both themes).
const OUTCOMES: [(&str, &str); 4] = [
    ("Success", "fill-emerald-500"),
    ("Dead letter", "fill-rose-500"),
    ("Retrying", "fill-amber-400"),
    ("Pending", "fill-slate-400"),
];

fn outcome_values(b: &StatsBucket) -> [i64; 4] {
    [b.counts.success, b.counts.failed, b.counts.retrying, b.counts.pending]
}

/// A round axis maximum (1, 2, 5 × 10ⁿ) at or above `v`.
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|m| *m >= v).unwrap_or(10.0 * mag)
}

fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

#[component]
pub fn OutcomeChart(stats: DeliveryStats) -> impl IntoView {
    let n = stats.buckets.len().max(1) as f64;
    let max = nice_max(stats.buckets.iter().map(|b| outcome_values(b).iter().sum::<i64>()).max().unwrap_or(0) as f64);
    let bw = (W - PAD_L) / n;
    let plot_h = H - PAD_B;
    let bars = stats
        .buckets
        .iter()
        .enumerate()
        .flat_map(|(i, b)| {
            let x = PAD_L + i as f64 * bw + bw * 0.15;
            let mut y = plot_h;
            let title = format!(
                "{}: {} success, {} dead letter, {} retrying, {} pending",
                absolute(b.start),
                b.counts.success,
                b.counts.failed,
                b.counts.retrying,
                b.counts.pending
            );
            outcome_values(b)
                .into_iter()
                .zip(OUTCOMES)
                .filter(|(v, _)| *v > 0)
                .map(|(v, (_, fill))| {
                    let h = v as f64 / max * plot_h;
                    y -= h;
                    view! {
                        <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", bw * 0.7) height=format!("{h:.1}") class=fill>
                            <title>{title.clone()}</title>
                        </rect>
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect_view();
    let total: i64 = stats.counts.total();
    view! {
        <figure class="min-w-0">
            <figcaption class="mb-1 text-sm font-medium">"Deliveries by outcome"</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") class="h-40 w-full" role="img" aria-label=format!("Deliveries by outcome over {}: {total} in all", stats.window.label())>
                <Axis max=max label=|v| format!("{v:.0}")/>
                {bars}
            </svg>
            <ul class="mt-1 flex flex-wrap gap-3 text-xs text-slate-600 dark:text-slate-300">
                {OUTCOMES.into_iter().map(|(name, fill)| view! {
                    <li class="flex items-center gap-1">
                        <svg class="h-2.5 w-2.5" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" class=fill/></svg>
                        {name}
                    </li>
                }).collect_view()}
            </ul>
        </figure>
    }
}

#[component]
pub fn LatencyChart(stats: DeliveryStats) -> impl IntoView {
    let n = stats.buckets.len().max(1) as f64;
    let max = nice_max(stats.buckets.iter().filter_map(|b| b.p95_ms.or(b.p50_ms)).fold(0.0, f64::max));
    let bw = (W - PAD_L) / n;
    let plot_h = H - PAD_B;
    let line = move |pick: fn(&StatsBucket) -> Option<f64>| {
        stats
            .buckets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| pick(b).map(|v| (PAD_L + (i as f64 + 0.5) * bw, plot_h - v / max * plot_h)))
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (p50, p95) = (line(|b| b.p50_ms), line(|b| b.p95_ms));
    let label = format!(
        "Latency over {}: p50 {}, p95 {}",
        stats.window.label(),
        stats.p50_ms.map(ms_label).unwrap_or_else(|| "n/a".into()),
        stats.p95_ms.map(ms_label).unwrap_or_else(|| "n/a".into())
    );
    view! {
        <figure class="min-w-0">
            <figcaption class="mb-1 text-sm font-medium">"Latency (p50 / p95)"</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") class="h-40 w-full" role="img" aria-label=label>
                <Axis max=max label=ms_label/>
                <polyline points=p95 fill="none" class="stroke-rose-500" stroke-width="2"/>
                <polyline points=p50 fill="none" class="stroke-indigo-500" stroke-width="2"/>
            </svg>
            <ul class="mt-1 flex gap-3 text-xs text-slate-600 dark:text-slate-300">
                <li class="flex items-center gap-1"><span class="inline-block h-0.5 w-3 bg-indigo-500"></span>"p50"</li>
                <li class="flex items-center gap-1"><span class="inline-block h-0.5 w-3 bg-rose-500"></span>"p95"</li>
            </ul>
        </figure>
    }
}

/// Horizontal grid lines at 0, ½ and the maximum, labelled on the left.
#[component]
fn Axis(max: f64, label: fn(f64) -> String) -> impl IntoView {
    let plot_h = H - PAD_B;
    [0.0, 0.5, 1.0]
        .into_iter()
        .map(|f| {
            let y = plot_h - f * plot_h;
            view! {
                <line x1=PAD_L x2=W y1=y y2=y class="stroke-slate-200 dark:stroke-slate-700" stroke-width="1"/>
                <text x=PAD_L - 4.0 y=y + 4.0 text-anchor="end" class="fill-slate-600 text-[10px] dark:fill-slate-300">{label(max * f)}</text>
            }
        })
        .collect_view()
}

/// Success rate per bucket as a small line (buckets with nothing finished are skipped).
#[component]
pub fn Sparkline(stats: DeliveryStats) -> impl IntoView {
    let n = stats.buckets.len().max(2) as f64 - 1.0;
    let points: Vec<String> = stats
        .buckets
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            b.counts.success_rate().map(|r| format!("{:.1},{:.1}", i as f64 / n * 100.0, 22.0 - r * 20.0))
        })
        .collect();
    let rate = stats.success_rate.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "no deliveries".into());
    view! {
        <svg viewBox="0 0 100 24" class="h-6 w-24" role="img" aria-label=format!("Success rate, last 24 hours: {rate}") data-testid="sparkline">
            <polyline points=points.join(" ") fill="none" class="stroke-emerald-500" stroke-width="1.5"/>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(4_800.0), 5_000.0);
        assert_eq!(ms_label(1_500.0), "1.5 s");
    }
}
