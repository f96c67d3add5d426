//! The IAM policy an authorizer returns, and its evaluation against a method ARN.
//!
//! Sources: DG:api-gateway-lambda-authorizer-output (the policy's shape); DG:api-gateway-control-access-using-iam-policies-to-invoke-api
//! (actions `execute-api:Invoke`, `execute-api:*`; ARN wildcards); IAM User Guide, reference_policies_elements_resource
//! and reference_policies_evaluation-logic (wildcards per ARN segment, explicit Deny wins). Notes §1.3, §1.4, §5.

use serde_json::Value;

/// The action API Gateway checks for a request.
const INVOKE: &str = "execute-api:Invoke";

/// Why a policy cannot be used. API Gateway answers 500 `AuthorizerConfigurationException` for all of
/// these; its execution log says "Could not parse policy" (notes §1.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy document is not an object")]
    NotAnObject,
    #[error("the policy document has no Statement")]
    NoStatement,
    #[error("a Statement is not an object")]
    StatementNotAnObject,
    #[error("a Statement has no Effect, or an Effect other than Allow or Deny")]
    BadEffect,
    #[error("a Statement's {0} is not a string or a list of strings")]
    BadList(&'static str),
    #[error("a Statement has neither {0} nor Not{0}")]
    Missing(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` (and likewise for resources): the patterns, and whether they are negated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patterns {
    not: bool,
    patterns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    action: Patterns,
    resource: Patterns,
}

/// A parsed `policyDocument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// What a policy says about one method ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVerdict {
    Allow,
    /// A matching Deny statement: it wins over any Allow.
    ExplicitDeny,
    /// No statement matches.
    ImplicitDeny,
}

impl Policy {
    /// Parses a `policyDocument`. `Statement` may be one object or a list, and `Action` and `Resource` a
    /// string or a list (notes §1.3; RS iam `deserialize_string_or_slice`). `Version` is not checked.
    /// FIXME: `Condition` is ignored.
    pub fn parse(doc: &Value) -> Result<Policy, PolicyError> {
        let doc = doc.as_object().ok_or(PolicyError::NotAnObject)?;
        let statements = match doc.get("Statement") {
            None | Some(Value::Null) => return Err(PolicyError::NoStatement),
            Some(Value::Array(list)) => list.iter().map(parse_statement).collect(),
            Some(one) => parse_statement(one).map(|s| vec![s]),
        }?;
        Ok(Policy { statements })
    }

    /// Evaluates the policy for `execute-api:Invoke` on `method_arn`: an explicit Deny wins, then an Allow,
    /// and otherwise the request is denied implicitly.
    pub fn evaluate(&self, method_arn: &str) -> PolicyVerdict {
        let applies = |s: &&Statement| {
            s.action.matches(INVOKE, action_matches) && s.resource.matches(method_arn, arn_matches)
        };
        let matching: Vec<&Statement> = self.statements.iter().filter(applies).collect();
        if matching.iter().any(|s| s.effect == Effect::Deny) {
            PolicyVerdict::ExplicitDeny
        } else if matching.iter().any(|s| s.effect == Effect::Allow) {
            PolicyVerdict::Allow
        } else {
            PolicyVerdict::ImplicitDeny
        }
    }
}

impl Patterns {
    fn matches(&self, value: &str, matcher: fn(&str, &str) -> bool) -> bool {
        self.patterns.iter().any(|p| matcher(p, value)) != self.not
    }
}

fn parse_statement(v: &Value) -> Result<Statement, PolicyError> {
    let s = v.as_object().ok_or(PolicyError::StatementNotAnObject)?;
    // IAM's grammar spells the effect exactly `Allow` or `Deny`.
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(PolicyError::BadEffect),
    };
    let patterns = |name: &'static str, not_name: &'static str| {
        let (not, value) = match (s.get(name), s.get(not_name)) {
            (Some(v), _) => (false, v),
            (None, Some(v)) => (true, v),
            (None, None) => return Err(PolicyError::Missing(name)),
        };
        let patterns = match value {
            Value::String(p) => vec![p.clone()],
            Value::Array(list) => list
                .iter()
                .map(|p| p.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(PolicyError::BadList(name))?,
            _ => return Err(PolicyError::BadList(name)),
        };
        Ok(Patterns { not, patterns })
    };
    Ok(Statement {
        effect,
        action: patterns("Action", "NotAction")?,
        resource: patterns("Resource", "NotResource")?,
    })
}

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`: one character, not a segment separator.
    One,
    /// `*` inside a segment: any run of characters without a segment separator.
    Segment,
    /// `*` at the end of a segment or pattern, or anywhere when there are no segments: any run at all.
    Any,
}

/// Matches `text` against a pattern of `*` and `?`. With a `separator`, `*` and `?` stay inside one segment
/// unless the `*` ends a segment, as IAM matches ARNs: "You can use wildcard characters (* and ?) within any
/// ARN segment... If the * wildcard is the last character of a resource ARN segment, it can expand to match
/// beyond the colon boundaries" (IAM User Guide, reference_policies_elements_resource). So `*` does match `/`
/// inside the resource segment: `abc/*/GET/*` covers `abc/prod/GET/pets/1`. Whether API Gateway's own engine
/// differs is not documented (notes §1.4).
fn wildcard(pattern: &str, text: &str, separator: Option<char>) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let tokens: Vec<Token> = chars
        .iter()
        .enumerate()
        .map(|(i, c)| match (c, separator) {
            ('?', _) => Token::One,
            ('*', None) => Token::Any,
            ('*', Some(sep)) => match chars.get(i + 1) {
                None => Token::Any,
                Some(next) if *next == sep => Token::Any,
                Some(_) => Token::Segment,
            },
            (c, _) => Token::Char(*c),
        })
        .collect();
    let text: Vec<char> = text.chars().collect();
    let inside = |c: char| separator != Some(c);
    // `row[j]`: the tokens so far match the first `j` characters of the text.
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for token in tokens {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match token {
                Token::Char(c) => j > 0 && row[j - 1] && text[j - 1] == c,
                Token::One => j > 0 && row[j - 1] && inside(text[j - 1]),
                Token::Any => row[j] || (j > 0 && next[j - 1]),
                Token::Segment => row[j] || (j > 0 && next[j - 1] && inside(text[j - 1])),
            };
        }
        row = next;
    }
    row[text.len()]
}

/// Action names ignore case in IAM (`execute-api:invoke` names the same action).
fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard(
        &pattern.to_ascii_lowercase(),
        &action.to_ascii_lowercase(),
        None,
    )
}

/// ARNs are compared with case, segment by segment.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    wildcard(pattern, arn, Some(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets/1";

    #[test]
    fn wildcards_follow_iam_segments() {
        assert!(arn_matches("*", ARN));
        assert!(arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:abc/*",
            ARN
        ));
        assert!(arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/*",
            ARN
        ));
        assert!(arn_matches(
            "arn:aws:execute-api:*:*:abc/prod/GET/pets/?",
            ARN
        ));
        assert!(arn_matches("arn:aws:execute-api:us-east-?:*:*", ARN));
        assert!(!arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:abc/*/POST/*",
            ARN
        ));
        assert!(!arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets/??",
            ARN
        ));
        // Case matters in ARNs.
        assert!(!arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:ABC/*",
            ARN
        ));
        // A `*` inside a segment does not cross a colon; one at a segment's end does.
        assert!(!arn_matches(
            "arn:aws:execute-api:us*2:abc/prod/GET/pets/1",
            ARN
        ));
        assert!(arn_matches(
            "arn:aws:execute-api:us*:abc/prod/GET/pets/1",
            ARN
        ));
        assert!(arn_matches("arn:aws:execute-api:*", ARN));
        assert!(arn_matches("arn:aws:*", ARN));
        // The root resource's ARN ends with a slash.
        assert!(arn_matches(
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/"
        ));
    }

    #[test]
    fn actions_ignore_case_and_take_wildcards() {
        for p in [
            "execute-api:Invoke",
            "execute-api:invoke",
            "execute-api:*",
            "*",
            "execute-api:Inv*",
        ] {
            assert!(action_matches(p, INVOKE), "{p}");
        }
        for p in ["execute-api:InvalidateCache", "s3:*", "execute-api:Invoke?"] {
            assert!(!action_matches(p, INVOKE), "{p}");
        }
    }

    #[test]
    fn not_action_and_not_resource_invert() {
        let p = Policy::parse(&json!({"Statement": {
            "Effect": "Allow", "NotAction": "execute-api:InvalidateCache", "NotResource": "arn:aws:execute-api:*:*:other/*"
        }}))
        .unwrap();
        assert_eq!(p.evaluate(ARN), PolicyVerdict::Allow);
        assert_eq!(
            p.evaluate("arn:aws:execute-api:us-east-1:1:other/prod/GET/"),
            PolicyVerdict::ImplicitDeny
        );
    }

    #[test]
    fn malformed_statements() {
        let cases = [
            (json!("x"), PolicyError::NotAnObject),
            (json!({"Version": "2012-10-17"}), PolicyError::NoStatement),
            (
                json!({"Statement": ["x"]}),
                PolicyError::StatementNotAnObject,
            ),
            (
                json!({"Statement": {"Action": "*", "Resource": "*"}}),
                PolicyError::BadEffect,
            ),
            (
                json!({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}),
                PolicyError::BadEffect,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": 1, "Resource": "*"}}),
                PolicyError::BadList("Action"),
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*", 2]}}),
                PolicyError::BadList("Resource"),
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*"}}),
                PolicyError::Missing("Resource"),
            ),
        ];
        for (doc, err) in cases {
            assert_eq!(Policy::parse(&doc), Err(err), "{doc}");
        }
    }
}
