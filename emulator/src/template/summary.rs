//! The start-up summary: every function with its runtime and code, every API with its local base URL (as `sam`
//! prints its Outputs), and everything the template uses that Offcloud does not emulate, one line each.

use std::fmt::Write;

use crate::config::ApiKind;

#[derive(Debug, Default)]
pub struct Summary {
    pub functions: Vec<FunctionLine>,
    pub apis: Vec<ApiLine>,
    /// DynamoDB tables, by name.
    pub tables: Vec<String>,
    /// The template's Outputs, resolved, as `sam deploy` prints them.
    pub outputs: Vec<(String, String)>,
    /// Resources and events that are not emulated, one line each.
    pub not_emulated: Vec<String>,
    /// Everything else the user wrote that cannot be honoured as written.
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct FunctionLine {
    pub name: String,
    pub runtime: String,
    pub code: String,
}

#[derive(Debug)]
pub struct ApiLine {
    pub name: String,
    pub id: String,
    pub kind: ApiKind,
    pub stage: Option<String>,
    pub routes: usize,
}

impl Summary {
    /// The summary as text. `api_base` is the API Gateway port's URL, such as `http://127.0.0.1:3000`.
    pub fn render(&self, api_base: Option<&str>) -> String {
        let mut out = String::new();
        if !self.functions.is_empty() {
            out.push_str("Functions:\n");
            let w = self
                .functions
                .iter()
                .map(|f| f.name.len())
                .max()
                .unwrap_or(0);
            let r = self
                .functions
                .iter()
                .map(|f| f.runtime.len())
                .max()
                .unwrap_or(0);
            for f in &self.functions {
                let _ = writeln!(out, "  {:w$}  {:r$}  {}", f.name, f.runtime, f.code);
            }
        }
        let apis: Vec<&ApiLine> = self.apis.iter().filter(|a| a.routes > 0).collect();
        if !apis.is_empty() {
            out.push_str("APIs:\n");
            for a in apis {
                let kind = match a.kind {
                    ApiKind::Rest => "REST",
                    ApiKind::Http => "HTTP",
                };
                let stage = a
                    .stage
                    .as_deref()
                    .filter(|s| !s.is_empty() && *s != "$default")
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default();
                let url = match api_base {
                    Some(base) => {
                        let host = base
                            .strip_prefix("http://")
                            .and_then(|h| h.rsplit_once(':'))
                            .map(|(_, port)| {
                                format!("http://{}.execute-api.localhost:{port}", a.id)
                            })
                            .unwrap_or_default();
                        format!("{base}{stage}  ({host}{stage})")
                    }
                    None => format!("(id {}){stage}", a.id),
                };
                let _ = writeln!(
                    out,
                    "  {} {kind} API, {} route{}: {url}",
                    a.name,
                    a.routes,
                    if a.routes == 1 { "" } else { "s" }
                );
            }
        }
        if !self.tables.is_empty() {
            let _ = writeln!(out, "DynamoDB tables: {}", self.tables.join(", "));
        }
        if !self.outputs.is_empty() {
            out.push_str("Outputs:\n");
            for (k, v) in &self.outputs {
                let _ = writeln!(out, "  {k}: {v}");
            }
        }
        if !self.not_emulated.is_empty() {
            out.push_str("Not emulated (accepted, but nothing runs them):\n");
            for n in &self.not_emulated {
                let _ = writeln!(out, "  {n}");
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("Warnings:\n");
            for w in &self.warnings {
                let _ = writeln!(out, "  {w}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_section() {
        let s = Summary {
            functions: vec![FunctionLine {
                name: "fn".into(),
                runtime: "python3.12".into(),
                code: "/p/src".into(),
            }],
            apis: vec![ApiLine {
                name: "ServerlessRestApi".into(),
                id: "abc".into(),
                kind: ApiKind::Rest,
                stage: Some("Prod".into()),
                routes: 2,
            }],
            tables: vec!["orders".into()],
            outputs: vec![("Url".into(), "https://x".into())],
            not_emulated: vec!["Queue (AWS::SQS::Queue)".into()],
            warnings: vec!["w".into()],
        };
        let text = s.render(Some("http://127.0.0.1:3000"));
        assert!(text.contains("  fn  python3.12  /p/src\n"), "{text}");
        assert!(
            text.contains("ServerlessRestApi REST API, 2 routes: http://127.0.0.1:3000/Prod  (http://abc.execute-api.localhost:3000/Prod)"),
            "{text}"
        );
        assert!(text.contains("  Queue (AWS::SQS::Queue)\n"), "{text}");
        assert!(
            text.contains("DynamoDB tables: orders\nOutputs:\n  Url: https://x\n"),
            "{text}"
        );
        assert!(text.contains("Warnings:\n  w\n"), "{text}");
    }
}
