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
pub(super) fn collate(a: &str, b: &str) -> std::cmp::Ordering {
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
