//! The scenario file format (TOML). A bad file fails with the file, the line and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::config::ConfigError;

/// A scenario: requests replayed through the emulator, each response a snapshot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub purpose: String,
    /// The emulator config, relative to the workspace root.
    /// The emulator config, relative to the workspace root: by default `fixtures/offcloud.toml`, or none when
    /// the scenario names a template.
    pub config: Option<PathBuf>,
    /// A SAM or CloudFormation template to serve, relative to the workspace root. With a template, the config
    /// is only read when `config` is given.
    pub template: Option<PathBuf>,
    /// The template's parameters, as `--parameter-overrides` gives them.
    #[serde(default)]
    pub parameter_overrides: BTreeMap<String, String>,
    /// AWS API calls made before the steps, not snapshotted.
    #[serde(default)]
    pub setup: Vec<Spanned<AwsCall>>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Step>>,
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub text: String,
}

impl Scenario {
    /// The config file to load; a path that does not exist stands for none.
    pub fn config_path(&self) -> PathBuf {
        match (&self.config, &self.template) {
            (Some(c), _) => c.clone(),
            (None, Some(_)) => PathBuf::from("(no config)"),
            (None, None) => PathBuf::from("fixtures/offcloud.toml"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub http: Option<HttpCall>,
    pub invoke: Option<InvokeCall>,
    pub aws: Option<AwsCall>,
    /// Send this many copies at once; the snapshot then holds the invariant's verdict and the status counts.
    /// In copy `i`, every `{n}` in the path, bodies and events reads `i`.
    pub concurrent: Option<usize>,
    pub invariant: Option<Invariant>,
    #[serde(default)]
    pub redact: Vec<Redaction>,
    /// Response headers to snapshot besides the usual few (content type, error type, cookies, CORS origin).
    #[serde(default)]
    pub keep_headers: Vec<String>,
    /// Faults in force while the step runs, injected through the AWS endpoint's `/_offcloud/faults` and removed
    /// after it; see [`crate::faults`].
    #[serde(default)]
    pub faults: Vec<crate::faults::FaultSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCall {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, sent with `content-type: application/json`.
    pub json: Option<Value>,
    /// A raw body.
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeCall {
    pub function: String,
    pub event: Option<Value>,
    /// An event file, relative to the workspace root.
    pub event_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsCall {
    /// `dynamodb` or `rds-data`.
    pub service: String,
    /// The operation, e.g. `PutItem` or `ExecuteStatement`.
    pub operation: String,
    #[serde(default = "empty_object")]
    pub body: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Invariant {
    /// The value at this path differs in every response.
    Distinct(String),
    /// Exactly `count` responses have `status`.
    Exactly { status: u16, count: usize },
}

/// A value replaced by a placeholder, optionally checked first: numbered (`[redacted-1]`) for `any`, bare
/// (`[epoch_s]`) for clock readings, whose equality changes from run to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Dotted path into the step's result; a segment may enter a string that holds JSON.
    pub path: String,
    #[serde(rename = "as")]
    pub kind: RedactionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionKind {
    /// An integer within 5 minutes of now, in seconds.
    EpochS,
    /// An integer within 5 minutes of now, in milliseconds.
    EpochMs,
    /// A `YYYY-MM-DD HH:MM:SS[.f]` UTC date within 5 minutes of now.
    Datetime,
    /// Anything; only replaced.
    Any,
}

impl RedactionKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::EpochS => "epoch_s",
            Self::EpochMs => "epoch_ms",
            Self::Datetime => "datetime",
            Self::Any => "redacted",
        }
    }
}

impl Scenario {
    pub fn load(
        path: &Path,
        workspace: &Path,
        functions: impl Fn(&Path) -> Option<Vec<String>>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read the file: {e}"),
        })?;
        let file = path.display().to_string();
        let source = crate::config::Source {
            file: file.clone(),
            text: text.clone(),
        };
        let mut s: Scenario = toml::from_str(&text)
            .map_err(|e| source.error(e.span().unwrap_or(0..0), e.message().trim()))?;
        s.file = path.to_path_buf();
        s.text = text;
        // A template's function names are only known once it is loaded; the emulator then says what is unknown.
        let known = match &s.template {
            Some(_) => None,
            None => functions(&workspace.join(s.config_path())),
        };
        for step in &s.steps {
            let st = step.get_ref();
            let kinds = [st.http.is_some(), st.invoke.is_some(), st.aws.is_some()]
                .iter()
                .filter(|k| **k)
                .count();
            if let Some(problem) = st.faults.iter().find_map(crate::faults::FaultSpec::problem) {
                return Err(
                    source.error(step.span(), format!("step {:?}: fault: {problem}", st.name))
                );
            }
            if kinds != 1 {
                return Err(source.error(
                    step.span(),
                    format!(
                        "step {:?} must have exactly one of `http`, `invoke` or `aws`",
                        st.name
                    ),
                ));
            }
            if !st
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(source.error(
                    step.span(),
                    format!(
                        "step name {:?} may hold only letters, digits, - and _",
                        st.name
                    ),
                ));
            }
            if let Some(inv) = &st.invoke {
                if let Some(known) = &known
                    && !known.contains(&inv.function)
                {
                    return Err(source.error(
                        step.span(),
                        format!(
                            "step {:?} invokes unknown function {:?}",
                            st.name, inv.function
                        ),
                    ));
                }
                if inv.event.is_some() && inv.event_file.is_some() {
                    return Err(source.error(
                        step.span(),
                        format!("step {:?} sets both `event` and `event_file`", st.name),
                    ));
                }
            }
            if st.invariant.is_some() != st.concurrent.is_some() {
                return Err(source.error(
                    step.span(),
                    format!(
                        "step {:?}: `concurrent` and `invariant` go together",
                        st.name
                    ),
                ));
            }
            if let Some(aws) = &st.aws {
                check_service(&source, step.span(), aws)?;
            }
        }
        for call in &s.setup {
            check_service(&source, call.span(), call.get_ref())?;
        }
        let mut seen = std::collections::HashSet::new();
        for step in &s.steps {
            if !seen.insert(step.get_ref().name.clone()) {
                return Err(source.error(
                    step.span(),
                    format!("step name {:?} is used twice", step.get_ref().name),
                ));
            }
        }
        Ok(s)
    }

    /// The stem used in snapshot names.
    pub fn stem(&self) -> String {
        self.file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

fn check_service(
    source: &crate::config::Source,
    span: std::ops::Range<usize>,
    call: &AwsCall,
) -> Result<(), ConfigError> {
    match call.service.as_str() {
        "dynamodb" | "rds-data" => Ok(()),
        other => Err(source.error(
            span,
            format!("unknown service {other:?}; expected dynamodb or rds-data"),
        )),
    }
}
