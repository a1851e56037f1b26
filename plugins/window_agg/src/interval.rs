//! Spark's interval strings as window and watermark durations:
//! `1 minute`, `10 seconds`, `1 hour 30 minutes`, `500 milliseconds`.

/// Microseconds per unit, by the names Spark accepts (singular or plural).
fn unit(name: &str) -> Option<i64> {
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix('s').unwrap_or(&name);
    Some(match name {
        "microsecond" | "us" => 1,
        "millisecond" | "ms" => 1_000,
        "second" | "sec" => 1_000_000,
        "minute" | "min" => 60_000_000,
        "hour" | "h" => 3_600_000_000,
        "day" => 86_400_000_000,
        "week" => 7 * 86_400_000_000,
        _ => return None,
    })
}

/// A duration in microseconds; an error names what is wrong.
fn parse_any(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let text = text
        .strip_prefix("interval ")
        .or_else(|| text.strip_prefix("INTERVAL "))
        .unwrap_or(text);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(format!(
            "{text:?} is not an interval; write e.g. `1 minute` or `10 seconds`"
        ));
    }
    let mut total: i64 = 0;
    for pair in words.chunks(2) {
        let n: i64 = pair[0]
            .parse()
            .map_err(|_| format!("{:?} in {text:?} is not a whole number", pair[0]))?;
        let per = unit(pair[1]).ok_or_else(|| {
            format!(
                "unknown unit {:?} in {text:?}; use milliseconds, seconds, minutes, hours, days or weeks (months and years have no fixed length)",
                pair[1]
            )
        })?;
        total = n
            .checked_mul(per)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(total)
}

/// A window length or slide: more than zero.
pub fn parse(text: &str) -> Result<i64, String> {
    let v = parse_any(text)?;
    if v <= 0 {
        return Err(format!("{text:?} must be longer than zero"));
    }
    Ok(v)
}

/// A watermark delay: zero or more.
pub fn parse_delay(text: &str) -> Result<i64, String> {
    let v = parse_any(text)?;
    if v < 0 {
        return Err(format!("{text:?} must not be negative"));
    }
    Ok(v)
}

/// A duration as text, for messages.
pub fn show(micros: i64) -> String {
    let units = [
        (86_400_000_000, "day"),
        (3_600_000_000, "hour"),
        (60_000_000, "minute"),
        (1_000_000, "second"),
        (1_000, "millisecond"),
        (1, "microsecond"),
    ];
    let (per, name) = units
        .iter()
        .find(|(per, _)| micros % per == 0)
        .copied()
        .unwrap_or((1, "microsecond"));
    let n = micros / per;
    format!("{n} {name}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_interval_strings() {
        assert_eq!(parse("1 minute"), Ok(60_000_000));
        assert_eq!(parse("10 seconds"), Ok(10_000_000));
        assert_eq!(parse("1 hour 30 minutes"), Ok(5_400_000_000));
        assert_eq!(parse("interval 2 MINUTES"), Ok(120_000_000));
        assert_eq!(parse_delay("0 seconds"), Ok(0));
        assert!(parse("0 seconds").is_err());
        assert!(parse("1 month").unwrap_err().contains("unknown unit"));
        assert!(parse("minute").is_err());
        assert_eq!(show(90_000_000), "90 seconds");
        assert_eq!(show(60_000_000), "1 minute");
    }
}
