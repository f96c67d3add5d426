//! INTERVAL arithmetic: DATE_ADD and DATE_SUB.

use super::calendar::{DateTime, days_in_month};
use super::parse::parse_dt;
use crate::rdsdata::functions::{Val, int, real, text};

/// An INTERVAL: months (for the month-based units) or microseconds, and whether the unit is a day or larger.
struct Interval {
    months: i64,
    micros: i64,
    date_unit: bool,
}

/// The parts of a composite unit's amount ('1:30' for HOUR_MINUTE), as MySQL's `get_interval_info()` reads
/// them: runs of digits, right-aligned into the unit's `n` fields, the last scaled to microseconds when
/// `micro`. A leading '-' negates the whole.
fn interval_parts(s: &str, n: usize, micro: bool) -> Option<(bool, Vec<i64>)> {
    let s = s.trim_start();
    let neg = s.starts_with('-');
    let b = s.as_bytes();
    let mut i = 0;
    let mut parts = Vec::new();
    let mut last_len = 0;
    while i < b.len() && parts.len() < n {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        let start = i;
        let mut v: i64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            v = v.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
            i += 1;
        }
        if i == start {
            break;
        }
        last_len = i - start;
        parts.push(v);
    }
    if parts.is_empty() {
        return None;
    }
    if micro && parts.len() == n && last_len < 6 {
        let l = parts.len() - 1;
        parts[l] *= 10i64.pow(6 - last_len as u32);
    }
    let mut out = vec![0; n - parts.len()];
    out.extend(parts);
    Some((neg, out))
}

/// An amount of `unit` as an interval; `None` for an unknown unit or a NULL amount.
fn interval(amount: &Val, unit: &str) -> Option<Interval> {
    let unit = unit.trim().to_ascii_uppercase();
    let simple = |scale: i64, date_unit: bool| -> Option<Interval> {
        let n = int(amount)?;
        Some(Interval {
            months: 0,
            micros: n.checked_mul(scale)?,
            date_unit,
        })
    };
    let months = |scale: i64| -> Option<Interval> {
        let n = int(amount)?;
        Some(Interval {
            months: n.checked_mul(scale)?,
            micros: 0,
            date_unit: true,
        })
    };
    const S: i64 = 1_000_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;
    const D: i64 = 24 * H;
    let composite = |scales: &[i64], micro: bool, date_unit: bool| -> Option<Interval> {
        let s = match amount {
            Val::Null => return None,
            v => text(v)?,
        };
        let (neg, parts) = interval_parts(&s, scales.len(), micro)?;
        let mut total: i64 = 0;
        for (p, k) in parts.iter().zip(scales) {
            total = total.checked_add(p.checked_mul(*k)?)?;
        }
        let total = if neg { -total } else { total };
        Some(if date_unit {
            Interval {
                months: total,
                micros: 0,
                date_unit: true,
            }
        } else {
            Interval {
                months: 0,
                micros: total,
                date_unit: false,
            }
        })
    };
    match unit.as_str() {
        "MICROSECOND" => simple(1, false),
        "SECOND" => {
            // SECOND takes a fraction.
            let x = match amount {
                Val::Int(_) => return simple(S, false),
                v => real(v)?,
            };
            let us = (x * 1e6).round();
            (us.abs() < 9.2e18).then_some(Interval {
                months: 0,
                micros: us as i64,
                date_unit: false,
            })
        }
        "MINUTE" => simple(M, false),
        "HOUR" => simple(H, false),
        "DAY" => simple(D, true),
        "WEEK" => simple(7 * D, true),
        "MONTH" => months(1),
        "QUARTER" => months(3),
        "YEAR" => months(12),
        "YEAR_MONTH" => composite(&[12, 1], false, true),
        "DAY_HOUR" => composite(&[D, H], false, false),
        "DAY_MINUTE" => composite(&[D, H, M], false, false),
        "DAY_SECOND" => composite(&[D, H, M, S], false, false),
        "DAY_MICROSECOND" => composite(&[D, H, M, S, 1], true, false),
        "HOUR_MINUTE" => composite(&[H, M], false, false),
        "HOUR_SECOND" => composite(&[H, M, S], false, false),
        "HOUR_MICROSECOND" => composite(&[H, M, S, 1], true, false),
        "MINUTE_SECOND" => composite(&[M, S], false, false),
        "MINUTE_MICROSECOND" => composite(&[M, S, 1], true, false),
        "SECOND_MICROSECOND" => composite(&[S, 1], true, false),
        _ => None,
    }
}

/// DATE_ADD and DATE_SUB. Month-based units clamp the day to the month's last; a DATE with a unit of a day or
/// more stays a DATE. A result outside years 1 to 9999 is NULL.
fn add_interval(a: &[Val], sign: i64) -> Result<Val, String> {
    let (Some(dt), Some(unit)) = (parse_dt(&a[0]), text(&a[2])) else {
        return Ok(Val::Null);
    };
    let Some(iv) = interval(&a[1], &unit) else {
        return Ok(Val::Null);
    };
    let has_time = dt.has_time || !iv.date_unit;
    let out = if iv.months != 0 || iv.micros == 0 {
        let Some(total) = (dt.year * 12 + dt.month - 1).checked_add(iv.months.saturating_mul(sign))
        else {
            return Ok(Val::Null);
        };
        let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        if !(1..=9999).contains(&y) {
            return Ok(Val::Null);
        }
        let mut out = dt;
        (out.year, out.month, out.has_time) = (y, m, has_time);
        out.day = dt.day.min(days_in_month(y, m));
        Some(out)
    } else {
        dt.micros()
            .checked_add(iv.micros.saturating_mul(sign))
            .and_then(|t| DateTime::from_micros(t, has_time))
    };
    Ok(out.map_or(Val::Null, |d| Val::Text(d.text())))
}

/// DATE_ADD(date,INTERVAL expr unit), with the unit as text:
/// https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_date-add
pub(in crate::rdsdata::functions) fn date_add(a: &[Val]) -> Result<Val, String> {
    add_interval(a, 1)
}

/// DATE_SUB(date,INTERVAL expr unit): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_date-sub
pub(in crate::rdsdata::functions) fn date_sub(a: &[Val]) -> Result<Val, String> {
    add_interval(a, -1)
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::testing::{N, check, i, r, t};

    #[test]
    fn date_add_and_sub() {
        check!("date_add", [t("2024-01-31"), i(1), t("MONTH")] => t("2024-02-29"));
        check!("date_add", [t("2023-01-31"), i(1), t("MONTH")] => t("2023-02-28"));
        check!("date_add", [t("2024-02-29"), i(1), t("YEAR")] => t("2025-02-28"));
        check!("date_add", [t("2018-05-01"), i(1), t("DAY")] => t("2018-05-02"));
        check!("date_add", [t("2018-05-01"), i(1), t("day")] => t("2018-05-02"));
        check!("date_add", [t("2020-12-31 23:59:59"), i(1), t("SECOND")] => t("2021-01-01 00:00:00"));
        check!("date_add", [t("2018-12-31 23:59:59"), i(1), t("DAY")] => t("2019-01-01 23:59:59"));
        check!("date_add", [t("2024-01-01"), i(1), t("HOUR")] => t("2024-01-01 01:00:00"));
        check!("date_add", [t("2024-01-01"), i(2), t("WEEK")] => t("2024-01-15"));
        check!("date_add", [t("2024-01-01"), i(1), t("QUARTER")] => t("2024-04-01"));
        check!("date_add", [t("2024-01-01"), i(-1), t("MINUTE")] => t("2023-12-31 23:59:00"));
        check!("date_add", [t("2024-01-01"), i(1), t("MICROSECOND")] => t("2024-01-01 00:00:00.000001"));
        check!("date_add", [t("2024-01-01 00:00:00"), r(1.5), t("SECOND")] => t("2024-01-01 00:00:01.500000"));
        check!("date_add", [t("2100-12-31 23:59:59"), t("1:1"), t("MINUTE_SECOND")] => t("2101-01-01 00:01:00"));
        check!("date_add", [t("1900-01-01 00:00:00"), t("-1 10"), t("DAY_HOUR")] => t("1899-12-30 14:00:00"));
        check!("date_add", [t("1992-12-31 23:59:59.000002"), t("1.999999"), t("SECOND_MICROSECOND")]
            => t("1993-01-01 00:00:01.000001"));
        check!("date_add", [t("2024-01-15"), t("1-2"), t("YEAR_MONTH")] => t("2025-03-15"));
        check!("date_add", [t("9999-12-31"), i(1), t("DAY")] => N);
        check!("date_add", [N, i(1), t("DAY")] => N);
        check!("date_add", [t("2024-01-01"), N, t("DAY")] => N);
        check!("date_add", [t("2024-01-01"), i(1), t("FORTNIGHT")] => N);
        check!("date_add", [t("2024-02-30"), i(1), t("DAY")] => N);
        check!("date_sub", [t("2018-05-01"), i(1), t("YEAR")] => t("2017-05-01"));
        check!("date_sub", [t("2024-03-31"), i(1), t("MONTH")] => t("2024-02-29"));
        check!("date_sub", [t("2025-01-01 00:00:00"), i(1), t("SECOND")] => t("2024-12-31 23:59:59"));
        check!("date_sub", [t("2024-01-10"), i(-5), t("DAY")] => t("2024-01-15"));
        check!("date_sub", [N, i(1), t("DAY")] => N);
        check!("date_sub", [t("2024-01-01"), i(i64::MIN), t("MONTH")] => N);
        check!("date_sub", [t("2024-01-01"), i(i64::MIN), t("MICROSECOND")] => N);
    }
}
