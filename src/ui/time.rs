//! Relative times ("3 minutes ago") with the absolute UTC time for hover titles.

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
        assert_eq!(end_of_day_ms("1970-01-02"), Some(86_400_000 + 86_399_000));
        assert_eq!(end_of_day_ms("1970-1-2"), None);
        assert_eq!(end_of_day_ms("2026-02-30"), None);
    }
}
