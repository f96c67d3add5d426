//! MySQL 5.7's scalar functions, in pure Rust, for the storage module to register with SQLite.
//!
//! Each [`Function`] takes the arguments as SQLite hands them over ([`Val`]) and answers what MySQL 5.7 answers in
//! a `SELECT`: invalid dates and out-of-range results are NULL (MySQL's warning is dropped), and failures that
//! MySQL raises as statement errors are `Err` with MySQL's text.
//!
//! Assumptions, where MySQL's answer depends on the session: the collation is `utf8_general_ci`, the time zone is
//! UTC, `max_allowed_packet` is 4194304 (5.7's default), and `sql_mode` is 5.7's default (with `NO_ZERO_DATE` and
//! `NO_ZERO_IN_DATE`, so dates with a zero part are NULL).
//!
//! SQLite hands over values without MySQL's types, so these functions cannot tell a DECIMAL from a DOUBLE, a
//! boolean from an integer, a DATE column from text, or a JSON value from a string that holds JSON. Where MySQL's
//! answer depends on that, the value is taken as what SQLite's storage class suggests: `Real` is a DOUBLE, `Int` a
//! BIGINT, and `Text` a string.
//!
//! One module per family: `numeric`, `string`, `datetime` and `json`; `collation` is `utf8_general_ci`.
//! This module holds the registry and the conversions between MySQL's types that every family uses.

mod checks;
mod collation;
mod datetime;
mod json;
mod numeric;
mod string;

pub use checks::{CHECKS, MAX_EXACT_DIGITS};
pub use collation::{SQLITE_OVERRIDES, collate, enum_collation, enum_members, enum_order};

/// A SQL value as SQLite hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// One MySQL function: its name as SQLite will know it (lowercase), how many arguments it takes (-1 for any),
/// and its body. An `Err` is the statement's error, with MySQL's exact text.
pub struct Function {
    pub name: &'static str,
    pub args: i32,
    pub call: fn(&[Val]) -> Result<Val, String>,
}

const fn f(name: &'static str, args: i32, call: fn(&[Val]) -> Result<Val, String>) -> Function {
    Function { name, args, call }
}

/// Offcloud's own functions that translated statements call, under these names: they are not MySQL's, so
/// statements cannot call them.
pub const INTERNAL: &[Function] = &[
    f("offcloud_cast_unsigned", 1, numeric::cast_unsigned),
    f("offcloud_json", 1, json::mark),
    f("offcloud_exact", 1, numeric::exact),
    f("offcloud_bigint", 2, numeric::bigint),
    f("offcloud_decimal_text", 2, numeric::decimal_text),
];

/// Every function, once per arity.
pub const FUNCTIONS: &[Function] = &[
    // Numeric.
    f("floor", 1, numeric::floor),
    f("ceil", 1, numeric::ceil),
    f("ceiling", 1, numeric::ceil),
    f("mod", 2, numeric::modulo),
    f("pow", 2, numeric::pow),
    f("power", 2, numeric::pow),
    f("sqrt", 1, numeric::sqrt),
    f("truncate", 2, numeric::truncate),
    f("round", 1, numeric::round),
    f("round", 2, numeric::round),
    f("sign", 1, numeric::sign),
    f("greatest", -1, numeric::greatest),
    f("least", -1, numeric::least),
    f("strcmp", 2, numeric::strcmp),
    // String.
    f("left", 2, string::left),
    f("right", 2, string::right),
    f("lpad", 3, string::lpad),
    f("rpad", 3, string::rpad),
    f("reverse", 1, string::reverse),
    f("hex", 1, string::hex),
    f("locate", 2, string::locate),
    f("locate", 3, string::locate),
    f("instr", 2, string::instr),
    f("lcase", 1, string::lower),
    f("lower", 1, string::lower),
    f("ucase", 1, string::upper),
    f("upper", 1, string::upper),
    f("substring", 2, string::substring),
    f("substring", 3, string::substring),
    f("substr", 2, string::substring),
    f("substr", 3, string::substring),
    f("mid", 3, string::substring),
    f("char_length", 1, string::char_length),
    f("character_length", 1, string::char_length),
    f("length", 1, string::length),
    f("octet_length", 1, string::length),
    f("concat", -1, string::concat),
    f("concat_ws", -1, string::concat_ws),
    f("repeat", 2, string::repeat),
    f("space", 1, string::space),
    // Date and time.
    f("date_format", 2, datetime::date_format),
    f("date_add", 3, datetime::date_add),
    f("adddate", 3, datetime::date_add),
    f("date_sub", 3, datetime::date_sub),
    f("subdate", 3, datetime::date_sub),
    f("datediff", 2, datetime::datediff),
    f("timestampdiff", 3, datetime::timestampdiff),
    f("unix_timestamp", 1, datetime::unix_timestamp),
    f("from_unixtime", 1, datetime::from_unixtime),
    f("from_unixtime", 2, datetime::from_unixtime),
    f("year", 1, datetime::year),
    f("month", 1, datetime::month),
    f("day", 1, datetime::dayofmonth),
    f("dayofmonth", 1, datetime::dayofmonth),
    f("hour", 1, datetime::hour),
    f("minute", 1, datetime::minute),
    f("second", 1, datetime::second),
    f("microsecond", 1, datetime::microsecond),
    f("dayofweek", 1, datetime::dayofweek),
    f("weekday", 1, datetime::weekday),
    f("dayname", 1, datetime::dayname),
    f("monthname", 1, datetime::monthname),
    f("dayofyear", 1, datetime::dayofyear),
    f("quarter", 1, datetime::quarter),
    f("week", 1, datetime::week),
    f("week", 2, datetime::week),
    f("weekofyear", 1, datetime::weekofyear),
    f("yearweek", 1, datetime::yearweek),
    f("yearweek", 2, datetime::yearweek),
    f("last_day", 1, datetime::last_day),
    f("str_to_date", 2, datetime::str_to_date),
    f("date", 1, datetime::date),
    f("time", 1, datetime::time),
    f("makedate", 2, datetime::makedate),
    f("to_days", 1, datetime::to_days),
    // JSON.
    f("json_extract", -1, json::json_extract),
    f("json_unquote", 1, json::json_unquote),
    f("json_object", -1, json::json_object),
    f("json_array", -1, json::json_array),
    f("json_valid", 1, json::json_valid),
    f("json_length", 1, json::json_length),
    f("json_length", 2, json::json_length),
    f("json_keys", 1, json::json_keys),
    f("json_keys", 2, json::json_keys),
    f("json_type", 1, json::json_type),
    f("json_quote", 1, json::json_quote),
];

/// MySQL 5.7's default `max_allowed_packet`: a longer string result is NULL (with a warning in MySQL).
const MAX_ALLOWED_PACKET: usize = 4_194_304;

/// ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT (1582), for the variadic functions SQLite lets through with too few
/// arguments.
fn param_count(name: &str) -> String {
    format!("Incorrect parameter count in the call to native function '{name}'")
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions between MySQL's types, as SQLite's storage classes stand for them.
// ---------------------------------------------------------------------------------------------------------------

/// A number as MySQL computes with it: an integer or a double.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i64),
    Real(f64),
}

impl Num {
    fn f64(self) -> f64 {
        match self {
            Num::Int(n) => n as f64,
            Num::Real(x) => x,
        }
    }
}

/// The longest numeric prefix of `s` as MySQL reads a string in a numeric context (leading spaces, a sign,
/// digits, a fraction and an exponent), and whether it had anything after the integer part. No number is 0.
fn text_prefix(s: &str) -> (f64, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    let mut real = false;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        digits += j - i - 1;
        if j > i + 1 || digits > 0 {
            real = true;
            i = j;
        }
    }
    if digits == 0 {
        return (0.0, false);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            real = true;
            i = j;
        }
    }
    (s[start..i].parse().unwrap_or(0.0), real)
}

/// The argument as a number, or `None` for NULL. Strings are DOUBLE in MySQL's arithmetic.
fn num(v: &Val) -> Option<Num> {
    match v {
        Val::Null => None,
        Val::Int(n) => Some(Num::Int(*n)),
        Val::Real(x) => Some(Num::Real(*x)),
        Val::Text(s) => Some(Num::Real(text_prefix(s).0)),
        Val::Blob(b) => Some(Num::Real(text_prefix(&String::from_utf8_lossy(b)).0)),
    }
}

fn real(v: &Val) -> Option<f64> {
    num(v).map(Num::f64)
}

/// The argument as MySQL's `val_int()` reads it: doubles round half away from zero, strings keep their integer
/// prefix.
fn int(v: &Val) -> Option<i64> {
    match v {
        Val::Null => None,
        Val::Int(n) => Some(*n),
        Val::Real(x) => Some(x.round() as i64),
        Val::Text(s) => Some(int_prefix(s)),
        Val::Blob(b) => Some(int_prefix(&String::from_utf8_lossy(b))),
    }
}

/// The integer prefix of `s` (after spaces and a sign), saturating; 0 when there is none.
fn int_prefix(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for c in rest.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(c - b'0');
        n = n.saturating_mul(10).saturating_add(d);
    }
    if neg { n.saturating_neg() } else { n }
}

/// The argument as a string: numbers as MySQL prints them.
fn text(v: &Val) -> Option<String> {
    match v {
        Val::Null => None,
        Val::Int(n) => Some(n.to_string()),
        Val::Real(x) => Some(fmt_double(*x)),
        Val::Text(s) => Some(s.clone()),
        Val::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

/// A DOUBLE as MySQL prints it (`my_gcvt()` with the widest field, as `String::set_real` calls it): the shortest
/// digits that read back as the same double, in positional notation when the decimal exponent is between -15
/// and 14 (`MAX_DECPT_FOR_F_FORMAT`), otherwise as `1e20`, `1.5e-16`.
pub(super) fn fmt_double(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exp.parse::<i32>().unwrap_or(0) + 1;
    let len = digits.len() as i32;
    let sign = if x < 0.0 { "-" } else { "" };
    if (-14..=15).contains(&decpt) || len > decpt && decpt > 15 {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= len {
            format!("{sign}{digits}{}", "0".repeat((decpt - len) as usize))
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            format!("{sign}{a}.{b}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{sign}{first}{dot}e{}", decpt - 1)
    }
}

/// What the families' unit tests share: value shorthands, and calls through the registry as SQLite makes them.
#[cfg(test)]
mod testing {
    use super::{FUNCTIONS, Val};

    pub(super) use super::Val::Null as N;

    pub(super) fn t(s: &str) -> Val {
        Val::Text(s.into())
    }

    pub(super) fn i(n: i64) -> Val {
        Val::Int(n)
    }

    pub(super) fn r(x: f64) -> Val {
        Val::Real(x)
    }

    /// Calls `name` as SQLite would: the registered function of that name and arity.
    pub(super) fn call(name: &str, args: &[Val]) -> Result<Val, String> {
        let f = FUNCTIONS
            .iter()
            .find(|f| f.name == name && (f.args == -1 || f.args as usize == args.len()))
            .unwrap_or_else(|| panic!("{name}/{} is not registered", args.len()));
        (f.call)(args)
    }

    /// Asserts that `name` answers `want` for the arguments.
    macro_rules! check {
        ($name:literal, [$($arg:expr),*] => $want:expr) => {{
            let args: Vec<$crate::rdsdata::functions::Val> = vec![$($arg),*];
            assert_eq!(
                $crate::rdsdata::functions::testing::call($name, &args),
                Ok($want),
                "{}({:?})",
                $name,
                args
            );
        }};
    }

    /// Asserts that `name` fails with `want` for the arguments.
    macro_rules! fails {
        ($name:literal, [$($arg:expr),*] => $want:expr) => {{
            let args: Vec<$crate::rdsdata::functions::Val> = vec![$($arg),*];
            assert_eq!(
                $crate::rdsdata::functions::testing::call($name, &args),
                Err($want.to_string()),
                "{}({:?})",
                $name,
                args
            );
        }};
    }

    pub(super) use {check, fails};
}

#[cfg(test)]
mod tests {
    use super::collation::LATIN_WEIGHTS;
    use super::testing::{N, i, r, t};
    use super::*;

    #[test]
    fn registry_is_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for f in FUNCTIONS {
            assert_eq!(f.name, f.name.to_lowercase());
            assert!(seen.insert((f.name, f.args)), "{} registered twice", f.name);
        }
        assert_eq!(LATIN_WEIGHTS.chars().count(), 0x180 - 0xC0);
    }

    /// Every function survives odd arguments of every storage class without panicking.
    #[test]
    fn odd_arguments_do_not_panic() {
        let odd = [
            N,
            i(0),
            i(-1),
            i(i64::MIN),
            i(i64::MAX),
            r(f64::NAN),
            r(-1e308),
            r(0.5),
            t(""),
            t("%"),
            t("é%Y%j%r%U%X"),
            t("-"),
            t("$**"),
            t("[{\"a\": [1, 2.5e300]}]"),
            t("9999-12-31 23:59:59.999999"),
            t("1:2"),
            Val::Blob(vec![0xff, 0x00]),
        ];
        for f in FUNCTIONS {
            let n = if f.args < 0 { 3 } else { f.args as usize };
            for a in &odd {
                for b in &odd {
                    let args: Vec<Val> = (0..n)
                        .map(|k| if k % 2 == 0 { a.clone() } else { b.clone() })
                        .collect();
                    let _ = (f.call)(&args);
                }
            }
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(text_prefix("  12abc"), (12.0, false));
        assert_eq!(text_prefix("-1.5e2x"), (-150.0, true));
        assert_eq!(text_prefix("abc"), (0.0, false));
        assert_eq!(text_prefix(".5"), (0.5, true));
        assert_eq!(text_prefix("1e"), (1.0, false));
        assert_eq!(int_prefix(" -42.9"), -42);
        assert_eq!(int(&r(2.5)), Some(3));
        assert_eq!(int(&r(-2.5)), Some(-3));
    }

    #[test]
    fn doubles_print_as_mysql_prints_them() {
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(1e20), "1e20");
        assert_eq!(fmt_double(1e15), "1e15");
        assert_eq!(fmt_double(1e14), "100000000000000");
        assert_eq!(fmt_double(0.0001), "0.0001");
        assert_eq!(fmt_double(1e-15), "0.000000000000001");
        assert_eq!(fmt_double(1e-16), "1e-16");
        assert_eq!(fmt_double(-2.5e-20), "-2.5e-20");
        assert_eq!(fmt_double(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(fmt_double(100.0), "100");
        assert_eq!(fmt_double(123456789012345678.0), "1.2345678901234568e17");
        assert_eq!(fmt_double(1234567890123456.7), "1234567890123456.8");
        assert_eq!(fmt_double(0.0), "0");
    }
}
