//! Numeric and comparison functions: https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html and
//! https://dev.mysql.com/doc/refman/5.7/en/comparison-operators.html

use super::collation::collate;
use super::{Num, Val, int, num, param_count, real, text};

/// FLOOR(X): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_floor
/// An integer stays an integer; a double (and a string, which MySQL reads as a double) gives a double.
pub(super) fn floor(a: &[Val]) -> Result<Val, String> {
    Ok(match num(&a[0]) {
        None => Val::Null,
        Some(Num::Int(n)) => Val::Int(n),
        Some(Num::Real(x)) => Val::Real(x.floor()),
    })
}

/// CEIL(X), CEILING(X): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_ceil
pub(super) fn ceil(a: &[Val]) -> Result<Val, String> {
    Ok(match num(&a[0]) {
        None => Val::Null,
        Some(Num::Int(n)) => Val::Int(n),
        Some(Num::Real(x)) => Val::Real(x.ceil()),
    })
}

/// `CAST(x AS UNSIGNED)` of a value already rounded to an integer: a negative one wraps around 2^64, as MySQL's
/// BIGINT UNSIGNED arithmetic does, and one past SQLite's integers is given as its digits.
/// Source: https://dev.mysql.com/doc/refman/5.7/en/cast-functions.html#function_cast
pub(super) fn cast_unsigned(a: &[Val]) -> Result<Val, String> {
    Ok(match num(&a[0]) {
        None => Val::Null,
        Some(Num::Int(n)) if n >= 0 => Val::Int(n),
        Some(Num::Int(n)) => Val::Text((n as u64).to_string()),
        Some(Num::Real(x)) if x < 0.0 => Val::Text(((x as i64) as u64).to_string()),
        Some(Num::Real(x)) if x > u64::MAX as f64 => Val::Text(u64::MAX.to_string()),
        Some(Num::Real(x)) if x > i64::MAX as f64 => Val::Text((x as u64).to_string()),
        Some(Num::Real(x)) => Val::Int(x as i64),
    })
}

/// `offcloud_exact(x)`: the result of arithmetic, compared: a double is rounded to the 15 significant digits it
/// holds exactly, so that DECIMAL arithmetic compares as MySQL's exact arithmetic does (`0.1 + 0.2 = 0.3` is true).
/// FIXME: MySQL compares DOUBLE arithmetic without rounding, so `d1 + d2 = 0.3` of DOUBLE columns holding 0.1 and
/// 0.2 is false there and true here.
pub(super) fn exact(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Real(x) if x.is_finite() => Val::Real(format!("{x:.14e}").parse().unwrap_or(*x)),
        v => v.clone(),
    })
}

/// `offcloud_bigint(x, shown)`: BIGINT arithmetic's result `x`, which SQLite makes a double past BIGINT's range,
/// where MySQL fails with ER_DATA_OUT_OF_RANGE (1690), showing the expression.
pub(super) fn bigint(a: &[Val]) -> Result<Val, String> {
    match &a[0] {
        Val::Real(_) => Err(format!(
            "BIGINT value is out of range in '{}'",
            text(&a[1]).unwrap_or_default()
        )),
        v => Ok(v.clone()),
    }
}

/// `offcloud_decimal_text(x, scale)`: a DECIMAL value as text at its scale, as MySQL writes it into a string.
pub(super) fn decimal_text(a: &[Val]) -> Result<Val, String> {
    let scale = int(&a[1]).unwrap_or(0).clamp(0, 30) as usize;
    Ok(match round(&[a[0].clone(), Val::Int(scale as i64)])? {
        Val::Int(n) if scale == 0 => Val::Text(n.to_string()),
        Val::Int(n) => Val::Text(format!("{n}.{}", "0".repeat(scale))),
        Val::Real(x) => Val::Text(format!("{x:.scale$}")),
        other => other,
    })
}

/// MOD(N,M): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_mod
/// The remainder takes the dividend's sign; a zero divisor gives NULL.
pub(super) fn modulo(a: &[Val]) -> Result<Val, String> {
    Ok(match (num(&a[0]), num(&a[1])) {
        (Some(Num::Int(_)), Some(Num::Int(0))) => Val::Null,
        (Some(Num::Int(n)), Some(Num::Int(m))) => Val::Int(n.checked_rem(m).unwrap_or(0)),
        (Some(_), Some(m)) if m.f64() == 0.0 => Val::Null,
        (Some(n), Some(m)) => Val::Real(n.f64() % m.f64()),
        _ => Val::Null,
    })
}

/// POW(X,Y), POWER(X,Y): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_pow
/// A result that is not a finite double is ER_DATA_OUT_OF_RANGE (1690).
pub(super) fn pow(a: &[Val]) -> Result<Val, String> {
    let (Some(x), Some(y)) = (real(&a[0]), real(&a[1])) else {
        return Ok(Val::Null);
    };
    let r = x.powf(y);
    if r.is_finite() {
        Ok(Val::Real(r))
    } else {
        let show = |v: &Val| match v {
            Val::Text(s) => format!("'{s}'"),
            v => text(v).unwrap_or_default(),
        };
        Err(format!(
            "DOUBLE value is out of range in 'pow({},{})'",
            show(&a[0]),
            show(&a[1])
        ))
    }
}

/// SQRT(X): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_sqrt
pub(super) fn sqrt(a: &[Val]) -> Result<Val, String> {
    Ok(match real(&a[0]) {
        Some(x) if x >= 0.0 => Val::Real(x.sqrt()),
        _ => Val::Null,
    })
}

/// TRUNCATE(X,D): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_truncate
/// A negative D zeroes digits left of the point. Doubles are truncated as `my_double_round()` does.
/// ROUND(x) and ROUND(x, d): half away from zero, on the digits the value was written with (1.005 rounds to 1.01),
/// as MySQL rounds exact values. FIXME: MySQL rounds a DOUBLE by the C library, half to even; a value cannot say
/// here whether it was a DOUBLE or a DECIMAL, so both round as decimals.
pub(super) fn round(a: &[Val]) -> Result<Val, String> {
    let Some(x) = num(&a[0]) else {
        return Ok(Val::Null);
    };
    let d = match a.get(1) {
        None => 0,
        Some(v) => match int(v) {
            Some(d) => d.clamp(-40, 40),
            None => return Ok(Val::Null),
        },
    };
    Ok(match x {
        Num::Int(n) if d >= 0 => Val::Int(n),
        Num::Int(_) if d <= -20 => Val::Int(0),
        Num::Int(n) => {
            let p = 10i128.pow((-d) as u32);
            let n = i128::from(n);
            let r = (n.abs() + p / 2) / p * p * n.signum();
            i64::try_from(r)
                .map(Val::Int)
                .unwrap_or(Val::Real(r as f64))
        }
        Num::Real(x) => {
            // Shift the shortest decimal form by d places, round, and shift back.
            let text = format!("{:e}", x);
            let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
            let exponent: i64 = exponent.parse().unwrap_or(0);
            let shifted: f64 = format!("{mantissa}e{}", exponent + d).parse().unwrap_or(x);
            let rounded = shifted.abs().round().copysign(shifted);
            let back: f64 = format!("{rounded}e{}", -d).parse().unwrap_or(rounded);
            Val::Real(if back == 0.0 { 0.0 } else { back })
        }
    })
}

pub(super) fn truncate(a: &[Val]) -> Result<Val, String> {
    let (Some(x), Some(d)) = (num(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    Ok(match x {
        Num::Int(n) => {
            if d >= 0 {
                Val::Int(n)
            } else if d <= -19 {
                Val::Int(0)
            } else {
                let p = 10i64.pow((-d) as u32);
                Val::Int(n / p * p)
            }
        }
        Num::Real(x) => {
            let d = d.clamp(-400, 400) as i32;
            let tmp = 10f64.powi(d.abs());
            let r = if d >= 0 {
                let m = x * tmp;
                if !m.is_finite() {
                    x
                } else {
                    (if m >= 0.0 { m.floor() } else { m.ceil() }) / tmp
                }
            } else {
                let m = x / tmp;
                (if m >= 0.0 { m.floor() } else { m.ceil() }) * tmp
            };
            Val::Real(if r.is_finite() { r } else { 0.0 })
        }
    })
}

/// SIGN(X): https://dev.mysql.com/doc/refman/5.7/en/mathematical-functions.html#function_sign
pub(super) fn sign(a: &[Val]) -> Result<Val, String> {
    Ok(match num(&a[0]) {
        None => Val::Null,
        Some(Num::Int(n)) => Val::Int(n.signum()),
        Some(Num::Real(x)) => Val::Int(if x > 0.0 {
            1
        } else if x < 0.0 {
            -1
        } else {
            0
        }),
    })
}

/// GREATEST() and LEAST(): https://dev.mysql.com/doc/refman/5.7/en/comparison-operators.html#function_greatest
/// Any NULL gives NULL. All integers compare as integers; all strings compare under the collation and the
/// winner is returned as it was; otherwise (numbers with doubles or with strings) they compare as doubles and
/// the result is a double.
fn min_max(name: &str, a: &[Val], want: std::cmp::Ordering) -> Result<Val, String> {
    if a.len() < 2 {
        return Err(param_count(name));
    }
    if a.contains(&Val::Null) {
        return Ok(Val::Null);
    }
    let is_str = |v: &Val| matches!(v, Val::Text(_) | Val::Blob(_));
    if a.iter().all(|v| matches!(v, Val::Int(_))) {
        let ints = a
            .iter()
            .filter_map(|v| if let Val::Int(n) = v { Some(*n) } else { None });
        let best = ints.reduce(|b, n| if n.cmp(&b) == want { n } else { b });
        return Ok(best.map_or(Val::Null, Val::Int));
    }
    if a.iter().all(is_str) {
        let binary = a.iter().any(|v| matches!(v, Val::Blob(_)));
        let mut best = &a[0];
        for v in &a[1..] {
            let (x, y) = (text(v).unwrap_or_default(), text(best).unwrap_or_default());
            let o = if binary {
                x.as_bytes().cmp(y.as_bytes())
            } else {
                collate(&x, &y)
            };
            if o == want {
                best = v;
            }
        }
        return Ok(best.clone());
    }
    let reals = a.iter().filter_map(real);
    let best = reals.reduce(|b, x| {
        if x.partial_cmp(&b) == Some(want) {
            x
        } else {
            b
        }
    });
    Ok(best.map_or(Val::Null, Val::Real))
}

pub(super) fn greatest(a: &[Val]) -> Result<Val, String> {
    min_max("greatest", a, std::cmp::Ordering::Greater)
}

/// LEAST(): https://dev.mysql.com/doc/refman/5.7/en/comparison-operators.html#function_least
pub(super) fn least(a: &[Val]) -> Result<Val, String> {
    min_max("least", a, std::cmp::Ordering::Less)
}

/// STRCMP(expr1,expr2): https://dev.mysql.com/doc/refman/5.7/en/string-comparison-functions.html#function_strcmp
pub(super) fn strcmp(a: &[Val]) -> Result<Val, String> {
    let (Some(x), Some(y)) = (text(&a[0]), text(&a[1])) else {
        return Ok(Val::Null);
    };
    let binary = matches!(a[0], Val::Blob(_)) || matches!(a[1], Val::Blob(_));
    let o = if binary {
        x.as_bytes().cmp(y.as_bytes())
    } else {
        collate(&x, &y)
    };
    Ok(Val::Int(o as i64))
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::testing::{N, check, fails, i, r, t};

    #[test]
    fn bigint_overflow_and_decimal_text() {
        use super::{Val, bigint, decimal_text};
        assert_eq!(
            bigint(&[Val::Int(7), Val::Text("a + 1".into())]),
            Ok(Val::Int(7))
        );
        assert_eq!(
            bigint(&[Val::Real(9.3e18), Val::Text("`db`.`t`.`n` + 1".into())]).unwrap_err(),
            "BIGINT value is out of range in '`db`.`t`.`n` + 1'"
        );
        let d = |v: Val, s: i64| decimal_text(&[v, Val::Int(s)]).unwrap();
        assert_eq!(d(Val::Real(3.5), 2), Val::Text("3.50".into()));
        assert_eq!(d(Val::Real(1.005), 2), Val::Text("1.01".into()));
        assert_eq!(d(Val::Int(4), 2), Val::Text("4.00".into()));
        assert_eq!(d(Val::Int(4), 0), Val::Text("4".into()));
        assert_eq!(d(Val::Null, 2), Val::Null);
    }

    #[test]
    fn arithmetic_compares_on_the_digits_a_double_holds() {
        use super::{Val, exact};
        assert_eq!(exact(&[Val::Real(0.1 + 0.2)]), exact(&[Val::Real(0.3)]));
        assert_eq!(exact(&[Val::Real(0.3)]), Ok(Val::Real(0.3)));
        assert_eq!(exact(&[Val::Int(7)]), Ok(Val::Int(7)));
        assert_ne!(
            exact(&[Val::Real(0.3)]),
            exact(&[Val::Real(0.30000000000001)])
        );
    }

    #[test]
    fn floor_and_ceil() {
        check!("floor", [i(5)] => i(5));
        check!("floor", [r(-1.5)] => r(-2.0));
        check!("floor", [r(1.23)] => r(1.0));
        check!("floor", [t("3.7abc")] => r(3.0));
        check!("floor", [N] => N);
        check!("ceil", [r(1.23)] => r(2.0));
        check!("ceil", [r(-1.23)] => r(-1.0));
        check!("ceil", [i(-7)] => i(-7));
        check!("ceil", [N] => N);
        check!("ceiling", [r(0.1)] => r(1.0));
        check!("ceiling", [t("x")] => r(0.0));
        check!("ceiling", [N] => N);
    }

    #[test]
    fn modulo() {
        check!("mod", [i(234), i(10)] => i(4));
        check!("mod", [i(-34), i(10)] => i(-4));
        check!("mod", [i(34), i(-10)] => i(4));
        check!("mod", [r(10.5), i(3)] => r(1.5));
        check!("mod", [i(10), i(0)] => N);
        check!("mod", [r(10.5), r(0.0)] => N);
        check!("mod", [N, i(3)] => N);
        check!("mod", [t("7"), i(4)] => r(3.0));
        check!("mod", [i(i64::MIN), i(-1)] => i(0));
    }

    #[test]
    fn pow_and_sqrt() {
        check!("pow", [i(2), i(2)] => r(4.0));
        check!("pow", [i(2), i(-2)] => r(0.25));
        check!("power", [r(4.0), r(0.5)] => r(2.0));
        check!("power", [N, i(2)] => N);
        check!("pow", [i(2), N] => N);
        fails!("pow", [i(2), i(10000)] => "DOUBLE value is out of range in 'pow(2,10000)'");
        check!("sqrt", [i(4)] => r(2.0));
        check!("sqrt", [i(-16)] => N);
        check!("sqrt", [N] => N);
        check!("sqrt", [t("2.25")] => r(1.5));
    }

    #[test]
    fn truncate() {
        check!("truncate", [r(1.223), i(1)] => r(1.2));
        check!("truncate", [r(1.999), i(0)] => r(1.0));
        check!("truncate", [r(-1.999), i(1)] => r(-1.9));
        check!("truncate", [r(1234.5678), i(-2)] => r(1200.0));
        check!("truncate", [i(122), i(-2)] => i(100));
        check!("truncate", [i(-1299), i(-2)] => i(-1200));
        check!("truncate", [i(7), i(2)] => i(7));
        check!("truncate", [N, i(1)] => N);
        check!("truncate", [r(1.5), N] => N);
    }

    #[test]
    fn sign() {
        check!("sign", [i(-32)] => i(-1));
        check!("sign", [i(0)] => i(0));
        check!("sign", [r(234.0)] => i(1));
        check!("sign", [t("-0.5")] => i(-1));
        check!("sign", [N] => N);
    }

    #[test]
    fn greatest_and_least() {
        check!("greatest", [i(2), i(0)] => i(2));
        check!("greatest", [r(34.0), r(3.0), r(5.0), r(767.0)] => r(767.0));
        check!("greatest", [t("B"), t("A"), t("C")] => t("C"));
        check!("greatest", [t("b"), t("A")] => t("b"));
        check!("greatest", [t("a"), t("B")] => t("B"));
        check!("greatest", [i(1), r(2.5)] => r(2.5));
        check!("greatest", [i(1), N, i(3)] => N);
        check!("greatest", [t("10"), i(9)] => r(10.0));
        fails!("greatest", [i(1)] => "Incorrect parameter count in the call to native function 'greatest'");
        check!("least", [i(2), i(0)] => i(0));
        check!("least", [r(34.0), r(3.0), r(5.0), r(767.0)] => r(3.0));
        check!("least", [t("B"), t("A"), t("C")] => t("A"));
        check!("least", [t("apple"), t("Apple")] => t("apple"));
        check!("least", [N, i(1)] => N);
        check!("least", [i(3), r(2.5), i(1)] => r(1.0));
    }

    #[test]
    fn strcmp() {
        check!("strcmp", [t("text"), t("text2")] => i(-1));
        check!("strcmp", [t("text2"), t("text")] => i(1));
        check!("strcmp", [t("text"), t("TEXT")] => i(0));
        check!("strcmp", [t("a "), t("a")] => i(0));
        check!("strcmp", [t("résumé"), t("RESUME")] => i(0));
        check!("strcmp", [t("straße"), t("strase")] => i(0));
        check!("strcmp", [N, t("a")] => N);
        check!("strcmp", [i(10), t("9")] => i(-1));
    }
}

#[cfg(test)]
mod round_tests {
    use super::*;

    #[test]
    fn round_is_half_away_from_zero_on_written_digits() {
        let r = |a: &[Val]| round(a).unwrap();
        assert_eq!(r(&[Val::Real(1.005), Val::Int(2)]), Val::Real(1.01));
        assert_eq!(r(&[Val::Real(2.5)]), Val::Real(3.0));
        assert_eq!(r(&[Val::Real(-2.5)]), Val::Real(-3.0));
        assert_eq!(r(&[Val::Real(1.45), Val::Int(1)]), Val::Real(1.5));
        assert_eq!(r(&[Val::Real(1234.5678), Val::Int(-2)]), Val::Real(1200.0));
        assert_eq!(r(&[Val::Int(1250), Val::Int(-2)]), Val::Int(1300));
        assert_eq!(r(&[Val::Int(-1250), Val::Int(-2)]), Val::Int(-1300));
        assert_eq!(r(&[Val::Null, Val::Int(1)]), Val::Null);
        assert_eq!(r(&[Val::Real(-0.4)]), Val::Real(0.0));
    }
}
