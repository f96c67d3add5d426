//! What MySQL's strict mode checks when a row is written, as functions that the `CHECK` constraints of translated
//! tables call (`offcloud_check_*`). Each returns 1 for a value MySQL would store, and fails with MySQL's error
//! otherwise. They are Offcloud's own, not MySQL's, so statements cannot call them by these names.
//!
//! Source: https://dev.mysql.com/doc/refman/5.7/en/sql-mode.html#sql-mode-strict (errors 1264, 1265, 1292, 1366).
//! FIXME: MySQL names the failing row of a multi-row INSERT; a CHECK cannot know it, so it is always row 1.

use super::{Function, Val};

/// The checks, for the storage to register under these names.
pub const CHECKS: &[Function] = &[
    Function {
        name: "offcloud_check_int",
        args: 4,
        call: check_int,
    },
    Function {
        name: "offcloud_check_temporal",
        args: 3,
        call: check_temporal,
    },
    Function {
        name: "offcloud_check_decimal",
        args: 4,
        call: check_decimal,
    },
    Function {
        name: "offcloud_divide_strict",
        args: 2,
        call: divide_strict,
    },
];

/// The most significant digits a DECIMAL value may have: a double holds any decimal of 15 digits exactly, so that
/// such values read back, compare and add up as MySQL's exact ones do once rounded to their scale.
pub const MAX_EXACT_DIGITS: usize = 15;

/// The significant digits of `x`'s shortest decimal form.
pub fn significant_digits(x: f64) -> usize {
    let text = format!("{:e}", x.abs());
    let mantissa = text.split_once('e').map_or(text.as_str(), |(m, _)| m);
    mantissa.bytes().filter(u8::is_ascii_digit).count()
}

/// `offcloud_check_decimal(value, column, precision, scale)`: a DECIMAL column's value, which must have at most
/// `precision - scale` digits before the point once rounded to `scale` places (1264), and be a number (1366).
fn check_decimal(args: &[Val]) -> Result<Val, String> {
    let col = column(args);
    let (p, s) = (bound(args, 2), bound(args, 3));
    let x = match &args[0] {
        Val::Null | Val::Blob(_) => return Ok(Val::Int(1)),
        Val::Int(n) => *n as f64,
        Val::Real(r) => *r,
        Val::Text(t) => match t.trim().parse::<f64>() {
            Ok(x) => x,
            Err(_) => {
                return Err(format!(
                    "Incorrect decimal value: '{t}' for column '{col}' at row 1"
                ));
            }
        },
    };
    let limit = 10f64.powi((p - s).clamp(0, 65) as i32);
    let rounded =
        (x.abs() * 10f64.powi(s.clamp(0, 30) as i32)).round() / 10f64.powi(s.clamp(0, 30) as i32);
    if rounded >= limit {
        return Err(format!("Out of range value for column '{col}' at row 1"));
    }
    // SQLite keeps an integer exact; anything else is a double by now.
    if !matches!(args[0], Val::Int(_)) && significant_digits(x) > MAX_EXACT_DIGITS {
        return Err(format!(
            "Offcloud's Data API does not support DECIMAL values of more than {MAX_EXACT_DIGITS} significant digits, as in column '{col}' (it computes them as 64-bit floats)"
        ));
    }
    Ok(Val::Int(1))
}

/// `/` inside INSERT and UPDATE, where MySQL's strict mode (with ERROR_FOR_DIVISION_BY_ZERO) refuses a division
/// by zero (1365); a SELECT gives NULL instead.
fn divide_strict(args: &[Val]) -> Result<Val, String> {
    let number = |v: &Val| match v {
        Val::Null => None,
        Val::Int(n) => Some(*n as f64),
        Val::Real(r) => Some(*r),
        Val::Text(t) => Some(t.trim().parse().unwrap_or(0.0)),
        Val::Blob(_) => Some(0.0),
    };
    match (number(&args[0]), number(&args[1])) {
        (Some(_), Some(0.0)) => Err("Division by 0".into()),
        (Some(n), Some(d)) => Ok(Val::Real(n / d)),
        _ => Ok(Val::Null),
    }
}

fn column(args: &[Val]) -> &str {
    match args.get(1) {
        Some(Val::Text(c)) => c,
        _ => "?",
    }
}

fn bound(args: &[Val], i: usize) -> i64 {
    match args.get(i) {
        Some(Val::Int(n)) => *n,
        _ => 0,
    }
}

/// `offcloud_check_int(value, column, low, high)`: an integer column's value. Text that is not a number is
/// "Incorrect integer value" (1366), text with a number before other characters "Data truncated" (1265), and a
/// number outside the type's range "Out of range value" (1264).
fn check_int(args: &[Val]) -> Result<Val, String> {
    let col = column(args);
    let (lo, hi) = (bound(args, 2), bound(args, 3));
    let out_of_range = || Err(format!("Out of range value for column '{col}' at row 1"));
    match &args[0] {
        Val::Null | Val::Blob(_) => Ok(Val::Int(1)),
        // SQLite's integers are signed; a BIGINT UNSIGNED (bounds 0 and i64::MAX here) cannot hold the top half.
        Val::Real(r) if lo == 0 && hi == i64::MAX && *r > hi as f64 && *r <= u64::MAX as f64 => {
            Err(format!(
                "Offcloud's Data API does not support BIGINT UNSIGNED values above {hi} in column '{col}' (SQLite's integers are signed 64-bit)"
            ))
        }
        Val::Int(n) if *n < lo || *n > hi => out_of_range(),
        Val::Int(_) => Ok(Val::Int(1)),
        Val::Real(r) if r.round() < lo as f64 || r.round() > hi as f64 => out_of_range(),
        Val::Real(_) => Ok(Val::Int(1)),
        Val::Text(t) => {
            let trimmed = t.trim();
            let numeric_prefix = trimmed
                .trim_start_matches(['+', '-'])
                .starts_with(|c: char| c.is_ascii_digit() || c == '.');
            if trimmed.is_empty() || !numeric_prefix {
                Err(format!(
                    "Incorrect integer value: '{t}' for column '{col}' at row 1"
                ))
            } else {
                Err(format!("Data truncated for column '{col}' at row 1"))
            }
        }
    }
}

fn valid_date(s: &str) -> bool {
    // MySQL's NO_ZERO_DATE and NO_ZERO_IN_DATE make a zero year, month or day invalid too; chrono agrees.
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// A TIME (hours up to 838) or, with `max_hours` 23, the time of day of a DATETIME.
fn valid_time(s: &str, max_hours: u32) -> bool {
    let s = s.trim_start_matches('-');
    let (hms, fraction) = s.split_once('.').unwrap_or((s, "0"));
    let parts: Vec<&str> = hms.split(':').collect();
    let number = |p: &str| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && parts[0].parse::<u32>().is_ok_and(|h| h <= max_hours)
        && parts[1].parse::<u32>().is_ok_and(|m| m < 60)
        && parts[2].parse::<u32>().is_ok_and(|s| s < 60)
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `offcloud_check_temporal(value, column, kind)`, `kind` being `date`, `datetime` or `time`: a value MySQL can
/// read as one, else "Incorrect date value" and its kin (1292).
fn check_temporal(args: &[Val]) -> Result<Val, String> {
    let col = column(args);
    let kind = match args.get(2) {
        Some(Val::Text(k)) => k.as_str(),
        _ => "date",
    };
    let text = match &args[0] {
        Val::Null => return Ok(Val::Int(1)),
        Val::Text(t) => t.clone(),
        Val::Int(n) => n.to_string(),
        Val::Real(r) => r.to_string(),
        Val::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    };
    let ok = match kind {
        "time" => valid_time(&text, 838),
        _ => {
            let (date, time) = text.split_once([' ', 'T']).unwrap_or((&text, ""));
            valid_date(date) && (time.is_empty() || valid_time(time, 23))
        }
    };
    if ok {
        Ok(Val::Int(1))
    } else {
        Err(format!(
            "Incorrect {kind} value: '{text}' for column '{col}' at row 1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: Val) -> Result<Val, String> {
        check_int(&[v, Val::Text("n".into()), Val::Int(-128), Val::Int(127)])
    }

    fn temporal(v: &str, kind: &str) -> Result<Val, String> {
        check_temporal(&[
            Val::Text(v.into()),
            Val::Text("d".into()),
            Val::Text(kind.into()),
        ])
    }

    #[test]
    fn the_top_half_of_bigint_unsigned_is_refused_by_name() {
        let unsigned =
            |v: Val| check_int(&[v, Val::Text("n".into()), Val::Int(0), Val::Int(i64::MAX)]);
        assert_eq!(unsigned(Val::Int(i64::MAX)), Ok(Val::Int(1)));
        assert_eq!(
            unsigned(Val::Real(18446744073709551615.0)).unwrap_err(),
            "Offcloud's Data API does not support BIGINT UNSIGNED values above 9223372036854775807 in column 'n' (SQLite's integers are signed 64-bit)"
        );
        assert_eq!(
            unsigned(Val::Real(2e19)).unwrap_err(),
            "Out of range value for column 'n' at row 1"
        );
    }

    #[test]
    fn integers_as_strict_mode_takes_them() {
        assert_eq!(int(Val::Int(127)), Ok(Val::Int(1)));
        assert_eq!(int(Val::Null), Ok(Val::Int(1)));
        assert_eq!(
            int(Val::Int(300)).unwrap_err(),
            "Out of range value for column 'n' at row 1"
        );
        assert_eq!(
            int(Val::Text("abc".into())).unwrap_err(),
            "Incorrect integer value: 'abc' for column 'n' at row 1"
        );
        assert_eq!(
            int(Val::Text(String::new())).unwrap_err(),
            "Incorrect integer value: '' for column 'n' at row 1"
        );
        assert_eq!(
            int(Val::Text("12abc".into())).unwrap_err(),
            "Data truncated for column 'n' at row 1"
        );
        assert_eq!(int(Val::Real(126.6)), Ok(Val::Int(1)));
        assert!(int(Val::Real(127.5)).is_err());
    }

    #[test]
    fn decimals_and_divisions_as_strict_mode_takes_them() {
        let d = |v: Val| check_decimal(&[v, Val::Text("d".into()), Val::Int(5), Val::Int(2)]);
        assert_eq!(d(Val::Real(999.994)), Ok(Val::Int(1)));
        assert_eq!(
            d(Val::Real(999.995)).unwrap_err(),
            "Out of range value for column 'd' at row 1"
        );
        assert_eq!(
            d(Val::Int(-1000)).unwrap_err(),
            "Out of range value for column 'd' at row 1"
        );
        assert_eq!(
            d(Val::Text("x".into())).unwrap_err(),
            "Incorrect decimal value: 'x' for column 'd' at row 1"
        );
        let wide = |v: Val| check_decimal(&[v, Val::Text("w".into()), Val::Int(30), Val::Int(4)]);
        assert_eq!(wide(Val::Real(123456789012345.0)), Ok(Val::Int(1)));
        assert_eq!(wide(Val::Int(i64::MAX)), Ok(Val::Int(1)));
        assert_eq!(
            wide(Val::Real(12345678901234567890.1234)).unwrap_err(),
            "Offcloud's Data API does not support DECIMAL values of more than 15 significant digits, as in column 'w' (it computes them as 64-bit floats)"
        );
        assert_eq!(
            divide_strict(&[Val::Int(1), Val::Int(0)]).unwrap_err(),
            "Division by 0"
        );
        assert_eq!(
            divide_strict(&[Val::Int(1), Val::Int(4)]),
            Ok(Val::Real(0.25))
        );
        assert_eq!(divide_strict(&[Val::Null, Val::Int(0)]), Ok(Val::Null));
    }

    #[test]
    fn dates_and_times_as_strict_mode_takes_them() {
        assert_eq!(temporal("2024-02-29", "date"), Ok(Val::Int(1)));
        assert_eq!(temporal("2024-01-02 03:04:05", "date"), Ok(Val::Int(1)));
        assert_eq!(
            temporal("2024-01-02 03:04:05.678", "datetime"),
            Ok(Val::Int(1))
        );
        assert_eq!(temporal("838:59:59", "time"), Ok(Val::Int(1)));
        assert_eq!(
            temporal("2024-02-30", "date").unwrap_err(),
            "Incorrect date value: '2024-02-30' for column 'd' at row 1"
        );
        assert_eq!(
            temporal("0000-00-00", "date").unwrap_err(),
            "Incorrect date value: '0000-00-00' for column 'd' at row 1"
        );
        assert_eq!(
            temporal("2024-01-02 25:00:00", "datetime").unwrap_err(),
            "Incorrect datetime value: '2024-01-02 25:00:00' for column 'd' at row 1"
        );
        assert!(temporal("12:60:00", "time").is_err());
    }
}
