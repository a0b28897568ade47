//! Times as people read them: relative ("3 minutes ago", refreshed while the page is open) with the absolute time
//! in the browser's own time zone on hover, inside `<time datetime>` so assistive tech and copy-paste get the
//! exact instant.

use leptos::prelude::*;

/// Now in unix milliseconds, on the server and in the browser.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().timestamp_millis()
    }
}

pub fn relative(ms: i64, now: i64) -> String {
    let diff = (now - ms) / 1000;
    let (n, future) = (diff.abs(), diff < 0);
    let text = match n {
        0..=44 => return if future { "in a few seconds".into() } else { "just now".into() },
        45..=5399 => plural((n + 30) / 60, "minute"),
        5400..=129_599 => plural((n + 1800) / 3600, "hour"),
        129_600..=3_887_999 => plural((n + 43_200) / 86_400, "day"),
        3_888_000..=47_303_999 => plural((n + 1_296_000) / 2_592_000, "month"),
        _ => plural((n + 15_768_000) / 31_536_000, "year"),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `2026-11-24 06:20 UTC`. The browser formats with its own `Date` (chrono's formatter would add to the bundle
/// what the browser already has); both give the same text, so hydration finds what the server rendered.
pub fn absolute(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        if !(-8_640_000_000_000_000..=8_640_000_000_000_000).contains(&ms) {
            return String::new();
        }
        let iso = String::from(js_sys::Date::new(&(ms as f64).into()).to_iso_string());
        // `2026-11-24T06:20:00.000Z`; years past 9999 are written with a sign, which this leaves as it is.
        match (iso.get(..10), iso.get(11..16)) {
            (Some(day), Some(time)) if iso.len() == 24 => format!("{day} {time} UTC"),
            _ => iso,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

/// The page's clock in the browser: `now` ticks every 30 s so relative times stay true on a page left open, and
/// `local` turns on once the WASM has taken over. The server knows no reader's time zone, so it renders UTC and
/// the browser rewrites each time in local time once the page is live.
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct Clock {
    now: RwSignal<i64>,
    local: RwSignal<bool>,
}

/// How often relative times are recomputed in the browser.
#[cfg(feature = "hydrate")]
const TICK_SECONDS: u64 = 30;

/// Starts the page's clock (the browser only; the server renders each time once).
pub fn provide_clock() {
    #[cfg(feature = "hydrate")]
    {
        let clock = Clock { now: RwSignal::new(now_ms()), local: RwSignal::new(false) };
        provide_context(clock);
        Effect::new(move |_| {
            clock.local.set(true);
            clock.now.set(now_ms());
            let _ =
                set_interval_with_handle(move || clock.now.set(now_ms()), std::time::Duration::from_secs(TICK_SECONDS));
        });
    }
}

#[cfg(feature = "hydrate")]
fn clock() -> Clock {
    use_context::<Clock>().unwrap_or(Clock { now: RwSignal::new(now_ms()), local: RwSignal::new(false) })
}

/// `<time>` showing how long ago (or until) `ms`, with the local absolute time on hover.
#[component]
pub fn Ago(ms: i64) -> impl IntoView {
    let el = NodeRef::<leptos::html::Time>::new();
    follow_clock(el, move |now, local| (relative(ms, now), stamp(ms, local)));
    view! { <time node_ref=el datetime=iso(ms) title=absolute(ms)>{relative(ms, now_ms())}</time> }
}

/// `<time>` showing the absolute time of `ms` in the reader's time zone.
#[component]
pub fn At(ms: i64) -> impl IntoView {
    let el = NodeRef::<leptos::html::Time>::new();
    follow_clock(el, move |_, local| (stamp(ms, local), String::new()));
    view! { <time node_ref=el datetime=iso(ms)>{absolute(ms)}</time> }
}

/// Keeps a `<time>`'s text (and title, when given) in step with the page's clock. The markup itself is static:
/// a reactive text node there would be hydrated by a panel that resolves after the clock has ticked, and the
/// browser's hydration then lost its place in the server's markup now and then. Here the element is only
/// rewritten once it is live.
fn follow_clock(el: NodeRef<leptos::html::Time>, text: impl Fn(i64, bool) -> (String, String) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let c = clock();
        Effect::new(move |_| {
            let (body, title) = text(c.now.get(), c.local.get());
            if let Some(el) = el.get() {
                el.set_text_content(Some(&body));
                if !title.is_empty() {
                    let _ = el.set_attribute("title", &title);
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (el, text);
}

/// The absolute time in the reader's time zone once the browser runs (`local`), UTC before.
pub fn stamp(ms: i64, local: bool) -> String {
    if local {
        local_absolute(ms)
    } else {
        absolute(ms)
    }
}

/// RFC 3339 in UTC (`2026-11-24T06:20:00Z`), the `datetime` attribute's form; the same on both sides.
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-11-24 07:20 GMT+1` in the browser's time zone (UTC on the server, which has no reader).
fn local_absolute(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&(ms as f64).into());
        if d.get_time().is_nan() {
            return String::new();
        }
        // getTimezoneOffset is minutes *behind* UTC: Berlin in winter gives -60.
        let offset = -(d.get_timezone_offset() as i64);
        let zone = match (offset / 60, (offset % 60).abs()) {
            (0, 0) => "UTC".to_string(),
            (h, 0) => format!("GMT{h:+}"),
            (h, m) => format!("GMT{}{}:{m:02}", if offset < 0 { "-" } else { "+" }, h.abs()),
        };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} {zone}",
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        absolute(ms)
    }
}

/// The last second of `date` (`YYYY-MM-DD`, as a date input gives it) in UTC, as unix milliseconds.
pub fn end_of_day_ms(date: &str) -> Option<i64> {
    let well_formed = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !well_formed {
        return None;
    }
    #[cfg(feature = "hydrate")]
    {
        let ms = js_sys::Date::parse(&format!("{date}T23:59:59Z"));
        (!ms.is_nan()).then_some(ms as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        Some(d.and_hms_opt(23, 59, 59)?.and_utc().timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = 1_800_000_000_000;
        assert_eq!(relative(now - 5_000, now), "just now");
        assert_eq!(relative(now - 60_000, now), "1 minute ago");
        assert_eq!(relative(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(relative(now + 30 * 86_400_000, now), "in 30 days");
        assert_eq!(absolute(0), "1970-01-01 00:00 UTC");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_800_000_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(end_of_day_ms("1970-01-02"), Some(86_400_000 + 86_399_000));
        assert_eq!(end_of_day_ms("1970-1-2"), None);
        assert_eq!(end_of_day_ms("2026-02-30"), None);
    }
}
