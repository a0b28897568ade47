//! Our own SVG charts (no JS chart library): outcomes per bucket as stacked bars, latency p50/p95 as lines,
//! and a success-rate sparkline for endpoint cards. Pure functions of the stats, so they render on the server.

use super::time::absolute;
use crate::model::{DeliveryStats, KeyUsage, StatsBucket};
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
    let max = nice_max(stats.buckets.iter().map(|b| outcome_values(b).iter().sum::<i64>()).max().unwrap_or(0) as f64);
    let columns = stats
        .buckets
        .iter()
        .map(|b| {
            let title = format!(
                "{}: {} success, {} dead letter, {} retrying, {} pending",
                absolute(b.start),
                b.counts.success,
                b.counts.failed,
                b.counts.retrying,
                b.counts.pending
            );
            let values = outcome_values(b);
            (title, OUTCOMES.iter().zip(values).map(|((_, fill), v)| (v, *fill)).collect())
        })
        .collect();
    let bars = stacked_bars(columns, max);
    let total: i64 = stats.counts.total();
    view! {
        <figure class="min-w-0">
            <figcaption class="mb-1 text-sm font-medium">"Deliveries by outcome"</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") class="h-40 w-full" role="img" aria-label=format!("Deliveries by outcome over {}: {total} in all", stats.window.label())>
                <Axis max=max label=|v| format!("{v:.0}")/>
                {bars}
            </svg>
            <Legend series=&OUTCOMES/>
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

/// One stacked bar per column, left to right: each column is its tooltip and its (value, fill class) segments
/// from the bottom up, scaled to `max`.
fn stacked_bars(columns: Vec<(String, Vec<(i64, &'static str)>)>, max: f64) -> impl IntoView {
    let bw = (W - PAD_L) / columns.len().max(1) as f64;
    let plot_h = H - PAD_B;
    columns
        .into_iter()
        .enumerate()
        .flat_map(|(i, (title, segments))| {
            let x = PAD_L + i as f64 * bw + bw * 0.15;
            let mut y = plot_h;
            segments
                .into_iter()
                .filter(|(v, _)| *v > 0)
                .map(|(v, fill)| {
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
        .collect_view()
}

/// The colour key under a stacked chart.
#[component]
fn Legend(series: &'static [(&'static str, &'static str)]) -> impl IntoView {
    view! {
        <ul class="mt-1 flex flex-wrap gap-3 text-xs text-slate-600 dark:text-slate-300">
            {series.iter().map(|(name, fill)| view! {
                <li class="flex items-center gap-1">
                    <svg class="h-2.5 w-2.5" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" class=*fill/></svg>
                    {*name}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// API key requests per day, split into accepted and the two kinds of refusal.
const USAGE_SERIES: [(&str, &str); 3] =
    [("Accepted", "fill-indigo-500"), ("Rate limited", "fill-amber-400"), ("IP refused", "fill-rose-500")];

#[component]
pub fn UsageChart(usage: KeyUsage, #[prop(into)] caption: String) -> impl IntoView {
    let max = nice_max(usage.days.iter().map(|d| d.requests).max().unwrap_or(0) as f64);
    let columns = usage
        .days
        .iter()
        .map(|d| {
            let title = format!(
                "{}: {} requests, {} rate limited, {} refused by the IP allowlist",
                day_label(d.day),
                d.requests,
                d.rate_limited,
                d.ip_refused
            );
            let values = [d.accepted(), d.rate_limited, d.ip_refused];
            (title, USAGE_SERIES.iter().zip(values).map(|((_, fill), v)| (v, *fill)).collect())
        })
        .collect();
    let t = usage.total;
    let label = format!(
        "{caption} over {}: {} requests, {} rate limited, {} refused by the IP allowlist",
        usage.window.label(),
        t.requests,
        t.rate_limited,
        t.ip_refused
    );
    view! {
        <figure class="min-w-0" data-testid="usage-chart">
            <figcaption class="mb-1 text-sm font-medium">{caption}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") class="h-40 w-full" role="img" aria-label=label>
                <Axis max=max label=|v| format!("{v:.0}")/>
                {stacked_bars(columns, max)}
            </svg>
            <Legend series=&USAGE_SERIES/>
        </figure>
    }
}

/// A UTC day as `YYYY-MM-DD` (usage is counted per UTC day, so it is labelled in UTC, not local time).
pub fn day_label(day_ms: i64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm): no date library in the browser bundle for one label.
    let z = day_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
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
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(20_454 * 86_400_000), "2026-01-01");
        assert_eq!(day_label(11_016 * 86_400_000), "2000-02-29");
    }
}
