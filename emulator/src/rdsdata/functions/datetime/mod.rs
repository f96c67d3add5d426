//! Date and time: https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html
//! Dates are 'YYYY-MM-DD' and datetimes 'YYYY-MM-DD HH:MM:SS[.ffffff]' in text; invalid values give NULL.
//!
//! - [`calendar`] holds the DATE, DATETIME and TIME values and MySQL's calendar arithmetic.
//! - [`parse`] reads values from strings and numbers as MySQL does.
//! - [`format`] is DATE_FORMAT's and STR_TO_DATE's format specifiers.
//! - [`interval`] is DATE_ADD's and DATE_SUB's INTERVAL.

mod calendar;
mod format;
mod interval;
mod parse;

pub(super) use format::{date_format, str_to_date};
pub(super) use interval::{date_add, date_sub};

use super::{Num, Val, int, num, text};
use calendar::{
    DAY_NAMES, DateTime, MICROS_PER_DAY, MONTH_NAMES, WEEK_YEAR, calc_week, calc_weekday, daynr,
    days_in_month, from_daynr, week_mode,
};
use format::format_dt;
use parse::{parse_dt, parse_time, year_2000};

/// `f` of the argument as a DATE or DATETIME, or NULL.
fn with_dt(v: &Val, f: impl FnOnce(DateTime) -> Val) -> Result<Val, String> {
    Ok(parse_dt(v).map_or(Val::Null, f))
}

/// DATEDIFF(expr1,expr2): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_datediff
pub(super) fn datediff(a: &[Val]) -> Result<Val, String> {
    Ok(match (parse_dt(&a[0]), parse_dt(&a[1])) {
        (Some(x), Some(y)) => Val::Int(x.daynr() - y.daynr()),
        _ => Val::Null,
    })
}

/// TIMESTAMPDIFF(unit,datetime_expr1,datetime_expr2), with the unit as text:
/// https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_timestampdiff
/// Month-based units count whole months as MySQL does: a month is complete when the later value's day and time
/// reach the earlier's.
pub(super) fn timestampdiff(a: &[Val]) -> Result<Val, String> {
    let (Some(unit), Some(x), Some(y)) = (text(&a[0]), parse_dt(&a[1]), parse_dt(&a[2])) else {
        return Ok(Val::Null);
    };
    let diff = y.micros() - x.micros();
    let months = || {
        let (neg, beg, end) = if diff < 0 {
            (true, y, x)
        } else {
            (false, x, y)
        };
        let mut years = end.year - beg.year;
        let earlier = end.month < beg.month || (end.month == beg.month && end.day < beg.day);
        if earlier {
            years -= 1;
        }
        let mut months = 12 * years;
        months += if earlier {
            12 - (beg.month - end.month)
        } else {
            end.month - beg.month
        };
        if end.day < beg.day || (end.day == beg.day && end.time_micros() < beg.time_micros()) {
            months -= 1;
        }
        if neg { -months } else { months }
    };
    let v = match unit.trim().to_ascii_uppercase().as_str() {
        "MICROSECOND" => diff,
        "SECOND" => diff / 1_000_000,
        "MINUTE" => diff / 60_000_000,
        "HOUR" => diff / 3_600_000_000,
        "DAY" => diff / MICROS_PER_DAY,
        "WEEK" => diff / (7 * MICROS_PER_DAY),
        "MONTH" => months(),
        "QUARTER" => months() / 3,
        "YEAR" => months() / 12,
        _ => return Ok(Val::Null),
    };
    Ok(Val::Int(v))
}

/// 1970-01-01 in `daynr()`'s count.
const EPOCH_DAYNR: i64 = 719_528;

/// The largest TIMESTAMP, 2038-01-19 03:14:07 UTC, in seconds.
const MAX_TIMESTAMP: i64 = 2_147_483_647;

/// UNIX_TIMESTAMP(date), in UTC: https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_unix-timestamp
/// A value outside TIMESTAMP's range gives 0; an input with a fraction gives a fractional result.
pub(super) fn unix_timestamp(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |dt| {
        let us = dt.micros() - EPOCH_DAYNR * MICROS_PER_DAY;
        if us < 0 || us / 1_000_000 > MAX_TIMESTAMP {
            Val::Int(0)
        } else if dt.fsp > 0 {
            Val::Real(us as f64 / 1e6)
        } else {
            Val::Int(us / 1_000_000)
        }
    })
}

/// FROM_UNIXTIME(unix_timestamp[,format]), in UTC:
/// https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_from-unixtime
/// A negative value or one past 2147483647 gives NULL.
pub(super) fn from_unixtime(a: &[Val]) -> Result<Val, String> {
    let Some(n) = num(&a[0]) else {
        return Ok(Val::Null);
    };
    let us = match n {
        Num::Int(n) if (0..=MAX_TIMESTAMP).contains(&n) => n * 1_000_000,
        Num::Real(x) if (0.0..MAX_TIMESTAMP as f64 + 1.0).contains(&x) => (x * 1e6).round() as i64,
        _ => return Ok(Val::Null),
    };
    let Some(dt) = DateTime::from_micros(EPOCH_DAYNR * MICROS_PER_DAY + us, true) else {
        return Ok(Val::Null);
    };
    match a.get(1) {
        None => Ok(Val::Text(dt.datetime_text())),
        Some(fmt) => Ok(text(fmt).map_or(Val::Null, |f| Val::Text(format_dt(&dt, &f)))),
    }
}

/// YEAR(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_year
pub(super) fn year(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.year))
}

/// MONTH(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_month
pub(super) fn month(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.month))
}

/// DAY(date), DAYOFMONTH(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_dayofmonth
pub(super) fn dayofmonth(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.day))
}

/// HOUR(time): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_hour
/// The argument is a TIME, so hours may pass 23.
pub(super) fn hour(a: &[Val]) -> Result<Val, String> {
    Ok(parse_time(&a[0]).map_or(Val::Null, |t| Val::Int(t.hour)))
}

/// MINUTE(time): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_minute
pub(super) fn minute(a: &[Val]) -> Result<Val, String> {
    Ok(parse_time(&a[0]).map_or(Val::Null, |t| Val::Int(t.minute)))
}

/// SECOND(time): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_second
pub(super) fn second(a: &[Val]) -> Result<Val, String> {
    Ok(parse_time(&a[0]).map_or(Val::Null, |t| Val::Int(t.second)))
}

/// MICROSECOND(expr): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_microsecond
pub(super) fn microsecond(a: &[Val]) -> Result<Val, String> {
    Ok(parse_time(&a[0]).map_or(Val::Null, |t| Val::Int(t.micro)))
}

/// DAYOFWEEK(date), 1 for Sunday: https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_dayofweek
pub(super) fn dayofweek(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(calc_weekday(d.daynr(), true) + 1))
}

/// WEEKDAY(date), 0 for Monday: https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_weekday
pub(super) fn weekday(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.weekday()))
}

/// DAYNAME(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_dayname
pub(super) fn dayname(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Text(DAY_NAMES[d.weekday() as usize].into()))
}

/// MONTHNAME(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_monthname
pub(super) fn monthname(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| {
        Val::Text(MONTH_NAMES[(d.month - 1) as usize].into())
    })
}

/// DAYOFYEAR(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_dayofyear
pub(super) fn dayofyear(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.yday()))
}

/// QUARTER(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_quarter
pub(super) fn quarter(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int((d.month + 2) / 3))
}

/// The optional mode of WEEK and YEARWEEK: 0 when absent, `None` when NULL.
fn mode_arg(a: &[Val]) -> Option<i64> {
    match a.get(1) {
        None => Some(0),
        Some(v) => int(v),
    }
}

/// WEEK(date[,mode]), mode 0 by default (`default_week_format`):
/// https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_week
pub(super) fn week(a: &[Val]) -> Result<Val, String> {
    let Some(mode) = mode_arg(a) else {
        return Ok(Val::Null);
    };
    with_dt(&a[0], |d| {
        Val::Int(calc_week(d.year, d.month, d.day, week_mode(mode)).0)
    })
}

/// WEEKOFYEAR(date), WEEK(date,3): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_weekofyear
pub(super) fn weekofyear(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| {
        Val::Int(calc_week(d.year, d.month, d.day, week_mode(3)).0)
    })
}

/// YEARWEEK(date[,mode]): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_yearweek
pub(super) fn yearweek(a: &[Val]) -> Result<Val, String> {
    let Some(mode) = mode_arg(a) else {
        return Ok(Val::Null);
    };
    with_dt(&a[0], |d| {
        let (w, y) = calc_week(d.year, d.month, d.day, week_mode(mode) | WEEK_YEAR);
        Val::Int(y * 100 + w)
    })
}

/// LAST_DAY(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_last-day
pub(super) fn last_day(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| {
        Val::Text(DateTime::date(d.year, d.month, days_in_month(d.year, d.month)).date_text())
    })
}

/// DATE(expr): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_date
pub(super) fn date(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Text(d.date_text()))
}

/// TIME(expr): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_time
pub(super) fn time(a: &[Val]) -> Result<Val, String> {
    Ok(parse_time(&a[0]).map_or(Val::Null, |t| Val::Text(t.text())))
}

/// MAKEDATE(year,dayofyear): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_makedate
/// A day of year below 1 gives NULL; years 0 to 69 are 2000 to 2069, 70 to 99 are 1970 to 1999.
pub(super) fn makedate(a: &[Val]) -> Result<Val, String> {
    let (Some(y), Some(doy)) = (int(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    if doy <= 0 || !(0..=9999).contains(&y) {
        return Ok(Val::Null);
    }
    let y = year_2000(y);
    let Some(n) = daynr(y, 1, 1).checked_add(doy - 1) else {
        return Ok(Val::Null);
    };
    Ok(from_daynr(n).map_or(Val::Null, |(y, m, d)| {
        Val::Text(DateTime::date(y, m, d).date_text())
    }))
}

/// TO_DAYS(date): https://dev.mysql.com/doc/refman/5.7/en/date-and-time-functions.html#function_to-days
pub(super) fn to_days(a: &[Val]) -> Result<Val, String> {
    with_dt(&a[0], |d| Val::Int(d.daynr()))
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::testing::{N, check, i, r, t};

    #[test]
    fn datediff() {
        check!("datediff", [t("2007-12-31 23:59:59"), t("2007-12-30")] => i(1));
        check!("datediff", [t("2010-11-30 23:59:59"), t("2010-12-31")] => i(-31));
        check!("datediff", [t("2024-03-01"), t("2024-02-01")] => i(29));
        check!("datediff", [N, t("2024-02-01")] => N);
        check!("datediff", [t("2024-02-31"), t("2024-02-01")] => N);
    }

    #[test]
    fn timestampdiff() {
        check!("timestampdiff", [t("MONTH"), t("2003-02-01"), t("2003-05-01")] => i(3));
        check!("timestampdiff", [t("YEAR"), t("2002-05-01"), t("2001-01-01")] => i(-1));
        check!("timestampdiff", [t("MINUTE"), t("2003-02-01"), t("2003-05-01 12:05:55")] => i(128885));
        check!("timestampdiff", [t("MONTH"), t("2024-01-31"), t("2024-02-29")] => i(0));
        check!("timestampdiff", [t("MONTH"), t("2024-01-15 10:00:00"), t("2024-02-15 09:59:59")] => i(0));
        check!("timestampdiff", [t("MONTH"), t("2024-01-15 10:00:00"), t("2024-02-15 10:00:00")] => i(1));
        check!("timestampdiff", [t("QUARTER"), t("2024-01-01"), t("2024-12-31")] => i(3));
        check!("timestampdiff", [t("DAY"), t("2024-01-02"), t("2024-01-01 00:00:01")] => i(0));
        check!("timestampdiff", [t("WEEK"), t("2024-01-01"), t("2024-01-15")] => i(2));
        check!("timestampdiff", [t("HOUR"), t("2024-01-01"), t("2024-01-01 05:59:59")] => i(5));
        check!("timestampdiff", [t("SECOND"), t("2024-01-01 00:00:01"), t("2024-01-01")] => i(-1));
        check!("timestampdiff", [t("MICROSECOND"), t("2024-01-01"), t("2024-01-01 00:00:00.25")] => i(250000));
        check!("timestampdiff", [t("DAY"), N, t("2024-01-01")] => N);
        check!("timestampdiff", [t("DAY"), t("bad"), t("2024-01-01")] => N);
    }

    #[test]
    fn unix_time() {
        check!("unix_timestamp", [t("2015-11-13 10:20:19")] => i(1447410019));
        check!("unix_timestamp", [t("1970-01-01")] => i(0));
        check!("unix_timestamp", [t("2015-11-13 10:20:19.012")] => r(1447410019.012));
        check!("unix_timestamp", [t("1969-12-31 23:59:59")] => i(0));
        check!("unix_timestamp", [t("2038-01-19 03:14:08")] => i(0));
        check!("unix_timestamp", [i(20240101)] => i(1704067200));
        check!("unix_timestamp", [N] => N);
        check!("unix_timestamp", [t("garbage")] => N);
        check!("from_unixtime", [i(1447430881)] => t("2015-11-13 16:08:01"));
        check!("from_unixtime", [i(0)] => t("1970-01-01 00:00:00"));
        check!("from_unixtime", [r(1.5)] => t("1970-01-01 00:00:01.500000"));
        check!("from_unixtime", [i(-1)] => N);
        check!("from_unixtime", [i(2147483648)] => N);
        check!("from_unixtime", [N] => N);
        check!("from_unixtime", [i(1447430881), t("%Y %D %M %h:%i:%s %x")] => t("2015 13th November 04:08:01 2015"));
        check!("from_unixtime", [i(0), N] => N);
        check!("from_unixtime", [N, t("%Y")] => N);
    }

    #[test]
    fn date_parts() {
        check!("year", [t("1987-01-01")] => i(1987));
        check!("year", [i(20240105)] => i(2024));
        check!("year", [N] => N);
        check!("year", [t("1987-02-30")] => N);
        check!("month", [t("2008-02-03")] => i(2));
        check!("month", [t("2008-02-03 10:00:00")] => i(2));
        check!("month", [N] => N);
        check!("day", [t("2007-02-03")] => i(3));
        check!("day", [t("x")] => N);
        check!("day", [N] => N);
        check!("dayofmonth", [t("2007-02-03")] => i(3));
        check!("dayofmonth", [t("2007-02-29")] => N);
        check!("dayofmonth", [N] => N);
        check!("dayofweek", [t("2007-02-03")] => i(7));
        check!("dayofweek", [t("2024-01-07")] => i(1));
        check!("dayofweek", [N] => N);
        check!("weekday", [t("2008-02-03 22:23:00")] => i(6));
        check!("weekday", [t("2007-11-06")] => i(1));
        check!("weekday", [N] => N);
        check!("dayname", [t("2007-02-03")] => t("Saturday"));
        check!("dayname", [t("2024-01-01")] => t("Monday"));
        check!("dayname", [N] => N);
        check!("monthname", [t("2008-02-03")] => t("February"));
        check!("monthname", [t("2008-12-03")] => t("December"));
        check!("monthname", [N] => N);
        check!("dayofyear", [t("2007-02-03")] => i(34));
        check!("dayofyear", [t("2024-12-31")] => i(366));
        check!("dayofyear", [N] => N);
        check!("quarter", [t("2008-04-01")] => i(2));
        check!("quarter", [t("2008-12-31")] => i(4));
        check!("quarter", [N] => N);
        check!("to_days", [i(950501)] => i(728779));
        check!("to_days", [t("2007-10-07")] => i(733321));
        check!("to_days", [t("1970-01-01")] => i(719528));
        check!("to_days", [N] => N);
    }

    #[test]
    fn weeks() {
        check!("week", [t("2008-02-20")] => i(7));
        check!("week", [t("2008-02-20"), i(0)] => i(7));
        check!("week", [t("2008-02-20"), i(1)] => i(8));
        check!("week", [t("2008-12-31"), i(1)] => i(53));
        check!("week", [t("2000-01-01"), i(0)] => i(0));
        check!("week", [t("2000-01-01"), i(2)] => i(52));
        check!("week", [N] => N);
        check!("weekofyear", [t("2008-02-20")] => i(8));
        check!("weekofyear", [t("2024-12-30")] => i(1));
        check!("weekofyear", [N] => N);
        check!("yearweek", [t("1987-01-01")] => i(198652));
        check!("yearweek", [t("2024-12-30"), i(3)] => i(202501));
        check!("yearweek", [N] => N);
    }

    #[test]
    fn times() {
        check!("hour", [t("10:05:03")] => i(10));
        check!("hour", [t("272:59:59")] => i(272));
        check!("hour", [t("2024-01-05 13:14:15")] => i(13));
        check!("hour", [t("2024-01-05")] => i(0));
        check!("hour", [N] => N);
        check!("minute", [t("2008-02-03 10:05:03")] => i(5));
        check!("minute", [t("10:61:00")] => N);
        check!("minute", [N] => N);
        check!("second", [t("10:05:03")] => i(3));
        check!("second", [i(100503)] => i(3));
        check!("second", [N] => N);
        check!("microsecond", [t("12:00:00.123456")] => i(123456));
        check!("microsecond", [t("2019-12-31 23:59:59.000010")] => i(10));
        check!("microsecond", [N] => N);
        check!("time", [t("2003-12-31 01:02:03")] => t("01:02:03"));
        check!("time", [t("2003-12-31 01:02:03.000123")] => t("01:02:03.000123"));
        check!("time", [t("-1 02:00:00")] => t("-26:00:00"));
        check!("time", [t("1000:00:00")] => t("838:59:59"));
        check!("time", [N] => N);
        check!("time", [i(i64::MIN)] => N);
        check!("time", [t("999999999999999999 10:00:00")] => t("838:59:59"));
        check!("date", [t("2003-12-31 01:02:03")] => t("2003-12-31"));
        check!("date", [t("2003-12-31")] => t("2003-12-31"));
        check!("date", [t("2003-12-32")] => N);
        check!("date", [N] => N);
    }

    #[test]
    fn last_day_and_makedate() {
        check!("last_day", [t("2003-02-05")] => t("2003-02-28"));
        check!("last_day", [t("2004-02-05")] => t("2004-02-29"));
        check!("last_day", [t("2004-01-01 01:01:01")] => t("2004-01-31"));
        check!("last_day", [t("2003-03-32")] => N);
        check!("last_day", [N] => N);
        check!("makedate", [i(2011), i(31)] => t("2011-01-31"));
        check!("makedate", [i(2011), i(32)] => t("2011-02-01"));
        check!("makedate", [i(2011), i(365)] => t("2011-12-31"));
        check!("makedate", [i(2014), i(365)] => t("2014-12-31"));
        check!("makedate", [i(2011), i(0)] => N);
        check!("makedate", [i(24), i(1)] => t("2024-01-01"));
        check!("makedate", [N, i(1)] => N);
    }
}
