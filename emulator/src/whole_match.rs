//! Patterns that must match a whole text, as Java's `String.matches` does: API Gateway's `selectionPattern` and
//! `identityValidationExpression`, and CloudFormation's `AllowedPattern`.
//!
//! They are compiled at start-up, so compiling must be cheap. The `regex` crate builds a fully compiled DFA for a
//! small pattern whenever regex-automata's `dfa-build` feature is on, which `tracing-subscriber`'s filter turns on
//! for the whole build; for a Unicode `.*` that takes a quarter of a millisecond or more per pattern, and the seeds'
//! config has a dozen. A meta regex without the full DFA keeps the lazy DFA, which is as fast on messages this short,
//! and costs a small fraction of that to build.

use std::collections::HashMap;
use std::sync::Mutex;

use regex_automata::meta;

/// How many patterns [`WholeMatch::memoized`] keeps.
const MEMO_LIMIT: usize = 256;

/// A compiled pattern that matches only a whole text. `.` does not match a newline.
#[derive(Debug, Clone)]
pub struct WholeMatch(meta::Regex);

impl WholeMatch {
    /// Compiles `pattern`; the error is the `regex` crate's description of what is wrong with it.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let anchored = format!("^(?:{pattern})$");
        meta::Regex::builder()
            .configure(meta::Config::new().dfa(false))
            .build(&anchored)
            .map(Self)
            // The meta builder's own error only says that the pattern failed to parse; the `regex` crate's shows
            // where and why.
            .map_err(|e| match regex::Regex::new(&anchored) {
                Err(described) => described.to_string(),
                Ok(_) => e.to_string(),
            })
    }

    /// [`WholeMatch::new`], remembered: for a pattern used on every request, such as a token authorizer's
    /// `identityValidationExpression`. A handful of patterns are ever used; the memo is emptied should it pass
    /// [`MEMO_LIMIT`].
    pub fn memoized(pattern: &str) -> Result<Self, String> {
        static MEMO: std::sync::OnceLock<Mutex<HashMap<String, Result<WholeMatch, String>>>> =
            std::sync::OnceLock::new();
        let memo = MEMO.get_or_init(Mutex::default);
        if let Some(known) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
            return known.clone();
        }
        let compiled = Self::new(pattern);
        let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(pattern.to_string(), compiled.clone());
        compiled
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
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
    fn a_bad_pattern_is_described_where_it_is_wrong() {
        let e = WholeMatch::new("InvalidRequest(.*").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }
}
