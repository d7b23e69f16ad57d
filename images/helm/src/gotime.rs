//! The part of Go's `time` package Sprig's date functions need, in UTC
//! with second precision: civil dates, `Format` layouts (`2006-01-02`),
//! parsing by layout, and `Duration.String`.

/// (year, month 1-12, day, hour, minute, second, weekday 0=Sunday, yday 1-366).
pub fn civil(unix: i64) -> (i64, i64, i64, i64, i64, i64, i64, i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let weekday = (days + 4).rem_euclid(7);
    let yday = days - days_from_civil(y, 1, 1) + 1;
    (
        y,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        weekday,
        yday,
    )
}

pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's layout tokens, longest first.
const TOKENS: &[&str] = &[
    "January",
    "Monday",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "Z07:00",
    "Z0700",
    "Jan",
    "Mon",
    "MST",
    "002",
    "__2",
    "01",
    "02",
    "_2",
    "03",
    "04",
    "05",
    "06",
    "15",
    "-07",
    "PM",
    "pm",
    ".000000000",
    ".999999999",
    ".000000",
    ".999999",
    ".000",
    ".999",
    "1",
    "2",
    "3",
    "4",
    "5",
    "Z07",
];

pub fn format(layout: &str, unix: i64) -> String {
    let (y, mo, d, h, mi, s, wd, yd) = civil(unix);
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for t in TOKENS {
            if let Some(r) = rest.strip_prefix(t) {
                // "1"-"5" and "2006"-style digits only as tokens when Go
                // would read them so; good enough for common layouts.
                let piece = match *t {
                    "January" => MONTHS[(mo - 1) as usize].to_string(),
                    "Jan" => MONTHS[(mo - 1) as usize][..3].to_string(),
                    "Monday" => DAYS[wd as usize].to_string(),
                    "Mon" => DAYS[wd as usize][..3].to_string(),
                    "2006" => format!("{y:04}"),
                    "06" => format!("{:02}", y % 100),
                    "01" => format!("{mo:02}"),
                    "1" => mo.to_string(),
                    "02" => format!("{d:02}"),
                    "_2" => format!("{d:>2}"),
                    "2" => d.to_string(),
                    "002" => format!("{yd:03}"),
                    "__2" => format!("{yd:>3}"),
                    "15" => format!("{h:02}"),
                    "03" => format!("{:02}", if h % 12 == 0 { 12 } else { h % 12 }),
                    "3" => (if h % 12 == 0 { 12 } else { h % 12 }).to_string(),
                    "04" => format!("{mi:02}"),
                    "4" => mi.to_string(),
                    "05" => format!("{s:02}"),
                    "5" => s.to_string(),
                    "PM" => (if h >= 12 { "PM" } else { "AM" }).to_string(),
                    "pm" => (if h >= 12 { "pm" } else { "am" }).to_string(),
                    "MST" => "UTC".to_string(),
                    "Z07:00" | "Z0700" | "Z07" => "Z".to_string(),
                    "-07:00" => "+00:00".to_string(),
                    "-0700" => "+0000".to_string(),
                    "-07" => "+00".to_string(),
                    "-07:00:00" => "+00:00:00".to_string(),
                    ".000" => ".000".to_string(),
                    ".000000" => ".000000".to_string(),
                    ".000000000" => ".000000000".to_string(),
                    _ => String::new(), // .999...: no fractional seconds
                };
                out.push_str(&piece);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Parse `value` by a Go layout (numeric fields only), UTC.
pub fn parse(layout: &str, value: &str) -> Option<i64> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (1i64, 1i64, 1i64, 0i64, 0i64, 0i64);
    let mut l = layout;
    let mut v = value;
    let take = |v: &mut &str, n: usize| -> Option<i64> {
        let p = v.get(..n)?;
        let r = p.parse().ok()?;
        *v = &v[n..];
        Some(r)
    };
    while !l.is_empty() {
        if let Some(r) = l.strip_prefix("2006") {
            y = take(&mut v, 4)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("01") {
            mo = take(&mut v, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("02") {
            d = take(&mut v, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("15") {
            h = take(&mut v, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("04") {
            mi = take(&mut v, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("05") {
            s = take(&mut v, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("Z07:00") {
            v = v.strip_prefix('Z').or_else(|| v.get(6..))?;
            l = r;
        } else {
            let c = l.chars().next()?;
            if !v.starts_with(c) {
                return None;
            }
            l = &l[c.len_utf8()..];
            v = &v[c.len_utf8()..];
        }
    }
    if !v.is_empty() {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Go's `time.ParseDuration`, in whole seconds.
pub fn parse_duration(t: &str) -> Option<i64> {
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[u_end..];
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}

/// Go's `Duration.String` for whole seconds.
pub fn duration_string(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        out.push_str(&format!("{h}h{m}m{sec}s"));
    } else if m > 0 {
        out.push_str(&format!("{m}m{sec}s"));
    } else {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        // 2024-02-29 13:04:05 UTC
        let t = days_from_civil(2024, 2, 29) * 86_400 + 13 * 3600 + 4 * 60 + 5;
        assert_eq!(
            format("2006-01-02T15:04:05Z07:00", t),
            "2024-02-29T13:04:05Z"
        );
        assert_eq!(format("Mon Jan _2 3:04PM", t), "Thu Feb 29 1:04PM");
        assert_eq!(
            parse("2006-01-02", "2024-02-29"),
            Some(days_from_civil(2024, 2, 29) * 86_400)
        );
        assert_eq!(duration_string(3725), "1h2m5s");
    }
}
