//! `utf8_general_ci`: how MySQL compares, upper-cases and lower-cases strings under the default collation.

/// The weights of U+00C0 to U+017F in utf8_general_ci: accented Latin letters sort as their base letter, upper
/// case; letters without a decomposition (Æ, Ð, Ø, Þ, Đ, Ħ, Ł, Œ, Ŧ, ...) as their own upper case.
pub(super) const LATIN_WEIGHTS: &str = concat!(
    "AAAAAAÆCEEEEIIIIÐNOOOOO×ØUUUUYÞS",
    "AAAAAAÆCEEEEIIIIÐNOOOOO÷ØUUUUYÞY",
    "AAAAAACCCCCCCCDDĐĐEEEEEEEEEEGGGGGGGGHHĦĦIIIIIIIIIIĲĲJJKKĸLLLLLLĿĿŁŁNNNNNNŉŊŊOOOOOOŒŒRRRRRRSSSSSSSSTTTTŦŦ",
    "UUUUUUUUUUUUWWYYYZZZZZZS",
);

/// A character's weight in utf8_general_ci: its upper case (where that is one character), accents dropped from
/// Latin letters, and U+FFFD for characters outside the Basic Multilingual Plane.
pub(super) fn weight(c: char) -> char {
    let u = c as u32;
    if u > 0xFFFF {
        return '\u{FFFD}';
    }
    if (0xC0..=0x17F).contains(&u) {
        return LATIN_WEIGHTS.chars().nth((u - 0xC0) as usize).unwrap_or(c);
    }
    upper_char(c)
}

/// `c` in upper case, or `c` itself where its upper case is more than one character (as utf8_general_ci's
/// one-to-one case tables have it).
pub(super) fn upper_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(super) fn lower_char(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Compares two strings under utf8_general_ci, which pads the shorter with spaces.
/// The prefix of an ENUM column's collation, whose name carries the members in order (see [`enum_collation`]).
pub const ENUM_COLLATION: &str = "offcloud_enum:";

/// The collation of an ENUM column with these members: it sorts values by their member's position, as MySQL
/// sorts ENUMs, and compares them as `utf8_general_ci` does. Its name carries the members, each as the hex of
/// its UTF-8 bytes, so that any connection can make it from the name alone (see [`enum_members`]).
/// Source: https://dev.mysql.com/doc/refman/5.7/en/enum.html#enum-sorting
pub fn enum_collation(members: &[String]) -> String {
    let hex: Vec<String> = members
        .iter()
        .map(|m| m.bytes().map(|b| format!("{b:02x}")).collect())
        .collect();
    format!("{ENUM_COLLATION}{}", hex.join(","))
}

/// The members that an ENUM collation's name carries.
pub fn enum_members(collation: &str) -> Option<Vec<String>> {
    let hex = collation.strip_prefix(ENUM_COLLATION)?;
    hex.split(',')
        .map(|m| {
            let bytes = (0..m.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(m.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            String::from_utf8(bytes).ok()
        })
        .collect()
}

/// ENUM order: members by their position, before any other value; other values as `utf8_general_ci` has them.
pub fn enum_order(members: &[String], a: &str, b: &str) -> std::cmp::Ordering {
    let position = |s: &str| {
        members
            .iter()
            .position(|m| collate(m, s) == std::cmp::Ordering::Equal)
    };
    match (position(a), position(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => collate(a, b),
    }
}

pub fn collate(a: &str, b: &str) -> std::cmp::Ordering {
    // Most keys are ASCII: compare their upper case, without the trailing spaces the padding makes equal.
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.trim_end_matches(' '), b.trim_end_matches(' '));
        let mut x = a.bytes().map(|c| c.to_ascii_uppercase());
        let mut y = b.bytes().map(|c| c.to_ascii_uppercase());
        loop {
            return match (x.next(), y.next()) {
                (None, None) => std::cmp::Ordering::Equal,
                // What is left of the longer string is compared with the padding's spaces.
                (Some(c), None) => c.cmp(&b' '),
                (None, Some(c)) => b' '.cmp(&c),
                (Some(c), Some(d)) if c == d => continue,
                (Some(c), Some(d)) => c.cmp(&d),
            };
        }
    }
    let mut a = a.chars().map(weight);
    let mut b = b.chars().map(weight);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (x, y) => {
                let o = x.unwrap_or(' ').cmp(&y.unwrap_or(' '));
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

/// MySQL's `LIKE` under utf8_general_ci: `%` and `_` are wildcards, `escape` (a backslash by default) takes the
/// next character literally, characters compare by weight, and trailing spaces count (LIKE does not pad).
pub fn like(pattern: &str, text: &str, escape: char) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            c if c == escape => P::Char(weight(chars.next().unwrap_or(escape))),
            '%' => P::Any,
            '_' => P::One,
            c => P::Char(weight(c)),
        });
    }
    let text: Vec<char> = text.chars().map(weight).collect();
    // Matching with backtracking to the last `%`, linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(P::One) => {
                p += 1;
                t += 1;
            }
            Some(P::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|x| *x == P::Any)
}

fn like_call(args: &[super::Val]) -> Result<super::Val, String> {
    use super::Val;
    let text = |v: &Val| match v {
        Val::Null => None,
        Val::Text(s) => Some(s.clone()),
        Val::Int(n) => Some(n.to_string()),
        Val::Real(r) => Some(super::fmt_double(*r)),
        Val::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    };
    // SQLite calls like(pattern, text[, escape]).
    let (Some(pattern), Some(value)) = (text(&args[0]), text(&args[1])) else {
        return Ok(Val::Null);
    };
    let escape = match args.get(2).map(text) {
        Some(Some(e)) => e.chars().next().unwrap_or('\\'),
        Some(None) => return Ok(Val::Null),
        None => '\\',
    };
    Ok(Val::Int(i64::from(like(&pattern, &value, escape))))
}

/// SQLite's own `like()`, which its LIKE operator calls, replaced by MySQL's.
pub const SQLITE_OVERRIDES: &[super::Function] = &[
    super::Function {
        name: "like",
        args: 2,
        call: like_call,
    },
    super::Function {
        name: "like",
        args: 3,
        call: like_call,
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn enums_sort_by_member_position_and_compare_without_case() {
        use super::{enum_collation, enum_members, enum_order};
        use std::cmp::Ordering::*;
        let members: Vec<String> = ["small", "medium", "large", "x,y'\""]
            .map(String::from)
            .to_vec();
        let name = enum_collation(&members);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_:,".contains(&b)),
            "{name}"
        );
        assert_eq!(enum_members(&name), Some(members.clone()));
        assert_eq!(enum_order(&members, "large", "small"), Greater);
        assert_eq!(enum_order(&members, "SMALL", "small"), Equal);
        assert_eq!(enum_order(&members, "medium", "zzz"), Less);
        assert_eq!(enum_order(&members, "b", "a"), Greater);
        assert_eq!(enum_members("mysql_ci"), None);
    }

    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn general_ci_ignores_case_accents_and_trailing_spaces() {
        assert_eq!(collate("abc", "ABC"), Equal);
        assert_eq!(collate("a", "a  "), Equal);
        assert_eq!(collate("café", "CAFE"), Equal);
        assert_eq!(collate("abc", "ABD"), Less);
        assert_eq!(collate("_", "a"), Greater, "weights are upper case");
        assert_eq!(collate("école", "zebra"), Less);
        assert_eq!(collate("ab", "a"), Greater);
        assert_eq!(
            collate("a\t", "a"),
            Less,
            "a tab sorts before the padding space"
        );
    }

    #[test]
    fn like_is_mysql_s() {
        assert!(like("a%", "ABC", '\\'));
        assert!(like("%é%", "cafE", '\\'));
        assert!(like("a_c", "abc", '\\'));
        assert!(!like("a", "a ", '\\'), "trailing spaces count");
        assert!(like("a\\_c", "a_c", '\\'));
        assert!(!like("a\\_c", "abc", '\\'));
        assert!(like("%b%b%", "abcbd", '\\'));
        assert!(!like("%x", "abc", '\\'));
        assert!(like("%", "", '\\'));
    }
}
