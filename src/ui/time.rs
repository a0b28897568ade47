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

/// `2026-11-24 06:20 UTC`
pub fn absolute(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
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
    }
}
