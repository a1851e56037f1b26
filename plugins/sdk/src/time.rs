//! Timestamps (microseconds since the Unix epoch, UTC) as Spark writes them.

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact over the whole proleptic Gregorian range).
fn civil(days: i64) -> (i64, u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
