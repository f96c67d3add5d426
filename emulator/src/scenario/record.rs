//! Recording against a live API: where each step goes, and which steps need an AWS endpoint that was not given.
//!
//! A live REST API's base URL holds its stage (`https://abc.execute-api.us-east-1.amazonaws.com/Prod`), and so do
//! most scenario paths (`/Prod/time`). [`BaseUrl::join`] puts the two together with the stage once, whether the
//! target names the stage or not.

use std::path::PathBuf;

use super::format::{AwsCall, Scenario, Step};
use super::run::Target;

/// A target that is not a base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{0:?} is not an http:// or https:// URL")]
    Scheme(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error("{0:?} has a query or a fragment; give the base URL only")]
    Query(String),
}

/// A base URL split into its origin (`https://host`) and its path (`/Prod`, or empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    origin: String,
    host: String,
    /// The path without a trailing slash, e.g. `/Prod`; empty for none.
    base: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let trimmed = url.trim();
        let (scheme, rest) = trimmed
            .split_once("://")
            .filter(|(s, _)| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
            .ok_or_else(|| UrlError::Scheme(url.into()))?;
        if rest.contains(['?', '#']) {
            return Err(UrlError::Query(url.into()));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        // A `user:password@` part is not the host; it is not sent anyway.
        let host = authority.rsplit('@').next().unwrap_or_default();
        if host.is_empty() {
            return Err(UrlError::NoHost(url.into()));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let base = if segments.is_empty() {
            String::new()
        } else {
            format!("/{}", segments.join("/"))
        };
        Ok(Self {
            origin: format!("{}://{authority}", scheme.to_ascii_lowercase()),
            host: host.to_string(),
            base,
        })
    }

    /// The host, with its port when the URL gives one.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL of a step's path. A path that already starts with the base's path (`/Prod/time` on `.../Prod`) is
    /// not given it twice; any other path goes under it (`/time` on `.../Prod` is `.../Prod/time`).
    pub fn join(&self, path: &str) -> String {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let base = self.base.as_str();
        let has_base = base.is_empty()
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
        if has_base {
            format!("{}{path}", self.origin)
        } else {
            format!("{}{base}{path}", self.origin)
        }
    }
}

/// Joins a target's base URL and a step's path so that the stage appears once; see [`BaseUrl::join`].
pub fn join_url(target: &str, path: &str) -> Result<String, UrlError> {
    Ok(BaseUrl::parse(target)?.join(path))
}

/// A scenario that needs an AWS endpoint to be recorded, and none was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}:{line}: {what} needs an AWS endpoint, and none was given: pass --aws-endpoint URL (for example another \
     emulator's http://127.0.0.1:4566)"
)]
pub struct NeedsAwsEndpoint {
    pub file: String,
    pub line: usize,
    /// The setup call or step, e.g. `step "add-item" (dynamodb PutItem)`.
    pub what: String,
}

/// A step left out of a recording, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: PathBuf,
    pub step: String,
    pub reason: String,
}

/// Which steps of a scenario cannot be sent to `target`. Setup calls, and `aws` steps that may change state, need
/// the AWS endpoint: without them the steps after would be recorded against other data, so their absence is an
/// error. `invoke` steps and read-only `aws` steps are only observations; without an endpoint they are skipped.
pub fn check(s: &Scenario, target: &Target) -> Result<Vec<Skipped>, NeedsAwsEndpoint> {
    if target.aws.is_some() {
        return Ok(Vec::new());
    }
    let needs = |span: std::ops::Range<usize>, what: String| NeedsAwsEndpoint {
        file: s.file.display().to_string(),
        line: s.text[..span.start.min(s.text.len())].matches('\n').count() + 1,
        what,
    };
    if let Some(call) = s.setup.first() {
        let c = call.get_ref();
        let what = format!(
            "the setup ([[setup]] {} {}, 1 of {} calls), made before every step,",
            c.service,
            c.operation,
            s.setup.len()
        );
        return Err(needs(call.span(), what));
    }
    let mut skipped = Vec::new();
    for step in &s.steps {
        let st = step.get_ref();
        if !st.faults.is_empty() {
            skipped.push(Skipped {
                file: s.file.clone(),
                step: st.name.clone(),
                reason: "its faults are injected through Offcloud's /_offcloud/faults at the AWS endpoint, and no --aws-endpoint was given".into(),
            });
            continue;
        }
        let reason = match (&st.invoke, &st.aws) {
            (Some(inv), _) => format!(
                "an `invoke` step calls function {:?} through the AWS endpoint's Lambda Invoke API",
                inv.function
            ),
            (None, Some(call)) if read_only(call) => format!(
                "a read-only `aws` step ({} {}) goes to the AWS endpoint",
                call.service, call.operation
            ),
            (None, Some(call)) => {
                let what = format!(
                    "step {:?} ({} {}), which may change what later steps read,",
                    st.name, call.service, call.operation
                );
                return Err(needs(step.span(), what));
            }
            (None, None) => continue,
        };
        skipped.push(Skipped {
            file: s.file.clone(),
            step: st.name.clone(),
            reason: format!("{reason}, and no --aws-endpoint was given"),
        });
    }
    Ok(skipped)
}

/// Whether an AWS call only reads. Unknown operations count as writes, so that they are never skipped.
pub fn read_only(call: &AwsCall) -> bool {
    match call.service.as_str() {
        "dynamodb" => matches!(
            call.operation.as_str(),
            "GetItem"
                | "BatchGetItem"
                | "TransactGetItems"
                | "Query"
                | "Scan"
                | "DescribeTable"
                | "ListTables"
                | "DescribeTimeToLive"
                | "ListTagsOfResource"
        ),
        "rds-data" => {
            let sql = call.body.get("sql").and_then(|v| v.as_str()).unwrap_or("");
            let sql = sql.trim().trim_end_matches(';');
            let first = sql
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            call.operation == "ExecuteStatement"
                && !sql.contains(';')
                && matches!(
                    first.as_str(),
                    "SELECT" | "SHOW" | "DESCRIBE" | "DESC" | "EXPLAIN"
                )
        }
        _ => false,
    }
}

/// The host a step is sent to: the API's for `http` steps, the AWS endpoint's for the others.
pub fn host_for(step: &Step, target: &Target) -> Option<String> {
    let url = if step.http.is_some() {
        target.api.as_deref()
    } else {
        target.aws.as_deref()
    };
    BaseUrl::parse(url?).ok().map(|u| u.host().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_appears_once_whether_the_target_names_it_or_not() {
        let host = "https://abc.execute-api.us-east-1.amazonaws.com";
        let want = format!("{host}/Prod/time");
        for target in [
            format!("{host}/Prod"),
            format!("{host}/Prod/"),
            format!("{host}/Prod//"),
        ] {
            assert_eq!(join_url(&target, "/Prod/time").unwrap(), want, "{target}");
            assert_eq!(join_url(&target, "/time").unwrap(), want, "{target}");
            assert_eq!(join_url(&target, "time").unwrap(), want, "{target}");
        }
        for target in [host.to_string(), format!("{host}/"), format!("{host}//")] {
            assert_eq!(join_url(&target, "/Prod/time").unwrap(), want, "{target}");
        }
    }

    #[test]
    fn join_keeps_queries_and_only_matches_whole_segments() {
        let t = "http://127.0.0.1:3000/Prod";
        assert_eq!(
            join_url(t, "/Prod?x=1").unwrap(),
            "http://127.0.0.1:3000/Prod?x=1"
        );
        assert_eq!(join_url(t, "/Prod").unwrap(), "http://127.0.0.1:3000/Prod");
        assert_eq!(join_url(t, "/").unwrap(), "http://127.0.0.1:3000/Prod/");
        assert_eq!(
            join_url(t, "/Production/x").unwrap(),
            "http://127.0.0.1:3000/Prod/Production/x"
        );
        // Stage names are case-sensitive on AWS.
        assert_eq!(
            join_url(t, "/prod/x").unwrap(),
            "http://127.0.0.1:3000/Prod/prod/x"
        );
        assert_eq!(
            join_url("http://127.0.0.1:3000", "/v2/time").unwrap(),
            "http://127.0.0.1:3000/v2/time"
        );
    }

    #[test]
    fn bad_targets_are_errors_not_panics() {
        for (url, want) in [
            (
                "abc.example.com/Prod",
                UrlError::Scheme("abc.example.com/Prod".into()),
            ),
            ("ftp://x/Prod", UrlError::Scheme("ftp://x/Prod".into())),
            ("https:///Prod", UrlError::NoHost("https:///Prod".into())),
            (
                "https://x/Prod?a=b",
                UrlError::Query("https://x/Prod?a=b".into()),
            ),
            ("", UrlError::Scheme(String::new())),
        ] {
            assert_eq!(BaseUrl::parse(url).unwrap_err(), want);
        }
        let u = BaseUrl::parse("HTTPS://me:secret@abc.example.com:8443/Prod").unwrap();
        assert_eq!(u.host(), "abc.example.com:8443");
    }

    fn scenario(text: &str) -> Scenario {
        let mut s: Scenario = toml::from_str(text).unwrap();
        s.file = PathBuf::from("scenarios/x/y.toml");
        s.text = text.to_string();
        s
    }

    const API_ONLY: Target = Target {
        api: None,
        aws: None,
    };

    #[test]
    fn setup_without_an_endpoint_names_the_file_line_and_flag() {
        let s = scenario(
            "name = \"x\"\npurpose = \"y\"\n\n[[setup]]\nservice = \"dynamodb\"\noperation = \"PutItem\"\n\n\
             [[step]]\nname = \"s\"\nhttp = { path = \"/Prod/x\" }\n",
        );
        let e = check(&s, &API_ONLY).unwrap_err();
        assert_eq!(e.line, 4);
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "scenarios/x/y.toml:4: the setup ([[setup]] dynamodb PutItem, 1 of 1 calls)"
            ) && msg.contains("--aws-endpoint"),
            "{msg}"
        );
        let with = Target {
            api: None,
            aws: Some("http://127.0.0.1:4566".into()),
        };
        assert_eq!(check(&s, &with), Ok(vec![]));
    }

    #[test]
    fn writes_stop_the_recording_and_reads_and_invokes_are_skipped() {
        let s = scenario(
            r#"name = "x"
purpose = "y"
[[step]]
name = "read"
aws = { service = "rds-data", operation = "ExecuteStatement", body = { sql = " select 1;" } }
[[step]]
name = "call"
invoke = { function = "f" }
[[step]]
name = "get"
http = { path = "/Prod/x" }
"#,
        );
        let skipped = check(&s, &API_ONLY).unwrap();
        let names: Vec<&str> = skipped.iter().map(|k| k.step.as_str()).collect();
        assert_eq!(names, ["read", "call"]);
        assert!(skipped[1].reason.contains("\"f\""), "{:?}", skipped[1]);

        // A step with faults needs Offcloud's admin endpoint at the AWS endpoint.
        let s = scenario(
            "name = \"x\"\npurpose = \"y\"\n[[step]]\nname = \"throttled\"\nhttp = { path = \"/Prod/x\" }\n\
             faults = [{ service = \"dynamodb\", error = \"ThrottlingException\" }]\n",
        );
        let skipped = check(&s, &API_ONLY).unwrap();
        assert_eq!(skipped[0].step, "throttled");
        assert!(
            skipped[0].reason.contains("/_offcloud/faults"),
            "{:?}",
            skipped[0]
        );

        let s = scenario(
            "name = \"x\"\npurpose = \"y\"\n[[step]]\nname = \"add\"\n\
             aws = { service = \"dynamodb\", operation = \"PutItem\" }\n",
        );
        let e = check(&s, &API_ONLY).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.what.contains("step \"add\""), "{e}");
    }

    #[test]
    fn only_known_reads_are_read_only() {
        let call = |service: &str, operation: &str, sql: &str| AwsCall {
            service: service.into(),
            operation: operation.into(),
            body: serde_json::json!({ "sql": sql }),
        };
        assert!(read_only(&call("dynamodb", "Scan", "")));
        assert!(!read_only(&call("dynamodb", "PutItem", "")));
        assert!(!read_only(&call("dynamodb", "SomethingNew", "")));
        assert!(read_only(&call("rds-data", "ExecuteStatement", "SELECT 1")));
        assert!(!read_only(&call(
            "rds-data",
            "ExecuteStatement",
            "SELECT 1; DELETE FROM t"
        )));
        assert!(!read_only(&call(
            "rds-data",
            "ExecuteStatement",
            "INSERT INTO t VALUES (1)"
        )));
        assert!(!read_only(&call(
            "rds-data",
            "BatchExecuteStatement",
            "SELECT 1"
        )));
    }
}
