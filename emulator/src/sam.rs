//! Functions and APIs from an AWS SAM template, so that a user who has one writes no config.
//!
//! Understood: `AWS::Serverless::Function` with `Events` of type `Api` and `HttpApi`, `AWS::Serverless::Api` and
//! `AWS::Serverless::HttpApi` with their `StageName`, `Globals.Function`, and the DynamoDB tables of
//! `AWS::DynamoDB::Table` and `AWS::Serverless::SimpleTable`, which are created at start-up. A table without a
//! `TableName` is named after its logical id (CloudFormation would generate a name). `!Ref` resolves to a table's
//! name, as CloudFormation's does, to a parameter's `Default`, or else to the resource's logical id. Other intrinsics (`!GetAtt`, `!Sub`, `!ImportValue`, ...) cannot be resolved
//! offline: in an environment variable they become the empty string with a warning (the documented default);
//! anywhere else they are an error that names the resource and the property.
//! Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;
use toml::Spanned;

use crate::config::{
    ApiConfig, ApiKind, ConfigError, FunctionConfig, GsiConfig, IntegrationKind, KeyConfig,
    KeyType, RouteConfig, TableConfig,
};

/// What a template contributes to the config.
#[derive(Debug, Default)]
pub struct Template {
    pub functions: Vec<FunctionConfig>,
    pub apis: Vec<ApiConfig>,
    pub tables: Vec<TableConfig>,
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

/// A table from an `AWS::DynamoDB::Table` or an `AWS::Serverless::SimpleTable`.
/// Sources: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html and
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-simpletable.html
fn table(
    id: &str,
    kind: &str,
    props: &Value,
    params: &BTreeMap<String, String>,
) -> Result<TableConfig, String> {
    let name = get(props, "TableName")
        .map(|n| scalar(n, params))
        .transpose()
        .map_err(|e| format!("{id}.TableName: {e}"))?
        .unwrap_or_else(|| id.to_string());
    let mut table = TableConfig {
        name: Spanned::new(0..0, name),
        hash_key: KeyConfig {
            name: "id".into(),
            kind: KeyType::S,
        },
        range_key: None,
        gsi: vec![],
        stream: None,
        ttl_attribute: None,
    };
    if kind == "AWS::Serverless::SimpleTable" {
        // SAM's default primary key is `id`, a String.
        if let Some(pk) = get(props, "PrimaryKey") {
            let text = |k: &str| get(pk, k).and_then(|v| scalar(v, params).ok());
            table.hash_key.name = text("Name").unwrap_or_else(|| "id".into());
            table.hash_key.kind = match text("Type").as_deref().unwrap_or("String") {
                "String" => KeyType::S,
                "Number" => KeyType::N,
                "Binary" => KeyType::B,
                other => {
                    return Err(format!(
                        "{id}.PrimaryKey.Type: {other} is not String, Number or Binary"
                    ));
                }
            };
        }
        return Ok(table);
    }
    let mut types = BTreeMap::new();
    for d in get(props, "AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = get(d, "AttributeName").and_then(Value::as_str);
        let kind = match get(d, "AttributeType").and_then(Value::as_str) {
            Some("S") => KeyType::S,
            Some("N") => KeyType::N,
            Some("B") => KeyType::B,
            other => {
                return Err(format!(
                    "{id}.AttributeDefinitions: attribute type {other:?} is not S, N or B"
                ));
            }
        };
        if let Some(name) = name {
            types.insert(name.to_string(), kind);
        }
    }
    let keys =
        |schema: Option<&Value>, at: &str| -> Result<(KeyConfig, Option<KeyConfig>), String> {
            let mut hash = None;
            let mut range = None;
            for k in schema.and_then(Value::as_sequence).into_iter().flatten() {
                let name = get(k, "AttributeName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let kind = *types
                    .get(name)
                    .ok_or_else(|| format!("{id}.{at}: {name:?} is not in AttributeDefinitions"))?;
                let key = KeyConfig {
                    name: name.to_string(),
                    kind,
                };
                match get(k, "KeyType").and_then(Value::as_str) {
                    Some("HASH") => hash = Some(key),
                    Some("RANGE") => range = Some(key),
                    other => {
                        return Err(format!(
                            "{id}.{at}: key type {other:?} is not HASH or RANGE"
                        ));
                    }
                }
            }
            Ok((
                hash.ok_or_else(|| format!("{id}.{at} has no HASH key"))?,
                range,
            ))
        };
    let (hash, range) = keys(get(props, "KeySchema"), "KeySchema")?;
    table.hash_key = hash;
    table.range_key = range;
    for g in get(props, "GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = get(g, "IndexName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (hash_key, range_key) = keys(
            get(g, "KeySchema"),
            &format!("GlobalSecondaryIndexes.{name}"),
        )?;
        let projection = get(g, "Projection")
            .and_then(|p| get(p, "ProjectionType"))
            .and_then(Value::as_str)
            .map(str::to_string);
        table.gsi.push(GsiConfig {
            name,
            hash_key,
            range_key,
            projection,
        });
    }
    table.stream = get(props, "StreamSpecification")
        .and_then(|s| get(s, "StreamViewType"))
        .and_then(Value::as_str)
        .map(|v| Spanned::new(0..0, v.to_string()));
    let ttl = get(props, "TimeToLiveSpecification");
    if ttl.and_then(|t| get(t, "Enabled")).and_then(Value::as_bool) == Some(true) {
        table.ttl_attribute = ttl
            .and_then(|t| get(t, "AttributeName"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(table)
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
            Some(kind @ ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable")) => {
                let table = table(id, kind, &props, &params).map_err(|e| err(file, e))?;
                out.tables.push(table);
            }
            _ => {}
        }
    }
    // `!Ref` to a table is its name.
    for t in &out.tables {
        if let Some(id) = resources
            .iter()
            .find(|(_, r)| {
                get(r, "Properties")
                    .and_then(|p| get(p, "TableName"))
                    .and_then(|n| scalar(n, &params).ok())
                    .as_deref()
                    == Some(t.name.get_ref())
            })
            .and_then(|(id, _)| id.as_str())
        {
            params.insert(id.to_string(), t.name.get_ref().clone());
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
      Environment:
        Variables:
          ITEMS: !Ref ItemsTable
          SIMPLE: !Ref Simple
  ItemsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: items
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
        - AttributeName: n
          AttributeType: N
        - AttributeName: colour
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
        - AttributeName: n
          KeyType: RANGE
      GlobalSecondaryIndexes:
        - IndexName: by-colour
          KeySchema:
            - AttributeName: colour
              KeyType: HASH
          Projection:
            ProjectionType: ALL
      StreamSpecification:
        StreamViewType: NEW_IMAGE
      TimeToLiveSpecification:
        AttributeName: expires
        Enabled: true
  Simple:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey:
        Name: code
        Type: Number
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
    fn tables_from_a_template() {
        let t = parse("template.yaml", TEMPLATE, Path::new("/proj")).unwrap();
        let items = t
            .tables
            .iter()
            .find(|t| t.name.get_ref() == "items")
            .unwrap();
        assert_eq!(
            (items.hash_key.name.as_str(), items.hash_key.kind),
            ("pk", KeyType::S)
        );
        let range = items.range_key.as_ref().unwrap();
        assert_eq!((range.name.as_str(), range.kind), ("n", KeyType::N));
        assert_eq!(items.gsi[0].name, "by-colour");
        assert_eq!(items.gsi[0].hash_key.name, "colour");
        assert_eq!(items.stream.as_ref().unwrap().get_ref(), "NEW_IMAGE");
        assert_eq!(items.ttl_attribute.as_deref(), Some("expires"));
        // A SimpleTable without a TableName is named after its logical id.
        let simple = t
            .tables
            .iter()
            .find(|t| t.name.get_ref() == "Simple")
            .unwrap();
        assert_eq!(
            (simple.hash_key.name.as_str(), simple.hash_key.kind),
            ("code", KeyType::N)
        );
        // `!Ref` to a table is its name.
        let py = t
            .functions
            .iter()
            .find(|f| f.name() == "PyFunction")
            .unwrap();
        assert_eq!(py.environment["ITEMS"], "items");
        assert_eq!(py.environment["SIMPLE"], "Simple");
    }

    #[test]
    fn a_key_without_a_definition_is_a_clear_error() {
        let t = TEMPLATE.replace(
            "AttributeName: n\n          KeyType: RANGE",
            "AttributeName: m\n          KeyType: RANGE",
        );
        let e = parse("template.yaml", &t, Path::new("/proj")).unwrap_err();
        assert!(
            e.to_string()
                .contains("ItemsTable.KeySchema: \"m\" is not in AttributeDefinitions"),
            "{e}"
        );
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
