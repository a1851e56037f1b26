//! Timestamps (microseconds since the Unix epoch, UTC) as Spark writes and
//! reads them (session time zone UTC).

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact over the whole proleptic Gregorian range).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

struct Parts {
    date: String,
    time: String,
    micros: u32,
}

fn parts(micros: i64) -> Parts {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000) as u32;
    let (y, m, d) = civil(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    Parts {
        date: format!("{y:04}-{m:02}-{d:02}"),
        time: format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
        micros: fraction,
    }
}

/// As Spark's console shows a timestamp (a cast to string, session time
/// zone UTC): `2026-11-25 12:00:00`, with the fraction's trailing zeros cut
/// (`12:00:00.5`, `12:00:00.123456`).
pub fn show_timestamp(micros: i64) -> String {
    let p = parts(micros);
    let mut out = format!("{} {}", p.date, p.time);
    if p.micros > 0 {
        let fraction = format!("{:06}", p.micros);
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out
}

/// As Spark's `to_json` writes a timestamp (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`
/// in UTC): `2026-11-25T12:00:00.000Z`.
pub fn json_timestamp(micros: i64) -> String {
    let p = parts(micros);
    format!("{}T{}.{:03}Z", p.date, p.time, p.micros / 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The days of `month` (1-12) in `year`, proleptic Gregorian.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Micros since the epoch of a civil date and time in UTC, if valid.
pub fn micros_of(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(micros))
}

/// Spark's `stringToTimestamp` in the session time zone UTC: `yyyy`,
/// `yyyy-[m]m`, `yyyy-[m]m-[d]d`, then optionally ` ` or `T` and
/// `[h]h:[m]m[:[s]s[.fraction]]`, then optionally a zone: `Z`, `UTC`,
/// `GMT`, `+hh`, `+hh:mm`, `+hhmm` (and `-`). The year has 4 to 6 digits;
/// the fraction keeps microseconds (later digits are cut).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(micros) = canonical(text.as_bytes()) {
        return Some(micros);
    }
    general(text)
}

/// The layout almost every timestamp has, read by position:
/// `yyyy-mm-ddThh:mm:ss[.fraction][Z]` (or a space for `T`), as Python's
/// `isoformat()` and Spark's `to_json` write it. `None` for anything else,
/// which [`general`] then reads (with the same result where both read it).
fn canonical(b: &[u8]) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let d = b[i].wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let mut rest = &b[19..];
    let mut micros = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        micros = fraction[..digits]
            .iter()
            .copied()
            .chain(std::iter::repeat(b'0'))
            .take(6)
            .fold(0, |acc, c| acc * 10 + u32::from(c - b'0'));
        rest = &fraction[digits..];
    }
    if !matches!(rest, b"" | b"Z") {
        return None;
    }
    micros_of(i64::from(year), month, day, hour, minute, second, micros)
}

/// [`parse_timestamp`] for every layout Spark's cast reads.
fn general(text: &str) -> Option<i64> {
    let s = text.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let year_text = parts.next()?;
    if !(4..=6).contains(&year_text.len()) || !year_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = year_text.parse().ok()?;
    let mut small = |max_len: usize| -> Option<Option<u32>> {
        match parts.next() {
            None => Some(None),
            Some(p)
                if (1..=max_len).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(Some(p.parse().ok()?))
            }
            Some(_) => None,
        }
    };
    let month = small(2)?.unwrap_or(1);
    let day = small(2)?.unwrap_or(1);
    if parts.next().is_some() {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0u32, 0i64);
    if let Some(rest) = rest.filter(|r| !r.is_empty()) {
        let zone_at = rest.find(['Z', '+', '-', 'U', 'G']).unwrap_or(rest.len());
        let (time, zone) = rest.split_at(zone_at);
        let mut fields = time.splitn(3, ':');
        let number = |t: Option<&str>| -> Option<u32> {
            let t = t?;
            if (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        hour = number(fields.next())?;
        minute = number(fields.next())?;
        if let Some(sec) = fields.next() {
            let (whole, fraction) = sec.split_once('.').unwrap_or((sec, ""));
            second = number(Some(whole))?;
            if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
                return None;
            }
            // The first six digits, padded with zeros: microseconds.
            micros = fraction
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(6)
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
        }
        offset = zone_offset(zone.trim())?;
    }
    micros_of(year, month, day, hour, minute, second, micros)?.checked_sub(offset * 1_000_000)
}

/// Seconds east of UTC of a zone suffix.
fn zone_offset(zone: &str) -> Option<i64> {
    match zone {
        "" | "Z" | "UTC" | "GMT" => return Some(0),
        _ => {}
    }
    let zone = zone
        .strip_prefix("UTC")
        .or_else(|| zone.strip_prefix("GMT"))
        .unwrap_or(zone);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_layout_reads_as_the_general_one() {
        let texts = [
            "2026-11-25T12:00:05",
            "2026-11-25 12:00:05.123456",
            "2026-11-25T12:00:05.1",
            "2026-11-25T12:00:05.123456789Z",
            "2026-11-25T12:00:05.Z",
            "2026-11-25T12:00:05.5Z",
            "2026-11-25T12:00:05.",
            "2026-02-30T12:00:05",
            "2026-11-25T24:00:05",
            "2026-11-25T12:00:05+01:00",
            "2026-11-25T12:00:05.123abc",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59.999999",
            " 2026-11-25T12:00:05",
            "2026-1a-25T12:00:05",
        ];
        for text in texts {
            if let Some(quick) = canonical(text.as_bytes()) {
                assert_eq!(Some(quick), general(text), "{text}");
            }
            assert_eq!(parse_timestamp(text), general(text), "{text}");
        }
        assert!(canonical(b"2026-11-25T12:00:05.123456").is_some());
    }

    #[test]
    fn formats_like_spark() {
        assert_eq!(show_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(
            show_timestamp(1_764_072_000_500_000),
            "2025-11-25 12:00:00.5"
        );
        assert_eq!(show_timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(
            json_timestamp(1_764_072_000_123_456),
            "2025-11-25T12:00:00.123Z"
        );
    }

    #[test]
    fn timestamps_parse_as_spark_casts_them() {
        let t = |s| parse_timestamp(s).map(show_timestamp);
        assert_eq!(
            t("2026-11-25 12:00:00").as_deref(),
            Some("2026-11-25 12:00:00")
        );
        assert_eq!(
            t("2026-11-25T12:00:01.5Z").as_deref(),
            Some("2026-11-25 12:00:01.5")
        );
        assert_eq!(t("2026-11-25").as_deref(), Some("2026-11-25 00:00:00"));
        assert_eq!(t("2026-1-5 1:2").as_deref(), Some("2026-01-05 01:02:00"));
        assert_eq!(
            t("2026-11-25 12:00:00+01:00").as_deref(),
            Some("2026-11-25 11:00:00")
        );
        assert_eq!(t("2026-02-30"), None);
        assert_eq!(t("abc"), None);
        assert_eq!(t("2026-11-25 25:00"), None);
    }
}
