//! String functions: https://dev.mysql.com/doc/refman/5.7/en/string-functions.html
//! Positions and lengths count characters. Binary strings (BLOBs) are read as UTF-8 text.

use super::collation::{lower_char, upper_char, weight};
use super::{MAX_ALLOWED_PACKET, Val, int, param_count, text};

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// A string result, or NULL past `max_allowed_packet`.
fn sized(s: String) -> Val {
    if s.len() > MAX_ALLOWED_PACKET {
        Val::Null
    } else {
        Val::Text(s)
    }
}

/// LEFT(str,len): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_left
pub(super) fn left(a: &[Val]) -> Result<Val, String> {
    let (Some(s), Some(n)) = (text(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    let n = n.max(0) as usize;
    Ok(Val::Text(s.chars().take(n).collect()))
}

/// RIGHT(str,len): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_right
pub(super) fn right(a: &[Val]) -> Result<Val, String> {
    let (Some(s), Some(n)) = (text(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    let c = chars(&s);
    let n = (n.max(0) as usize).min(c.len());
    Ok(Val::Text(c[c.len() - n..].iter().collect()))
}

/// LPAD and RPAD: a negative length, or padding needed from an empty pad string, gives NULL; a string longer
/// than the length is cut to it.
fn pad(a: &[Val], on_left: bool) -> Result<Val, String> {
    let (Some(s), Some(n), Some(p)) = (text(&a[0]), int(&a[1]), text(&a[2])) else {
        return Ok(Val::Null);
    };
    if n < 0 || n as u64 > MAX_ALLOWED_PACKET as u64 {
        return Ok(Val::Null);
    }
    let n = n as usize;
    let c = chars(&s);
    if n <= c.len() {
        return Ok(Val::Text(c[..n].iter().collect()));
    }
    if p.is_empty() {
        return Ok(Val::Null);
    }
    let fill: String = p.chars().cycle().take(n - c.len()).collect();
    Ok(sized(if on_left { fill + &s } else { s + &fill }))
}

/// LPAD(str,len,padstr): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_lpad
pub(super) fn lpad(a: &[Val]) -> Result<Val, String> {
    pad(a, true)
}

/// RPAD(str,len,padstr): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_rpad
pub(super) fn rpad(a: &[Val]) -> Result<Val, String> {
    pad(a, false)
}

/// REVERSE(str): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_reverse
#[cfg(test)]
#[test]
fn hex_is_mysql_s() {
    assert_eq!(hex(&[Val::Int(255)]), Ok(Val::Text("FF".into())));
    assert_eq!(
        hex(&[Val::Text("abc".into())]),
        Ok(Val::Text("616263".into()))
    );
    assert_eq!(
        hex(&[Val::Blob(vec![0, 255])]),
        Ok(Val::Text("00FF".into()))
    );
    assert_eq!(
        hex(&[Val::Int(-1)]),
        Ok(Val::Text("FFFFFFFFFFFFFFFF".into()))
    );
    assert_eq!(hex(&[Val::Null]), Ok(Val::Null));
}

pub(super) fn reverse(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Blob(b) => Val::Blob(b.iter().rev().copied().collect()),
        v => text(v).map_or(Val::Null, |s| Val::Text(s.chars().rev().collect())),
    })
}

/// HEX(x): a number's value in hexadecimal (rounded first, as a 64-bit two's complement when negative), and a
/// string's or blob's bytes as upper-case hexadecimal pairs.
pub(super) fn hex(a: &[Val]) -> Result<Val, String> {
    let bytes = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    Ok(match &a[0] {
        Val::Null => Val::Null,
        Val::Int(n) => Val::Text(format!("{:X}", *n as u64)),
        Val::Real(r) => Val::Text(format!("{:X}", r.round() as i64 as u64)),
        Val::Text(s) => Val::Text(bytes(s.as_bytes())),
        Val::Blob(b) => Val::Text(bytes(b)),
    })
}

/// The 1-based position of `needle` in `hay` from 0-based character `start`, or 0, compared under the collation
/// (or bytewise when either is binary).
fn position(hay: &Val, needle: &Val, start: Option<i64>) -> Option<i64> {
    let binary = matches!(hay, Val::Blob(_)) || matches!(needle, Val::Blob(_));
    let fold = |s: String| -> Vec<char> {
        if binary {
            s.chars().collect()
        } else {
            s.chars().map(weight).collect()
        }
    };
    let h = fold(text(hay)?);
    let n = fold(text(needle)?);
    let start = match start {
        None => 0,
        Some(s) if s < 1 || s - 1 > h.len() as i64 => return Some(0),
        Some(s) => (s - 1) as usize,
    };
    if start + n.len() > h.len() {
        return Some(0);
    }
    if n.is_empty() {
        return Some(start as i64 + 1);
    }
    let found = (start..=h.len() - n.len()).find(|&i| h[i..i + n.len()] == n[..]);
    Some(found.map_or(0, |i| i as i64 + 1))
}

/// LOCATE(substr,str), LOCATE(substr,str,pos): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_locate
pub(super) fn locate(a: &[Val]) -> Result<Val, String> {
    let start = match a.get(2) {
        None => None,
        Some(v) => match int(v) {
            None => return Ok(Val::Null),
            s => s,
        },
    };
    Ok(position(&a[1], &a[0], start).map_or(Val::Null, Val::Int))
}

/// INSTR(str,substr): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_instr
pub(super) fn instr(a: &[Val]) -> Result<Val, String> {
    Ok(position(&a[0], &a[1], None).map_or(Val::Null, Val::Int))
}

/// LOWER(str), LCASE(str): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_lower
/// Binary strings are left as they are, as MySQL does.
pub(super) fn lower(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Blob(b) => Val::Blob(b.clone()),
        v => text(v).map_or(Val::Null, |s| {
            Val::Text(s.chars().map(lower_char).collect())
        }),
    })
}

/// UPPER(str), UCASE(str): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_upper
pub(super) fn upper(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Blob(b) => Val::Blob(b.clone()),
        v => text(v).map_or(Val::Null, |s| {
            Val::Text(s.chars().map(upper_char).collect())
        }),
    })
}

/// SUBSTRING(str,pos), SUBSTRING(str,pos,len), SUBSTR, MID:
/// https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_substring
/// Position 0 gives ''; a negative position counts from the end; a length below 1 gives ''.
pub(super) fn substring(a: &[Val]) -> Result<Val, String> {
    let (Some(s), Some(pos)) = (text(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    let len = match a.get(2) {
        None => i64::MAX,
        Some(v) => match int(v) {
            None => return Ok(Val::Null),
            Some(l) => l,
        },
    };
    let c = chars(&s);
    let n = c.len() as i64;
    if len < 1 || pos == 0 || pos > n || pos < -n {
        return Ok(Val::Text(String::new()));
    }
    let start = if pos > 0 { pos - 1 } else { n + pos };
    let end = start.saturating_add(len).min(n);
    Ok(Val::Text(c[start as usize..end as usize].iter().collect()))
}

/// CHAR_LENGTH(str): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_char-length
/// A binary string's characters are its bytes.
pub(super) fn char_length(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Blob(b) => Val::Int(b.len() as i64),
        v => text(v).map_or(Val::Null, |s| Val::Int(s.chars().count() as i64)),
    })
}

/// LENGTH(str): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_length (bytes, in UTF-8).
pub(super) fn length(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Blob(b) => Val::Int(b.len() as i64),
        v => text(v).map_or(Val::Null, |s| Val::Int(s.len() as i64)),
    })
}

/// The arguments' bytes joined, as a BLOB when any argument is binary (as MySQL's result is then binary).
fn joined(parts: Vec<&Val>, sep: Option<&Val>) -> Val {
    let bytes = |v: &Val| match v {
        Val::Blob(b) => b.clone(),
        v => text(v).unwrap_or_default().into_bytes(),
    };
    let binary =
        parts.iter().any(|v| matches!(v, Val::Blob(_))) || matches!(sep, Some(Val::Blob(_)));
    let sep = sep.map(bytes).unwrap_or_default();
    let mut out = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&sep);
        }
        out.extend(bytes(p));
    }
    if out.len() > MAX_ALLOWED_PACKET {
        Val::Null
    } else if binary {
        Val::Blob(out)
    } else {
        Val::Text(String::from_utf8_lossy(&out).into_owned())
    }
}

/// CONCAT(str1,str2,...): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_concat
pub(super) fn concat(a: &[Val]) -> Result<Val, String> {
    if a.is_empty() {
        return Err(param_count("concat"));
    }
    if a.contains(&Val::Null) {
        return Ok(Val::Null);
    }
    Ok(joined(a.iter().collect(), None))
}

/// CONCAT_WS(separator,str1,str2,...): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_concat-ws
/// A NULL separator gives NULL; NULL strings are skipped.
pub(super) fn concat_ws(a: &[Val]) -> Result<Val, String> {
    if a.len() < 2 {
        return Err(param_count("concat_ws"));
    }
    if a[0] == Val::Null {
        return Ok(Val::Null);
    }
    Ok(joined(
        a[1..].iter().filter(|v| **v != Val::Null).collect(),
        Some(&a[0]),
    ))
}

/// REPEAT(str,count): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_repeat
pub(super) fn repeat(a: &[Val]) -> Result<Val, String> {
    let (Some(s), Some(n)) = (text(&a[0]), int(&a[1])) else {
        return Ok(Val::Null);
    };
    if n < 1 || s.is_empty() {
        return Ok(Val::Text(String::new()));
    }
    if (n as u128) * (s.len() as u128) > MAX_ALLOWED_PACKET as u128 {
        return Ok(Val::Null);
    }
    Ok(Val::Text(s.repeat(n as usize)))
}

/// SPACE(N): https://dev.mysql.com/doc/refman/5.7/en/string-functions.html#function_space
pub(super) fn space(a: &[Val]) -> Result<Val, String> {
    Ok(match int(&a[0]) {
        None => Val::Null,
        Some(n) if n < 1 => Val::Text(String::new()),
        Some(n) if n as u64 > MAX_ALLOWED_PACKET as u64 => Val::Null,
        Some(n) => Val::Text(" ".repeat(n as usize)),
    })
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::Val;
    use crate::rdsdata::functions::testing::{N, check, fails, i, r, t};

    #[test]
    fn left_and_right() {
        check!("left", [t("foobarbar"), i(5)] => t("fooba"));
        check!("left", [t("abc"), i(0)] => t(""));
        check!("left", [t("abc"), i(-1)] => t(""));
        check!("left", [t("héllo"), i(2)] => t("hé"));
        check!("left", [N, i(1)] => N);
        check!("left", [t("abc"), N] => N);
        check!("right", [t("foobarbar"), i(4)] => t("rbar"));
        check!("right", [t("abc"), i(10)] => t("abc"));
        check!("right", [t("héllo"), i(4)] => t("éllo"));
        check!("right", [t("abc"), i(-2)] => t(""));
        check!("right", [N, i(1)] => N);
        check!("right", [i(12345), i(2)] => t("45"));
    }

    #[test]
    fn lpad_and_rpad() {
        check!("lpad", [t("hi"), i(4), t("??")] => t("??hi"));
        check!("lpad", [t("hello"), i(3), t("*")] => t("hel"));
        check!("lpad", [i(42), i(6), t("xy")] => t("xyxy42"));
        check!("lpad", [t("hi"), i(5), t("")] => N);
        check!("lpad", [t("hi"), i(2), t("")] => t("hi"));
        check!("lpad", [t("hi"), i(-1), t("x")] => N);
        check!("lpad", [N, i(3), t("x")] => N);
        check!("lpad", [t("hi"), i(3), N] => N);
        check!("rpad", [t("hi"), i(5), t("?")] => t("hi???"));
        check!("rpad", [t("hi"), i(1), t("?")] => t("h"));
        check!("rpad", [t("é"), i(3), t("àb")] => t("éàb"));
        check!("rpad", [t("hi"), i(5), t("")] => N);
        check!("rpad", [t("hi"), N, t("x")] => N);
        check!("rpad", [t("x"), i(10_000_000), t("y")] => N);
    }

    #[test]
    fn reverse() {
        check!("reverse", [t("abc")] => t("cba"));
        check!("reverse", [t("héllo")] => t("olléh"));
        check!("reverse", [i(123)] => t("321"));
        check!("reverse", [t("")] => t(""));
        check!("reverse", [N] => N);
    }

    #[test]
    fn locate_and_instr() {
        check!("locate", [t("bar"), t("foobarbar")] => i(4));
        check!("locate", [t("xbar"), t("foobar")] => i(0));
        check!("locate", [t("bar"), t("foobarbar"), i(5)] => i(7));
        check!("locate", [t("BAR"), t("foobar")] => i(4));
        check!("locate", [t(""), t("abc")] => i(1));
        check!("locate", [t(""), t("abc"), i(4)] => i(4));
        check!("locate", [t(""), t("abc"), i(5)] => i(0));
        check!("locate", [t("b"), t("abc"), i(0)] => i(0));
        check!("locate", [t("é"), t("caFÉ")] => i(4));
        check!("locate", [N, t("abc")] => N);
        check!("locate", [t("a"), t("abc"), N] => N);
        check!("instr", [t("foobarbar"), t("bar")] => i(4));
        check!("instr", [t("xbar"), t("foobar")] => i(0));
        check!("instr", [t("FooBar"), t("bar")] => i(4));
        check!("instr", [t("añb"), t("B")] => i(3));
        check!("instr", [N, t("a")] => N);
    }

    #[test]
    fn case_mapping() {
        check!("upper", [t("straße")] => t("STRAßE"));
        check!("upper", [t("hello")] => t("HELLO"));
        check!("upper", [N] => N);
        check!("ucase", [t("àöü")] => t("ÀÖÜ"));
        check!("ucase", [i(12)] => t("12"));
        check!("ucase", [N] => N);
        check!("lower", [t("ÀÖÜ")] => t("àöü"));
        check!("lower", [t("QUADRATICALLY")] => t("quadratically"));
        check!("lower", [N] => N);
        check!("lower", [Val::Blob(b"ABC".to_vec())] => Val::Blob(b"ABC".to_vec()));
        check!("lcase", [t("ABC")] => t("abc"));
        check!("lcase", [r(1.5)] => t("1.5"));
        check!("lcase", [N] => N);
    }

    #[test]
    fn substring() {
        check!("substring", [t("Quadratically"), i(5)] => t("ratically"));
        check!("substring", [t("foobarbar"), i(4)] => t("barbar"));
        check!("substring", [t("Quadratically"), i(5), i(6)] => t("ratica"));
        check!("substring", [t("Sakila"), i(-3)] => t("ila"));
        check!("substring", [t("Sakila"), i(-5), i(3)] => t("aki"));
        check!("substring", [t("Sakila"), i(0)] => t(""));
        check!("substring", [t("Sakila"), i(-7)] => t(""));
        check!("substring", [t("Sakila"), i(2), i(0)] => t(""));
        check!("substring", [t("Sakila"), i(7)] => t(""));
        check!("substring", [N, i(1)] => N);
        check!("substring", [t("abc"), i(1), N] => N);
        check!("substr", [t("héllo"), i(2), i(3)] => t("éll"));
        check!("substr", [t("abc"), i(2)] => t("bc"));
        check!("substr", [t("abc"), i(-1), i(-1)] => t(""));
        check!("mid", [t("abcdef"), i(3), i(2)] => t("cd"));
        check!("mid", [t("abcdef"), i(-2), i(5)] => t("ef"));
        check!("mid", [N, i(1), i(1)] => N);
    }

    #[test]
    fn lengths() {
        check!("char_length", [t("héllo")] => i(5));
        check!("char_length", [t("")] => i(0));
        check!("char_length", [N] => N);
        check!("char_length", [Val::Blob(vec![0xc3, 0xa9])] => i(2));
        check!("length", [t("héllo")] => i(6));
        check!("length", [t("text")] => i(4));
        check!("length", [i(-123)] => i(4));
        check!("length", [N] => N);
    }

    #[test]
    fn concat() {
        check!("concat", [t("My"), t("S"), t("QL")] => t("MySQL"));
        check!("concat", [t("My"), N, t("QL")] => N);
        check!("concat", [i(14), r(3.0)] => t("143"));
        check!("concat", [r(1.5), t("|"), r(1e20)] => t("1.5|1e20"));
        check!("concat", [t("a")] => t("a"));
        fails!("concat", [] => "Incorrect parameter count in the call to native function 'concat'");
        check!("concat_ws", [t(","), t("First name"), t("Second name"), t("Last Name")]
            => t("First name,Second name,Last Name"));
        check!("concat_ws", [t(","), t("First name"), N, t("Last Name")] => t("First name,Last Name"));
        check!("concat_ws", [N, t("a"), t("b")] => N);
        check!("concat_ws", [t("-"), i(1), r(2.5)] => t("1-2.5"));
        check!("concat_ws", [t("-"), N] => t(""));
    }

    #[test]
    fn repeat_and_space() {
        check!("repeat", [t("MySQL"), i(3)] => t("MySQLMySQLMySQL"));
        check!("repeat", [t("ab"), i(0)] => t(""));
        check!("repeat", [t("ab"), i(-1)] => t(""));
        check!("repeat", [N, i(2)] => N);
        check!("repeat", [t("ab"), N] => N);
        check!("repeat", [t("ab"), i(5_000_000)] => N);
        check!("space", [i(3)] => t("   "));
        check!("space", [i(0)] => t(""));
        check!("space", [i(-5)] => t(""));
        check!("space", [N] => N);
    }
}
