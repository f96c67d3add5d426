//! MySQL syntax that sqlparser does not read, rewritten in the statement's text before it is parsed. Each rewrite
//! keeps every other character where it was, so that positions in syntax errors and the labels taken from the
//! text (see `labels`) are those of the statement as written.

use std::borrow::Cow;

use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::labels::offset;

/// `a MOD b` is MySQL's `a % b` (https://dev.mysql.com/doc/refman/5.7/en/arithmetic-functions.html). sqlparser
/// takes the word for an alias, so the operator becomes `%` padded with spaces; `MOD(a, b)` stays a call.
pub fn mod_operator(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("mod") {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let significant: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut out: Option<String> = None;
    for (i, t) in significant.iter().enumerate() {
        let Token::Word(w) = &t.token else { continue };
        if w.keyword != Keyword::MOD || w.quote_style.is_some() {
            continue;
        }
        let operand_before = i.checked_sub(1).is_some_and(|j| {
            matches!(
                &significant[j].token,
                Token::Number(..)
                    | Token::RParen
                    | Token::SingleQuotedString(_)
                    | Token::DoubleQuotedString(_)
                    | Token::Placeholder(_)
            ) || matches!(&significant[j].token, Token::Word(w) if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword)
        });
        // After an operand, `MOD` is the operator even before a bracket: `a MOD (b + 1)`.
        let operand_after = significant.get(i + 1).is_some();
        if !operand_before || !operand_after {
            continue;
        }
        let Some(at) = offset(sql, t.span.start) else {
            continue;
        };
        let text = out.get_or_insert_with(|| sql.to_string());
        if text
            .get(at..at + 3)
            .is_some_and(|s| s.eq_ignore_ascii_case("mod"))
        {
            text.replace_range(at..at + 3, "%  ");
        }
    }
    out.map_or(Cow::Borrowed(sql), Cow::Owned)
}

/// `UPDATE a, b SET ...` is MySQL's comma join, the same as `UPDATE a JOIN b SET ...`, which sqlparser does not
/// read; the join then translates as any other (and an UPDATE that sets columns of both tables is refused there).
pub fn update_comma_join(sql: &str) -> Cow<'_, str> {
    let starts_with_update = sql
        .trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("update"));
    if !starts_with_update || !sql.contains(',') {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let mut depth = 0i32;
    let mut commas = Vec::new();
    for t in &tokens {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => commas.extend(offset(sql, t.span.start)),
            Token::Word(w) if w.keyword == Keyword::SET && w.quote_style.is_none() => break,
            _ => {}
        }
    }
    if commas.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = sql.to_string();
    for at in commas.into_iter().rev() {
        out.replace_range(at..at + 1, " JOIN ");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{mod_operator, update_comma_join};

    #[test]
    fn update_of_a_comma_join_is_a_join() {
        assert_eq!(
            update_comma_join("UPDATE a, b SET a.n = b.n WHERE a.id = b.id"),
            "UPDATE a JOIN  b SET a.n = b.n WHERE a.id = b.id"
        );
        let kept = "UPDATE a SET x = 1, y = 2";
        assert_eq!(update_comma_join(kept), kept);
        let kept = "SELECT a, b FROM t";
        assert_eq!(update_comma_join(kept), kept);
    }

    #[test]
    fn mod_between_operands_is_the_remainder_operator() {
        assert_eq!(mod_operator("SELECT 10 MOD 4"), "SELECT 10 %   4");
        assert_eq!(
            mod_operator("SELECT a mod (b + 1) FROM t"),
            "SELECT a %   (b + 1) FROM t"
        );
        assert_eq!(
            mod_operator("SELECT x.n MOD :p FROM x"),
            "SELECT x.n %   :p FROM x"
        );
    }

    #[test]
    fn calls_names_and_strings_are_kept() {
        for sql in [
            "SELECT MOD(10, 3)",
            "SELECT `mod` FROM t",
            "SELECT 'a MOD b'",
            "SELECT n AS `MOD` FROM t",
            "SELECT modified FROM t",
        ] {
            assert_eq!(mod_operator(sql), sql);
        }
    }
}
