//! DATE, DATETIME and TIME values from strings and numbers, as MySQL reads them.

use super::calendar::{DateTime, Time};
use crate::rdsdata::functions::Val;

/// A two-digit year as MySQL reads it: 70 to 99 are 19xx, 00 to 69 are 20xx.
pub(super) fn year_2000(y: i64) -> i64 {
    if y < 70 {
        y + 2000
    } else if y < 100 {
        y + 1900
    } else {
        y
    }
}

/// Reads up to `max` ASCII digits at `*i`; `None` when there is none.
pub(super) fn digits(b: &[u8], i: &mut usize, max: usize) -> Option<(i64, usize)> {
    let start = *i;
    let mut n: i64 = 0;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        n = n * 10 + i64::from(b[*i] - b'0');
        *i += 1;
    }
    (*i > start).then_some((n, *i - start))
}

/// A fraction of a second from its digits: the first six, scaled to microseconds.
fn fraction(b: &[u8], i: &mut usize) -> (i64, u8) {
    let start = *i;
    let mut micro = 0;
    while *i < b.len() && b[*i].is_ascii_digit() {
        if *i - start < 6 {
            micro = micro * 10 + i64::from(b[*i] - b'0');
        }
        *i += 1;
    }
    let n = (*i - start).min(6);
    (micro * 10i64.pow(6 - n as u32), n as u8)
}

/// A DATE or DATETIME from a string, as MySQL's `str_to_datetime()` reads it: delimited ('2024-1-5 10:30:00.5',
/// any punctuation between the parts, 'T' or spaces before the time) or digits only ('20240105',
/// '240105103000'). Text after a complete value is ignored, as MySQL does with a warning.
fn parse_datetime_str(s: &str) -> Option<DateTime> {
    let b = s.trim_start().as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut dt = DateTime::date(0, 0, 0);
    if lead == b.len() || b[lead] == b'.' || b[lead].is_ascii_whitespace() {
        // Digits only: the year has 4 digits when there are 4, 8 or at least 14, otherwise 2; then 2 a part.
        if lead < 5 {
            return None;
        }
        let year_len = if lead == 8 || lead >= 14 { 4 } else { 2 };
        let mut i = 0;
        let mut parts = Vec::new();
        let mut len = year_len;
        while i < lead && parts.len() < 6 {
            let max = len.min(lead - i);
            let (n, _) = digits(b, &mut i, max)?;
            parts.push(n);
            len = 2;
        }
        if parts.len() < 3 {
            return None;
        }
        dt.year = if year_len == 2 {
            year_2000(parts[0])
        } else {
            parts[0]
        };
        dt.month = parts[1];
        dt.day = parts[2];
        if parts.len() > 3 {
            dt.has_time = true;
            dt.hour = parts[3];
            dt.minute = parts.get(4).copied().unwrap_or(0);
            dt.second = parts.get(5).copied().unwrap_or(0);
            if i < b.len() && b[i] == b'.' {
                i += 1;
                (dt.micro, dt.fsp) = fraction(b, &mut i);
            }
        }
        return dt.valid().then_some(dt);
    }
    let mut i = 0;
    let (y, ylen) = digits(b, &mut i, 4)?;
    dt.year = if ylen <= 2 { year_2000(y) } else { y };
    let punct = |b: &[u8], i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_punctuation() {
            *i += 1;
        }
        *i > start
    };
    if !punct(b, &mut i) {
        return None;
    }
    dt.month = digits(b, &mut i, 2)?.0;
    if !punct(b, &mut i) {
        return None;
    }
    dt.day = digits(b, &mut i, 2)?.0;
    let mut j = i;
    if j < b.len() && b[j] == b'T' {
        j += 1;
    } else {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
    }
    if j > i
        && let Some((h, _)) = digits(b, &mut j, 2)
    {
        dt.has_time = true;
        dt.hour = h;
        if punct(b, &mut j)
            && let Some((m, _)) = digits(b, &mut j, 2)
        {
            dt.minute = m;
            if punct(b, &mut j)
                && let Some((sec, _)) = digits(b, &mut j, 2)
            {
                dt.second = sec;
                if j < b.len() && b[j] == b'.' {
                    j += 1;
                    (dt.micro, dt.fsp) = fraction(b, &mut j);
                }
            }
        }
    }
    dt.valid().then_some(dt)
}

/// A DATE or DATETIME from a number, as MySQL's `number_to_datetime()` reads YYMMDD, YYYYMMDD, YYMMDDhhmmss and
/// YYYYMMDDhhmmss.
fn number_to_datetime(n: i64, micro: i64, fsp: u8) -> Option<DateTime> {
    let (full, has_time) = match n {
        101..=691_231 => (n + 20_000_000, false),
        700_101..=991_231 => (n + 19_000_000, false),
        10_000_101..=99_991_231 => (n, false),
        101_000_000..=691_231_235_959 => (n + 20_000_000_000_000, true),
        700_101_000_000..=991_231_235_959 => (n + 19_000_000_000_000, true),
        10_000_101_000_000..=99_991_231_235_959 => (n, true),
        _ => return None,
    };
    let (date, time) = if has_time {
        (full / 1_000_000, full % 1_000_000)
    } else {
        (full, 0)
    };
    let dt = DateTime {
        year: date / 10_000,
        month: date / 100 % 100,
        day: date % 100,
        hour: time / 10_000,
        minute: time / 100 % 100,
        second: time % 100,
        micro: if has_time { micro } else { 0 },
        has_time,
        fsp: if has_time { fsp } else { 0 },
    };
    dt.valid().then_some(dt)
}

/// The argument as a DATE or DATETIME; `None` for NULL and invalid values.
pub(super) fn parse_dt(v: &Val) -> Option<DateTime> {
    match v {
        Val::Null => None,
        Val::Int(n) => number_to_datetime(*n, 0, 0),
        Val::Real(x) => {
            let whole = x.trunc();
            let micro = ((x - whole).abs() * 1e6).round() as i64;
            if *x < 0.0 || micro >= 1_000_000 {
                return None;
            }
            number_to_datetime(whole as i64, micro, if micro > 0 { 6 } else { 0 })
        }
        Val::Text(s) => parse_datetime_str(s),
        Val::Blob(b) => parse_datetime_str(&String::from_utf8_lossy(b)),
    }
}

/// A TIME from a number, as HHMMSS.
fn number_to_time(n: i64, micro: i64) -> Option<Time> {
    let neg = n < 0;
    let n = n.saturating_abs();
    let t = Time {
        neg,
        hour: n / 10_000,
        minute: n / 100 % 100,
        second: n % 100,
        micro,
    };
    (t.minute < 60 && t.second < 60).then_some(t.clamped())
}

/// A TIME from a string, as MySQL's `str_to_time()` reads it: '[-][D ]HH:MM[:SS[.frac]]' or digits as HHMMSS;
/// a string of at least 12 characters that is a full DATETIME gives its time.
fn parse_time_str(s: &str) -> Option<Time> {
    let s = s.trim();
    if s.len() >= 12
        && let Some(dt) = parse_datetime_str(s).filter(|d| d.has_time)
    {
        return Some(Time {
            neg: false,
            hour: dt.hour,
            minute: dt.minute,
            second: dt.second,
            micro: dt.micro,
        });
    }
    let b = s.as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i = 1;
    }
    let (first, _) = digits(b, &mut i, 18)?;
    let mut t = Time {
        neg,
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
    };
    let mut days = 0;
    let mut j = i;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    let mut hour = first;
    if j > i && j < b.len() && b[j].is_ascii_digit() {
        // 'D HH[:MM[:SS]]'.
        days = first;
        hour = digits(b, &mut j, 2)?.0;
        i = j;
    } else if i >= b.len() || b[i] != b':' {
        // Digits only: HHMMSS.
        let micro = if i < b.len() && b[i] == b'.' {
            i += 1;
            fraction(b, &mut i).0
        } else {
            0
        };
        let mut t = number_to_time(first, micro)?;
        t.neg = neg;
        return Some(t);
    }
    t.hour = days.saturating_mul(24).saturating_add(hour);
    if i < b.len() && b[i] == b':' {
        i += 1;
        t.minute = digits(b, &mut i, 2)?.0;
        if i < b.len() && b[i] == b':' {
            i += 1;
            t.second = digits(b, &mut i, 2)?.0;
            if i < b.len() && b[i] == b'.' {
                i += 1;
                t.micro = fraction(b, &mut i).0;
            }
        }
    }
    (t.minute < 60 && t.second < 60).then_some(t.clamped())
}

/// The argument as a TIME; `None` for NULL and invalid values.
pub(super) fn parse_time(v: &Val) -> Option<Time> {
    match v {
        Val::Null => None,
        Val::Int(n) if n.unsigned_abs() > 8_385_959 => parse_dt(v).map(|d| Time {
            neg: false,
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            micro: d.micro,
        }),
        Val::Int(n) => number_to_time(*n, 0),
        Val::Real(x) => number_to_time(x.trunc() as i64, ((x.fract().abs()) * 1e6).round() as i64),
        Val::Text(s) => parse_time_str(s),
        Val::Blob(b) => parse_time_str(&String::from_utf8_lossy(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdsdata::functions::testing::i;

    #[test]
    fn date_parsing() {
        let d = |s: &str| parse_datetime_str(s).map(|d| d.text());
        assert_eq!(d("2024-01-05"), Some("2024-01-05".into()));
        assert_eq!(d("2024-1-5 7:8:9"), Some("2024-01-05 07:08:09".into()));
        assert_eq!(
            d("2024-01-05T10:30:00.5"),
            Some("2024-01-05 10:30:00.500000".into())
        );
        assert_eq!(d("24/01/05"), Some("2024-01-05".into()));
        assert_eq!(d("99-12-31"), Some("1999-12-31".into()));
        assert_eq!(d("20240105"), Some("2024-01-05".into()));
        assert_eq!(d("20240105103000"), Some("2024-01-05 10:30:00".into()));
        assert_eq!(d("2024-02-30"), None);
        assert_eq!(d("2024-13-01"), None);
        assert_eq!(d("0000-00-00"), None);
        assert_eq!(d("hello"), None);
        assert_eq!(d("2024-01-05 25:00:00"), None);
        assert_eq!(
            parse_dt(&i(20240105)).map(|d| d.text()),
            Some("2024-01-05".into())
        );
        assert_eq!(
            parse_dt(&i(240105103000)).map(|d| d.text()),
            Some("2024-01-05 10:30:00".into())
        );
    }
}
