//! DATE, DATETIME and TIME values, and MySQL's calendar arithmetic: day numbers, weekdays and weeks.

use chrono::{Datelike, NaiveDate};

/// A DATE or DATETIME value. `has_time` says which; `fsp` is the number of fraction digits the input had.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DateTime {
    pub(super) year: i64,
    pub(super) month: i64,
    pub(super) day: i64,
    pub(super) hour: i64,
    pub(super) minute: i64,
    pub(super) second: i64,
    pub(super) micro: i64,
    pub(super) has_time: bool,
    pub(super) fsp: u8,
}

pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;

pub(super) const MONTH_NAMES: [&str; 12] = [
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

/// Monday first, as MySQL's `calc_weekday()` counts.
pub(super) const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// MySQL's `calc_daynr()`: days since year 0 (TO_DAYS).
pub(super) fn daynr(year: i64, month: i64, day: i64) -> i64 {
    let mut y = year;
    let mut delsum = 365 * y + 31 * (month - 1) + day;
    if month <= 2 {
        y -= 1;
    } else {
        delsum -= (month * 4 + 23) / 10;
    }
    delsum + y / 4 - ((y / 100 + 1) * 3) / 4
}

/// The date of a day number from `daynr()`, within years 1 to 9999.
pub(super) fn from_daynr(n: i64) -> Option<(i64, i64, i64)> {
    let d = NaiveDate::from_num_days_from_ce_opt(i32::try_from(n - 365).ok()?)?;
    let y = i64::from(d.year());
    (1..=9999)
        .contains(&y)
        .then(|| (y, i64::from(d.month()), i64::from(d.day())))
}

/// MySQL's `calc_weekday()`: 0 is Monday, or 0 is Sunday when `sunday_first`.
pub(super) fn calc_weekday(daynr: i64, sunday_first: bool) -> i64 {
    (daynr + 5 + i64::from(sunday_first)).rem_euclid(7)
}

fn days_in_year(y: i64) -> i64 {
    if is_leap(y) { 366 } else { 365 }
}

pub(super) const WEEK_MONDAY_FIRST: u32 = 1;
pub(super) const WEEK_YEAR: u32 = 2;
pub(super) const WEEK_FIRST_WEEKDAY: u32 = 4;

/// MySQL's `calc_week()`: the week number and the year it belongs to, under the behaviour flags above.
pub(super) fn calc_week(y: i64, m: i64, d: i64, behaviour: u32) -> (i64, i64) {
    let day = daynr(y, m, d);
    let mut first = daynr(y, 1, 1);
    let monday_first = behaviour & WEEK_MONDAY_FIRST != 0;
    let mut week_year = behaviour & WEEK_YEAR != 0;
    let first_weekday = behaviour & WEEK_FIRST_WEEKDAY != 0;
    let mut weekday = calc_weekday(first, !monday_first);
    let mut year = y;
    if m == 1 && d <= 7 - weekday {
        if !week_year && ((first_weekday && weekday != 0) || (!first_weekday && weekday >= 4)) {
            return (0, year);
        }
        week_year = true;
        year -= 1;
        let days = days_in_year(year);
        first -= days;
        weekday = (weekday + 53 * 7 - days) % 7;
    }
    let days = if (first_weekday && weekday != 0) || (!first_weekday && weekday >= 4) {
        day - (first + (7 - weekday))
    } else {
        day - (first - weekday)
    };
    if week_year && days >= 52 * 7 {
        let weekday = (weekday + days_in_year(year)) % 7;
        if (!first_weekday && weekday < 4) || (first_weekday && weekday == 0) {
            return (1, year + 1);
        }
    }
    (days / 7 + 1, year)
}

/// MySQL's `week_mode()`: WEEK()'s mode as `calc_week()` flags.
pub(super) fn week_mode(mode: i64) -> u32 {
    let mut f = (mode & 7) as u32;
    if f & WEEK_MONDAY_FIRST == 0 {
        f ^= WEEK_FIRST_WEEKDAY;
    }
    f
}

impl DateTime {
    pub(super) fn date(year: i64, month: i64, day: i64) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
            micro: 0,
            has_time: false,
            fsp: 0,
        }
    }

    pub(super) fn valid(&self) -> bool {
        (1..=9999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && (0..24).contains(&self.hour)
            && (0..60).contains(&self.minute)
            && (0..60).contains(&self.second)
            && (0..1_000_000).contains(&self.micro)
    }

    pub(super) fn daynr(&self) -> i64 {
        daynr(self.year, self.month, self.day)
    }

    pub(super) fn time_micros(&self) -> i64 {
        ((self.hour * 60 + self.minute) * 60 + self.second) * 1_000_000 + self.micro
    }

    /// Microseconds since day 0.
    pub(super) fn micros(&self) -> i64 {
        self.daynr() * MICROS_PER_DAY + self.time_micros()
    }

    pub(super) fn from_micros(t: i64, has_time: bool) -> Option<DateTime> {
        let (y, m, d) = from_daynr(t.div_euclid(MICROS_PER_DAY))?;
        let us = t.rem_euclid(MICROS_PER_DAY);
        Some(DateTime {
            year: y,
            month: m,
            day: d,
            hour: us / 3_600_000_000,
            minute: us / 60_000_000 % 60,
            second: us / 1_000_000 % 60,
            micro: us % 1_000_000,
            has_time,
            fsp: 0,
        })
    }

    /// 0 is Monday.
    pub(super) fn weekday(&self) -> i64 {
        calc_weekday(self.daynr(), false)
    }

    pub(super) fn yday(&self) -> i64 {
        self.daynr() - daynr(self.year, 1, 1) + 1
    }

    pub(super) fn date_text(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The value as MySQL prints a DATETIME string result: with microseconds only when there are some.
    pub(super) fn datetime_text(&self) -> String {
        let frac = if self.micro != 0 {
            format!(".{:06}", self.micro)
        } else {
            String::new()
        };
        format!(
            "{} {:02}:{:02}:{:02}{frac}",
            self.date_text(),
            self.hour,
            self.minute,
            self.second
        )
    }

    pub(super) fn text(&self) -> String {
        if self.has_time {
            self.datetime_text()
        } else {
            self.date_text()
        }
    }
}

/// A TIME value: a signed duration of up to 838:59:59.999999.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Time {
    pub(super) neg: bool,
    pub(super) hour: i64,
    pub(super) minute: i64,
    pub(super) second: i64,
    pub(super) micro: i64,
}

impl Time {
    pub(super) fn text(&self) -> String {
        let frac = if self.micro != 0 {
            format!(".{:06}", self.micro)
        } else {
            String::new()
        };
        let sign = if self.neg { "-" } else { "" };
        format!(
            "{sign}{:02}:{:02}:{:02}{frac}",
            self.hour, self.minute, self.second
        )
    }

    /// Clamps to TIME's range as MySQL does.
    pub(super) fn clamped(mut self) -> Time {
        if self.hour > 838 {
            (self.hour, self.minute, self.second, self.micro) = (838, 59, 59, 0);
        }
        self
    }
}
