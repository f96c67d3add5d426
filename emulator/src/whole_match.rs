//! Patterns that must match a whole text, as Java's `String.matches` does: API Gateway's `selectionPattern` and
//! `identityValidationExpression`, and CloudFormation's `AllowedPattern`.
//!
//! They are checked at start-up, so that a bad one is the config's error, but each is compiled on its first use:
//! parsing is what can fail for a pattern a person writes, and costs a small fraction of building the automaton
//! (for a Unicode `.*`, regex-automata's UTF-8 compiler alone fills a 400 KB table, which was a tenth of start-up
//! for the seeds' dozen patterns). The automaton is a meta regex without the full DFA: the `regex` crate builds a
//! fully compiled DFA for a small pattern whenever regex-automata's `dfa-build` feature is on, which
//! `tracing-subscriber`'s filter turns on for the whole build, and the lazy DFA is as fast on messages this short.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_automata::meta;

/// How many patterns [`WholeMatch::memoized`] keeps.
const MEMO_LIMIT: usize = 256;

/// A checked pattern that matches only a whole text. `.` does not match a newline.
#[derive(Debug, Clone)]
pub struct WholeMatch(Arc<Pattern>);

#[derive(Debug)]
struct Pattern {
    anchored: String,
    /// Built on the first match; `None` if the pattern parsed but could not be built (over the size limits).
    regex: OnceLock<Option<meta::Regex>>,
}

impl WholeMatch {
    /// Checks `pattern`; the error is the regex parser's description of what is wrong with it and where.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let anchored = format!("^(?:{pattern})$");
        regex_syntax::Parser::new()
            .parse(&anchored)
            .map_err(|e| e.to_string())?;
        Ok(Self(Arc::new(Pattern {
            anchored,
            regex: OnceLock::new(),
        })))
    }

    /// [`WholeMatch::new`], remembered, so that every user of a pattern (the config's validation, each API built
    /// from it, every request to a token authorizer) shares one compiled automaton. A handful of patterns are ever
    /// used; the memo is emptied should it pass [`MEMO_LIMIT`].
    pub fn memoized(pattern: &str) -> Result<Self, String> {
        static MEMO: OnceLock<Mutex<HashMap<String, Result<WholeMatch, String>>>> = OnceLock::new();
        let memo = MEMO.get_or_init(Mutex::default);
        if let Some(known) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
            return known.clone();
        }
        let checked = Self::new(pattern);
        let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(pattern.to_string(), checked.clone());
        checked
    }

    pub fn is_match(&self, text: &str) -> bool {
        let p = &self.0;
        let regex = p.regex.get_or_init(|| {
            meta::Regex::builder()
                .configure(meta::Config::new().dfa(false))
                .build(&p.anchored)
                .inspect_err(|e| {
                    tracing::error!(
                        "the pattern {} parsed but cannot be compiled ({e}); it matches nothing",
                        p.anchored
                    );
                })
                .ok()
        });
        regex.as_ref().is_some_and(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_whole_text_and_dot_stops_at_a_newline() {
        let p = WholeMatch::new("ParameterError.*").unwrap();
        assert!(p.is_match("ParameterError: no code"));
        assert!(!p.is_match("Oops ParameterError: no code"));
        assert!(!p.is_match("ParameterError: line one\nline two"));
        let alternatives = WholeMatch::new("a|b").unwrap();
        assert!(alternatives.is_match("b"));
        assert!(
            !alternatives.is_match("ab"),
            "the group anchors every alternative"
        );
        assert!(WholeMatch::new("4\\d{2}").unwrap().is_match("404"));
        assert!(
            WholeMatch::new("é.").unwrap().is_match("éà"),
            "Unicode, as in Java"
        );
    }

    #[test]
    fn a_memoized_pattern_is_the_same_pattern() {
        let p = WholeMatch::memoized("Bearer [a-z]+").unwrap();
        assert!(p.is_match("Bearer abc") && !p.is_match("Bearer ABC"));
        assert!(
            WholeMatch::memoized("Bearer [a-z]+")
                .unwrap()
                .is_match("Bearer abc")
        );
        assert!(WholeMatch::memoized("(").is_err());
        assert!(
            WholeMatch::memoized("(").is_err(),
            "a bad pattern stays bad"
        );
    }

    #[test]
    fn a_pattern_too_big_to_build_matches_nothing() {
        // It parses, so it passes the start-up check, but its million states are over regex-automata's size
        // limit: the text it describes is not matched.
        let p = WholeMatch::new("(?:a{1000}){1000}").unwrap();
        assert!(!p.is_match(&"a".repeat(1_000_000)));
        let small = WholeMatch::new("(?:a{10}){10}").unwrap();
        assert!(small.is_match(&"a".repeat(100)), "the same shape, built");
    }

    #[test]
    fn a_bad_pattern_is_described_where_it_is_wrong() {
        let e = WholeMatch::new("InvalidRequest(.*").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }
}
