//! Format specifiers: DATE_FORMAT (MySQL's `make_date_time()`) and STR_TO_DATE (`extract_date_time()`).

use super::calendar::{
    DAY_NAMES, DateTime, MONTH_NAMES, Time, WEEK_FIRST_WEEKDAY, WEEK_MONDAY_FIRST, WEEK_YEAR,
    calc_week, calc_weekday, daynr, from_daynr,
};
use super::parse::{digits, year_2000};
use super::with_dt;
use crate::rdsdata::functions::{Val, text};

fn ordinal_suffix(d: i64) -> &'static str {
    match (d % 10, d % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// MySQL's `make_date_time()`: `fmt` with its specifiers filled from `dt`.
pub(super) fn format_dt(dt: &DateTime, fmt: &str) -> String {
    let mut out = String::new();
    let mut it = fmt.chars();
    let hour12 = |h: i64| if h % 12 == 0 { 12 } else { h % 12 };
    let ampm = |h: i64| if h < 12 { "AM" } else { "PM" };
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = it.next() else {
            break;
        };
        let s = match spec {
            'Y' => format!("{:04}", dt.year),
            'y' => format!("{:02}", dt.year % 100),
            'm' => format!("{:02}", dt.month),
            'c' => dt.month.to_string(),
            'M' => MONTH_NAMES[(dt.month - 1) as usize].to_string(),
            'b' => MONTH_NAMES[(dt.month - 1) as usize][..3].to_string(),
            'd' => format!("{:02}", dt.day),
            'e' => dt.day.to_string(),
            'D' => format!("{}{}", dt.day, ordinal_suffix(dt.day)),
            'j' => format!("{:03}", dt.yday()),
            'H' => format!("{:02}", dt.hour),
            'k' => dt.hour.to_string(),
            'h' | 'I' => format!("{:02}", hour12(dt.hour)),
            'l' => hour12(dt.hour).to_string(),
            'i' => format!("{:02}", dt.minute),
            's' | 'S' => format!("{:02}", dt.second),
            'f' => format!("{:06}", dt.micro),
            'p' => ampm(dt.hour).to_string(),
            'r' => format!(
                "{:02}:{:02}:{:02} {}",
                hour12(dt.hour),
                dt.minute,
                dt.second,
                ampm(dt.hour)
            ),
            'T' => format!("{:02}:{:02}:{:02}", dt.hour, dt.minute, dt.second),
            'W' => DAY_NAMES[dt.weekday() as usize].to_string(),
            'a' => DAY_NAMES[dt.weekday() as usize][..3].to_string(),
            'w' => ((dt.weekday() + 1) % 7).to_string(),
            'U' | 'u' => {
                let b = if spec == 'U' {
                    WEEK_FIRST_WEEKDAY
                } else {
                    WEEK_MONDAY_FIRST
                };
                format!("{:02}", calc_week(dt.year, dt.month, dt.day, b).0)
            }
            'V' | 'v' => {
                let b = if spec == 'V' {
                    WEEK_FIRST_WEEKDAY
                } else {
                    WEEK_MONDAY_FIRST
                };
                format!(
                    "{:02}",
                    calc_week(dt.year, dt.month, dt.day, b | WEEK_YEAR).0
                )
            }
            'X' | 'x' => {
                let b = if spec == 'X' {
                    WEEK_FIRST_WEEKDAY
                } else {
                    WEEK_MONDAY_FIRST
                };
                format!(
                    "{:04}",
                    calc_week(dt.year, dt.month, dt.day, b | WEEK_YEAR).1
                )
            }
            other => other.to_string(),
        };
        out.push_str(&s);
    }
    out
}

/// DATE_FORMAT(date,format): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_date-format
pub(in crate::rdsdata::functions) fn date_format(a: &[Val]) -> Result<Val, String> {
    let Some(fmt) = text(&a[1]) else {
        return Ok(Val::Null);
    };
    with_dt(&a[0], |dt| Val::Text(format_dt(&dt, &fmt)))
}

/// Which parts a STR_TO_DATE format has, as MySQL's `get_date_time_result_type()` sorts its specifiers.
fn format_kinds(fmt: &str) -> (bool, bool, bool) {
    let (mut date, mut time, mut frac) = (false, false, false);
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            continue;
        }
        match it.next() {
            Some(
                'a' | 'b' | 'c' | 'D' | 'd' | 'e' | 'j' | 'M' | 'm' | 'U' | 'u' | 'V' | 'v' | 'W'
                | 'w',
            )
            | Some('X' | 'x' | 'Y' | 'y') => date = true,
            Some('f') => {
                time = true;
                frac = true;
            }
            Some('H' | 'h' | 'I' | 'i' | 'k' | 'l' | 'p' | 'r' | 'S' | 's' | 'T') => time = true,
            _ => {}
        }
    }
    (date, time, frac)
}

/// The state of one STR_TO_DATE parse, as MySQL's `extract_date_time()` keeps it.
#[derive(Default)]
struct Extract {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micro: i64,
    usa_time: bool,
    daypart: i64,
    yearday: i64,
    weekday: i64,
    week_number: Option<i64>,
    strict_week: bool,
    sunday_first: bool,
    strict_year: Option<i64>,
    strict_year_sunday: bool,
}

/// The index of the name `names` has for the letters at `*i` (a whole name or a unique prefix of one).
fn name_at(b: &[u8], i: &mut usize, names: &[&str]) -> Option<usize> {
    let start = *i;
    let mut end = start;
    while end < b.len() && b[end].is_ascii_alphabetic() {
        end += 1;
    }
    let word = std::str::from_utf8(&b[start..end])
        .ok()?
        .to_ascii_lowercase();
    if word.is_empty() {
        return None;
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let found = lower.iter().position(|n| *n == word).or_else(|| {
        let prefixed: Vec<usize> = (0..lower.len())
            .filter(|&k| lower[k].starts_with(&word))
            .collect();
        (prefixed.len() == 1).then(|| prefixed[0])
    })?;
    *i = end;
    Some(found)
}

/// Parses `s` by `fmt` into `e`; `None` where they do not match.
fn extract(s: &[u8], fmt: &str, e: &mut Extract) -> Option<usize> {
    let f: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut k = 0;
    let num = |i: &mut usize, n: usize| digits(s, i, n).map(|d| d.0);
    while k < f.len() && i < s.len() {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        if f[k] == '%' && k + 1 < f.len() {
            k += 1;
            match f[k] {
                'Y' => {
                    let (y, len) = digits(s, &mut i, 4)?;
                    e.year = if len <= 2 { year_2000(y) } else { y };
                }
                'y' => e.year = year_2000(num(&mut i, 2)?),
                'm' | 'c' => e.month = num(&mut i, 2)?,
                'M' => e.month = name_at(s, &mut i, &MONTH_NAMES)? as i64 + 1,
                'b' => {
                    let abbr: Vec<&str> = MONTH_NAMES.iter().map(|m| &m[..3]).collect();
                    e.month = name_at(s, &mut i, &abbr)? as i64 + 1;
                }
                'd' | 'e' => e.day = num(&mut i, 2)?,
                'D' => {
                    e.day = num(&mut i, 2)?;
                    i = (i + 2).min(s.len());
                }
                'H' | 'k' => e.hour = num(&mut i, 2)?,
                'h' | 'I' | 'l' => {
                    e.hour = num(&mut i, 2)?;
                    e.usa_time = true;
                }
                'i' => e.minute = num(&mut i, 2)?,
                's' | 'S' => e.second = num(&mut i, 2)?,
                'f' => {
                    let (v, len) = digits(s, &mut i, 6)?;
                    e.micro = v * 10i64.pow(6 - len as u32);
                }
                'p' => {
                    if s.len() - i < 2 || !e.usa_time {
                        return None;
                    }
                    e.daypart = match s[i..i + 2].to_ascii_uppercase().as_slice() {
                        b"PM" => 12,
                        b"AM" => 0,
                        _ => return None,
                    };
                    i += 2;
                }
                'W' => e.weekday = name_at(s, &mut i, &DAY_NAMES)? as i64 + 1,
                'a' => {
                    let abbr: Vec<&str> = DAY_NAMES.iter().map(|d| &d[..3]).collect();
                    e.weekday = name_at(s, &mut i, &abbr)? as i64 + 1;
                }
                'w' => {
                    let w = num(&mut i, 1)?;
                    if w >= 7 {
                        return None;
                    }
                    e.weekday = if w == 0 { 7 } else { w };
                }
                'j' => e.yearday = num(&mut i, 3)?,
                c @ ('U' | 'u' | 'V' | 'v') => {
                    e.sunday_first = c == 'U' || c == 'V';
                    e.strict_week = c == 'V' || c == 'v';
                    e.week_number = Some(num(&mut i, 2)?);
                }
                c @ ('X' | 'x') => {
                    e.strict_year_sunday = c == 'X';
                    e.strict_year = Some(num(&mut i, 4)?);
                }
                'r' => {
                    let rest = std::str::from_utf8(&s[i..]).ok()?;
                    i += extract(rest.as_bytes(), "%I:%i:%S %p", e)?;
                }
                'T' => {
                    let rest = std::str::from_utf8(&s[i..]).ok()?;
                    i += extract(rest.as_bytes(), "%H:%i:%S", e)?;
                }
                '.' => {
                    while i < s.len() && s[i].is_ascii_punctuation() {
                        i += 1;
                    }
                }
                '@' => {
                    while i < s.len() && s[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                }
                '#' => {
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                '%' => {
                    if s[i] != b'%' {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        } else if !f[k].is_whitespace() {
            let mut buf = [0u8; 4];
            let lit = f[k].encode_utf8(&mut buf).as_bytes();
            if !s[i..].starts_with(lit) {
                return None;
            }
            i += lit.len();
        }
        k += 1;
    }
    Some(i)
}

/// STR_TO_DATE(str,format): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_str-to-date
/// A DATE when the format has only date parts, a TIME when it has only time parts, a DATETIME otherwise (with
/// microseconds when it has %f); NULL when the string does not match or the date is invalid. Text left over
/// after the format is ignored, as MySQL does with a warning.
pub(in crate::rdsdata::functions) fn str_to_date(a: &[Val]) -> Result<Val, String> {
    let (Some(s), Some(fmt)) = (text(&a[0]), text(&a[1])) else {
        return Ok(Val::Null);
    };
    let mut e = Extract::default();
    if extract(s.as_bytes(), &fmt, &mut e).is_none() {
        return Ok(Val::Null);
    }
    let out = (|| {
        if e.usa_time {
            if !(1..=12).contains(&e.hour) {
                return None;
            }
            e.hour = e.hour % 12 + e.daypart;
        }
        if e.yearday > 0 {
            let (y, m, d) = from_daynr(daynr(e.year, 1, 1) + e.yearday - 1)?;
            (e.year, e.month, e.day) = (y, m, d);
        }
        if let (Some(week), true) = (e.week_number, e.weekday != 0) {
            if (e.strict_week
                && (e.strict_year.is_none() || e.strict_year_sunday != e.sunday_first))
                || (!e.strict_week && e.strict_year.is_some())
            {
                return None;
            }
            let mut days = daynr(
                if e.strict_week {
                    e.strict_year?
                } else {
                    e.year
                },
                1,
                1,
            );
            let wd = calc_weekday(days, e.sunday_first);
            days += if e.sunday_first {
                (if wd == 0 { 0 } else { 7 }) - wd + (week - 1) * 7 + e.weekday % 7
            } else {
                (if wd <= 3 { 0 } else { 7 }) - wd + (week - 1) * 7 + (e.weekday - 1)
            };
            let (y, m, d) = from_daynr(days)?;
            (e.year, e.month, e.day) = (y, m, d);
        }
        if e.month > 12 || e.day > 31 || e.hour > 23 || e.minute > 59 || e.second > 59 {
            return None;
        }
        let (has_date, has_time, frac) = format_kinds(&fmt);
        let t = Time {
            neg: false,
            hour: e.hour,
            minute: e.minute,
            second: e.second,
            micro: e.micro,
        };
        let micro6 = |text: String| {
            if frac && e.micro == 0 {
                text + ".000000"
            } else {
                text
            }
        };
        if has_time && !has_date {
            return Some(micro6(t.text()));
        }
        let dt = DateTime {
            year: e.year,
            month: e.month,
            day: e.day,
            hour: e.hour,
            minute: e.minute,
            second: e.second,
            micro: e.micro,
            has_time: !has_date || has_time,
            fsp: 0,
        };
        if !dt.valid() {
            return None;
        }
        Some(if dt.has_time {
            micro6(dt.datetime_text())
        } else {
            dt.date_text()
        })
    })();
    Ok(out.map_or(Val::Null, Val::Text))
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::testing::{N, check, t};

    #[test]
    fn date_format() {
        let dt = t("2009-10-04 22:23:00");
        check!("date_format", [dt.clone(), t("%W %M %Y")] => t("Sunday October 2009"));
        check!("date_format", [t("2007-10-04 22:23:00"), t("%H:%i:%s")] => t("22:23:00"));
        check!("date_format", [t("1900-10-04 22:23:00"), t("%D %y %a %d %m %b %j")]
            => t("4th 00 Thu 04 10 Oct 277"));
        check!("date_format", [t("1997-10-04 22:23:00"), t("%H %k %I %r %T %S %w")]
            => t("22 22 10 10:23:00 PM 22:23:00 00 6"));
        check!("date_format", [t("1999-01-01"), t("%X %V")] => t("1998 52"));
        check!("date_format", [t("2006-06-00"), t("%d")] => N);
        check!("date_format", [t("2024-03-01 09:05:07.25"), t("%c/%e %l%p %f %%")]
            => t("3/1 9AM 250000 %"));
        check!("date_format", [t("2024-01-02"), t("%U %u %v %x %h")] => t("00 01 01 2024 12"));
        check!("date_format", [t("2024-12-22"), t("%D %D")] => t("22nd 22nd"));
        check!("date_format", [t("2024-12-13"), t("%D %Q")] => t("13th Q"));
        check!("date_format", [N, t("%Y")] => N);
        check!("date_format", [dt, N] => N);
        check!("date_format", [t("not a date"), t("%Y")] => N);
    }

    #[test]
    fn str_to_date() {
        check!("str_to_date", [t("01,5,2013"), t("%d,%m,%Y")] => t("2013-05-01"));
        check!("str_to_date", [t("May 1, 2013"), t("%M %d,%Y")] => t("2013-05-01"));
        check!("str_to_date", [t("a09:30:17"), t("a%h:%i:%s")] => t("09:30:17"));
        check!("str_to_date", [t("a09:30:17"), t("%h:%i:%s")] => N);
        check!("str_to_date", [t("09:30:17a"), t("%h:%i:%s")] => t("09:30:17"));
        check!("str_to_date", [t("2024-01-05 10:30:00"), t("%Y-%m-%d %H:%i:%s")] => t("2024-01-05 10:30:00"));
        check!("str_to_date", [t("2024-01-05 02:30 PM"), t("%Y-%m-%d %h:%i %p")] => t("2024-01-05 14:30:00"));
        check!("str_to_date", [t("12:00:00 AM"), t("%r")] => t("00:00:00"));
        check!("str_to_date", [t("2024-01-05 10:30:00.5"), t("%Y-%m-%d %T.%f")] => t("2024-01-05 10:30:00.500000"));
        check!("str_to_date", [t("2024-02-30"), t("%Y-%m-%d")] => N);
        check!("str_to_date", [t("2024-01-05"), t("%Y-%m-%d %H:%i")] => t("2024-01-05 00:00:00"));
        check!("str_to_date", [t("Friday 5th January 24"), t("%W %D %M %y")] => t("2024-01-05"));
        check!("str_to_date", [t("2024 032"), t("%Y %j")] => t("2024-02-01"));
        check!("str_to_date", [t("200442 Monday"), t("%X%V %W")] => t("2004-10-18"));
        check!("str_to_date", [t("13:00 PM"), t("%h:%i %p")] => N);
        check!("str_to_date", [t("abc"), t("%Y")] => N);
        check!("str_to_date", [N, t("%Y")] => N);
        check!("str_to_date", [t("2024"), N] => N);
    }
}
