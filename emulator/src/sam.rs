//! Functions and APIs from an AWS SAM template, so that a user who has one writes no config.
//!
//! Understood: `AWS::Serverless::Function` with `Events` of type `Api` and `HttpApi`, `AWS::Serverless::Api` and
//! `AWS::Serverless::HttpApi` with their `StageName`, and `Globals.Function`. `!Ref` resolves to a resource's
//! logical id or a parameter's `Default`. Other intrinsics (`!GetAtt`, `!Sub`, `!ImportValue`, ...) cannot be resolved
//! offline: in an environment variable they become the empty string with a warning (the documented default);
//! anywhere else they are an error that names the resource and the property.
//! Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;
use toml::Spanned;

use crate::config::{
    ApiConfig, ApiKind, ConfigError, FunctionConfig, IntegrationKind, RouteConfig,
};

/// What a template contributes to the config.
#[derive(Debug, Default)]
pub struct Template {
    pub functions: Vec<FunctionConfig>,
    pub apis: Vec<ApiConfig>,
}

fn err(file: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: 0,
        message,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// Resolves a scalar, following `!Ref` to parameters' defaults and resources' logical ids.
fn scalar(v: &Value, params: &BTreeMap<String, String>) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Tagged(t) if t.tag == "!Ref" || t.tag == "Ref" => {
            let name = t.value.as_str().unwrap_or_default();
            Ok(params
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_string()))
        }
        Value::Mapping(m) if m.len() == 1 && m.get("Ref").is_some() => {
            let name = m.get("Ref").and_then(Value::as_str).unwrap_or_default();
            Ok(params
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_string()))
        }
        Value::Tagged(t) => Err(format!(
            "the intrinsic {} cannot be resolved offline",
            t.tag
        )),
        Value::Mapping(m) => Err(format!(
            "the intrinsic {} cannot be resolved offline",
            m.keys().next().and_then(Value::as_str).unwrap_or("?")
        )),
        _ => Err("expected a scalar".into()),
    }
}

pub fn load(path: &Path) -> Result<Template, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(&file, format!("cannot read the file: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&file, &text, dir)
}

pub fn parse(file: &str, text: &str, dir: &Path) -> Result<Template, ConfigError> {
    let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| ConfigError {
        file: file.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: e.to_string(),
    })?;
    let mut params = BTreeMap::new();
    if let Some(Value::Mapping(ps)) = get(&doc, "Parameters") {
        for (k, p) in ps {
            if let (Some(k), Some(d)) = (k.as_str(), get(p, "Default")) {
                params.insert(
                    k.to_string(),
                    scalar(d, &BTreeMap::new()).unwrap_or_default(),
                );
            }
        }
    }
    let globals = get(&doc, "Globals")
        .and_then(|g| get(g, "Function"))
        .cloned()
        .unwrap_or(Value::Null);
    let resources = get(&doc, "Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| err(file, "the template has no Resources".into()))?;
    let mut out = Template::default();
    let mut apis: BTreeMap<String, ApiConfig> = BTreeMap::new();
    let api = |name: &str, kind: ApiKind, stage: Option<String>| ApiConfig {
        name: name.to_string(),
        kind,
        stage,
        api_keys: vec![],
        binary_media_types: vec![],
        stage_variables: BTreeMap::new(),
        cors: None,
        routes: vec![],
    };
    for (id, res) in resources {
        let id = id.as_str().unwrap_or_default();
        let props = get(res, "Properties").cloned().unwrap_or(Value::Null);
        let stage = get(&props, "StageName")
            .map(|s| scalar(s, &params))
            .transpose()
            .map_err(|e| err(file, format!("{id}.StageName: {e}")))?;
        match get(res, "Type").and_then(Value::as_str) {
            Some("AWS::Serverless::Api") => {
                apis.insert(id.into(), api(id, ApiKind::Rest, stage));
            }
            Some("AWS::Serverless::HttpApi") => {
                apis.insert(
                    id.into(),
                    api(id, ApiKind::Http, stage.filter(|s| s != "$default")),
                );
            }
            _ => {}
        }
    }
    for (id, res) in resources {
        let id = id.as_str().unwrap_or_default();
        if get(res, "Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let props = get(res, "Properties").cloned().unwrap_or(Value::Null);
        let prop = |k: &str| get(&props, k).or_else(|| get(&globals, k));
        let s = |k: &str| {
            prop(k)
                .map(|v| scalar(v, &params))
                .transpose()
                .map_err(|e| err(file, format!("{id}.{k}: {e}")))
        };
        let runtime = s("Runtime")?.unwrap_or_else(|| "provided.al2023".into());
        let handler = s("Handler")?.unwrap_or_else(|| "bootstrap".into());
        let code_uri = s("CodeUri")?.unwrap_or_else(|| ".".into());
        let name = s("FunctionName")?.unwrap_or_else(|| id.to_string());
        let (package, command, cwd) = if runtime.starts_with("provided") {
            // cargo-lambda's convention: CodeUri is the crate's folder, whose name is the binary's.
            let crate_name = Path::new(&code_uri)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (Some(crate_name), None, None)
        } else if runtime.starts_with("python") {
            (
                None,
                Some(vec![
                    "python3".into(),
                    "-m".into(),
                    "awslambdaric".into(),
                    handler.clone(),
                ]),
                Some(dir.join(&code_uri)),
            )
        } else if runtime.starts_with("nodejs") {
            (
                None,
                Some(vec!["npx".into(), "aws-lambda-ric".into(), handler.clone()]),
                Some(dir.join(&code_uri)),
            )
        } else {
            return Err(err(
                file,
                format!(
                    "{id}: runtime {runtime} is not supported; use provided.al2023, python3.x or nodejs"
                ),
            ));
        };
        let mut environment = BTreeMap::new();
        for source in [get(&globals, "Environment"), get(&props, "Environment")]
            .into_iter()
            .flatten()
        {
            if let Some(Value::Mapping(vars)) = get(source, "Variables") {
                for (k, v) in vars {
                    let k = k.as_str().unwrap_or_default().to_string();
                    let v = scalar(v, &params).unwrap_or_else(|e| {
                        tracing::warn!("{file}: {id}.Environment.{k}: {e}; using the empty string");
                        String::new()
                    });
                    environment.insert(k, v);
                }
            }
        }
        out.functions.push(FunctionConfig {
            name: Spanned::new(0..0, name.clone()),
            package,
            command,
            cwd,
            handler,
            timeout: s("Timeout")?.and_then(|t| t.parse().ok()).unwrap_or(3.0),
            memory_size: s("MemorySize")?.and_then(|t| t.parse().ok()).unwrap_or(128),
            max_concurrency: 10,
            reserved_concurrency: s("ReservedConcurrentExecutions")?.and_then(|t| t.parse().ok()),
            environment,
        });
        if let Some(Value::Mapping(events)) = get(&props, "Events") {
            for (ev_name, ev) in events {
                let ev_name = ev_name.as_str().unwrap_or_default();
                let ep = get(ev, "Properties").cloned().unwrap_or(Value::Null);
                let es = |k: &str| {
                    get(&ep, k)
                        .map(|v| scalar(v, &params))
                        .transpose()
                        .map_err(|e| err(file, format!("{id}.Events.{ev_name}.{k}: {e}")))
                };
                let (kind, api_key, default_id) = match get(ev, "Type").and_then(Value::as_str) {
                    Some("Api") => (ApiKind::Rest, "RestApiId", "ServerlessRestApi"),
                    Some("HttpApi") => (ApiKind::Http, "ApiId", "ServerlessHttpApi"),
                    _ => continue,
                };
                let api_id = es(api_key)?.unwrap_or_else(|| default_id.to_string());
                let path = es("Path")?.unwrap_or_else(|| "$default".into());
                let method = es("Method")?.unwrap_or_else(|| "ANY".into());
                let method = if method.eq_ignore_ascii_case("any") {
                    "ANY".into()
                } else {
                    method.to_ascii_uppercase()
                };
                let path = if path == "$default" {
                    "/{proxy+}".to_string()
                } else {
                    path
                };
                // SAM's implicit REST API is deployed to the stage `Prod`.
                let entry = apis.entry(api_id.clone()).or_insert_with(|| {
                    api(
                        &api_id,
                        kind,
                        (kind == ApiKind::Rest).then(|| "Prod".to_string()),
                    )
                });
                entry.routes.push(RouteConfig {
                    method,
                    path,
                    function: Spanned::new(0..0, name.clone()),
                    integration: IntegrationKind::Proxy,
                    api_key_required: false,
                    responses: vec![],
                    timeout_ms: None,
                });
            }
        }
    }
    out.apis = apis
        .into_values()
        .filter(|a| !a.routes.is_empty())
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Table:
    Type: String
    Default: my-table
Globals:
  Function:
    Timeout: 9
Resources:
  MyApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
  TimeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: handlers/epoch-time
      Handler: bootstrap
      Runtime: provided.al2023
      MemorySize: 256
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Something.Arn
      Events:
        Time:
          Type: Api
          Properties:
            RestApiId: !Ref MyApi
            Path: /time
            Method: get
        TimeV2:
          Type: HttpApi
          Properties:
            Path: /v2/time
            Method: GET
  PyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"#;

    #[test]
    fn functions_and_apis_from_a_template() {
        let t = parse("template.yaml", TEMPLATE, Path::new("/proj")).unwrap();
        let f = t
            .functions
            .iter()
            .find(|f| f.name() == "TimeFunction")
            .unwrap();
        assert_eq!(f.package.as_deref(), Some("epoch-time"));
        assert_eq!((f.timeout, f.memory_size), (9.0, 256));
        assert_eq!(f.environment["TABLE"], "my-table");
        assert_eq!(
            f.environment["ARN"], "",
            "an unresolvable intrinsic becomes the empty string"
        );
        let py = t
            .functions
            .iter()
            .find(|f| f.name() == "PyFunction")
            .unwrap();
        assert_eq!(
            py.command.as_ref().unwrap(),
            &["python3", "-m", "awslambdaric", "app.handler"]
        );
        let rest = t.apis.iter().find(|a| a.name == "MyApi").unwrap();
        assert_eq!(rest.stage.as_deref(), Some("Prod"));
        assert_eq!(
            (rest.routes[0].method.as_str(), rest.routes[0].path.as_str()),
            ("GET", "/time")
        );
        let http = t
            .apis
            .iter()
            .find(|a| a.name == "ServerlessHttpApi")
            .unwrap();
        assert_eq!(http.kind, ApiKind::Http);
    }

    #[test]
    fn unresolvable_intrinsic_in_a_route_is_a_clear_error() {
        let t = TEMPLATE.replace("Path: /time", "Path: !Sub '/${Table}'");
        let e = parse("template.yaml", &t, Path::new("/proj")).unwrap_err();
        assert!(
            e.to_string().contains(
                "TimeFunction.Events.Time.Path: the intrinsic !Sub cannot be resolved offline"
            ),
            "{e}"
        );
    }

    #[test]
    fn yaml_errors_have_a_line() {
        let e = parse("template.yaml", "Resources:\n  A: [\n", Path::new("/")).unwrap_err();
        assert!(e.line > 0, "{e}");
    }
}
