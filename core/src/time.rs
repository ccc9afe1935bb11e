//! ISO-8601 UTC timestamps with milliseconds (`2026-11-24T03:50:02.677Z`), the
//! only time format on disk. Implemented here (civil-date arithmetic) rather
//! than pulling a date crate into every plugin.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, formatted.
pub fn now_iso() -> String {
    format_iso(SystemTime::now())
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Parses an ISO-8601 UTC timestamp (`Z` suffix; fractional seconds optional).
pub fn parse_iso(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, "0"),
    };
    let mut tp = hms.splitn(3, ':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let frac_ms: i64 = {
        let digits: String = frac.chars().take(3).collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        format!("{digits:0<3}").parse().ok()?
    };
    let days = days_from_civil(y, m, d);
    let ms = ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + frac_ms;
    if ms < 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::from_millis(ms as u64))
}

/// A short human age such as `42s ago`, `3m ago`, `5h ago`, `2d ago`.
pub fn relative_age(then: SystemTime, now: SystemTime) -> String {
    let age = now.duration_since(then).unwrap_or_default();
    format!("{} ago", short_duration(age))
}

/// A duration in its largest whole unit, as ages are shown everywhere:
/// `42s`, `3m`, `5h`, `2d`.
pub fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

// Howard Hinnant's days-from-civil algorithms (public domain arithmetic).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2026-11-24T03:50:02.677Z")]
    #[case("1970-01-01T00:00:00.000Z")]
    #[case("2000-02-29T23:59:59.999Z")]
    fn round_trips(#[case] s: &str) {
        assert_eq!(format_iso(parse_iso(s).unwrap()), s);
    }

    #[rstest]
    #[case("2026-11-24T03:50:02Z", "2026-11-24T03:50:02.000Z")]
    #[case("2026-11-24T03:50:02.5Z", "2026-11-24T03:50:02.500Z")]
    fn parses_shorter_fractions(#[case] input: &str, #[case] formatted: &str) {
        assert_eq!(format_iso(parse_iso(input).unwrap()), formatted);
    }

    #[rstest]
    #[case("yesterday")]
    #[case("2026-13-01T00:00:00.000Z")]
    #[case("2026-11-24 03:50:02.677Z")]
    #[case("2026-11-24T03:50:02.677")]
    fn rejects_garbage(#[case] s: &str) {
        assert!(parse_iso(s).is_none());
    }

    #[rstest]
    #[case(5, "5s ago")]
    #[case(180, "3m ago")]
    #[case(7200, "2h ago")]
    #[case(172_800, "2d ago")]
    fn ages(#[case] secs: u64, #[case] text: &str) {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(relative_age(now - Duration::from_secs(secs), now), text);
    }
}
