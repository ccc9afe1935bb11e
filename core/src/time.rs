//! ISO-8601 UTC timestamps with milliseconds (`2026-11-24T03:50:02.677Z`), the
//! only time format on disk. Implemented here (civil-date arithmetic) rather
//! than pulling a date crate into every plugin.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, formatted.
pub fn now_iso() -> String {
    format_iso(SystemTime::now())
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// Written digit by digit rather than through `format!`, which costs ten
/// times as much: a listing formats one per Home (ADR 0023). A year of
/// more than four digits takes `format!`'s road, with the same result.
pub fn format_iso(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let (hh, mm, ss, milli) = (secs / 3600, secs / 60 % 60, secs % 60, ms_of_day % 1000);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z");
    }
    let mut text = String::with_capacity(24);
    for (n, width, then) in [
        (y, 4, '-'),
        (i64::from(m), 2, '-'),
        (i64::from(d), 2, 'T'),
        (hh, 2, ':'),
        (mm, 2, ':'),
        (ss, 2, '.'),
        (milli, 3, 'Z'),
    ] {
        for place in (0..width).rev() {
            text.push(char::from(b'0' + (n / 10_i64.pow(place) % 10) as u8));
        }
        text.push(then);
    }
    text
}

/// Parses an ISO-8601 UTC timestamp (`Z` suffix; fractional seconds optional).
pub fn parse_iso(s: &str) -> Option<SystemTime> {
    let (y, m, d, hh, mm, ss, frac_ms) = written_fields(s).or_else(|| fields(s))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let ms = ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + frac_ms;
    if ms < 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::from_millis(ms as u64))
}

/// Year, month, day, hours, minutes, seconds and milliseconds.
type Fields = (i64, u32, u32, i64, i64, i64, i64);

/// The fields of exactly what [`format_iso`] writes,
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, read by position: what nearly every
/// timestamp is, and [`fields`] would read the same numbers from it at
/// several times the cost (a listing reads two per Home, ADR 0023).
fn written_fields(s: &str) -> Option<Fields> {
    let b = s.as_bytes();
    if b.len() != 24 || b[23] != b'Z' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if punctuation.iter().any(|&(at, c)| b[at] != c) {
        return None;
    }
    Some((
        number(0, 4)?,
        number(5, 7)? as u32,
        number(8, 10)? as u32,
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 23)?,
    ))
}

/// The fields of any timestamp [`parse_iso`] accepts.
fn fields(s: &str) -> Option<Fields> {
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
    // The first three characters of the fraction must be digits (fewer
    // are padded with zeros: `.5` is 500 ms); what follows them is not read.
    let frac_ms: i64 = {
        let (mut ms, mut digits) = (0, 0);
        for c in frac.chars().take(3) {
            ms = ms * 10 + i64::from(c.to_digit(10)?);
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        ms * 10_i64.pow(3 - digits)
    };
    Some((y, m, d, hh, mm, ss, frac_ms))
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

    /// Only the first three digits of a fraction count, as ever.
    #[rstest]
    #[case("2026-11-24T03:50:02.6779Z", "2026-11-24T03:50:02.677Z")]
    #[case("2026-11-24T03:50:02.67xZ", "")]
    #[case("2026-11-24T03:50:02.Z", "")]
    #[case("2026-11-24T03:50:02.123x9Z", "2026-11-24T03:50:02.123Z")]
    fn reads_three_digits_of_a_fraction(#[case] input: &str, #[case] formatted: &str) {
        assert_eq!(
            parse_iso(input).map(format_iso).unwrap_or_default(),
            formatted
        );
    }

    /// Read by position or by the general rule, the same fields.
    #[rstest]
    #[case("2026-11-24T03:50:02.677Z")]
    #[case("1970-01-01T00:00:00.000Z")]
    #[case("2026-13-01T00:00:00.000Z")]
    #[case("0000-00-00T99:99:99.999Z")]
    #[case("2026-11-24T03:50:02.6a7Z")]
    #[case("2026-11-24T03:50:02+677Z")]
    #[case("+026-11-24T03:50:02.677Z")]
    fn written_fields_are_the_fields(#[case] s: &str) {
        if let Some(written) = written_fields(s) {
            assert_eq!(Some(written), fields(s), "{s}");
        }
        assert_eq!(written_fields(s).or_else(|| fields(s)), fields(s), "{s}");
    }

    /// Digit by digit or through `format!`, the same text.
    #[rstest]
    #[case(0)]
    #[case(1_764_000_000_123)]
    #[case(951_868_799_999)]
    #[case(253_402_300_799_999)] // 9999-12-31T23:59:59.999Z
    #[case(253_402_300_800_000)] // year 10000: format!'s road
    #[case(40_000_000_000_000_000)]
    fn formats_as_format_would(#[case] ms: u64) {
        let t = UNIX_EPOCH + Duration::from_millis(ms);
        let ms = ms as i64;
        let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        let expected = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        );
        assert_eq!(format_iso(t), expected);
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
