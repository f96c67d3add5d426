//! The template module as a whole: text in, config entries and a summary out, and every mistake named with
//! its file, line and logical id.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Loaded, parse, stack::Pseudo};
use crate::config::ApiKind;

fn load(text: &str) -> Result<Loaded, super::TemplateError> {
    load_with(text, &BTreeMap::new())
}

fn load_with(
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Loaded, super::TemplateError> {
    let dir = std::env::temp_dir().join(format!("offcloud-template-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    parse(
        "template.yaml",
        text,
        Path::new(&dir),
        Pseudo::new("eu-west-1", "123456789012", "shop"),
        overrides,
    )
}

const HEAD: &str = "Transform: AWS::Serverless-2016-10-31\nResources:\n";

fn function(props: &str) -> String {
    format!(
        "{HEAD}  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: src\n{props}"
    )
}

#[test]
fn an_unnamed_function_gets_cloudformations_generated_name_and_keeps_its_logical_id() {
    let t = load(&function("")).unwrap();
    let f = &t.parts.functions[0];
    let name = f.name();
    assert!(name.starts_with("shop-Fn-"), "{name}");
    assert_eq!(name.len(), "shop-Fn-".len() + 13);
    assert!(
        name[8..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(f.also_known_as, ["Fn"]);
    // The same stack and id always give the same name, so goldens and scripts can rely on it.
    assert_eq!(load(&function("")).unwrap().parts.functions[0].name(), name);
}

#[test]
fn globals_merge_as_sam_merges_them() {
    let text = format!(
        "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Timeout: 9\n    Environment:\n      Variables:\n        A: global\n        B: global\n{}",
        &function("      Environment:\n        Variables:\n          B: local\n")
            [HEAD.len() - "Resources:\n".len()..]
    );
    let t = load(&text).unwrap();
    let f = &t.parts.functions[0];
    assert_eq!(f.timeout, 9.0);
    assert_eq!(f.environment["A"], "global");
    assert_eq!(f.environment["B"], "local");
}

#[test]
fn implicit_apis_and_the_http_default_route() {
    let t = load(&function(
        "      Events:\n        Get:\n          Type: Api\n          Properties:\n            Path: /items/{id}\n            Method: get\n        All:\n          Type: HttpApi\n",
    ))
    .unwrap();
    let rest = t
        .parts
        .apis
        .iter()
        .find(|a| a.name == "ServerlessRestApi")
        .unwrap();
    assert_eq!(rest.stage.as_deref(), Some("Prod"));
    assert_eq!(
        (rest.routes[0].method.as_str(), rest.routes[0].path.as_str()),
        ("GET", "/items/{id}")
    );
    let http = t
        .parts
        .apis
        .iter()
        .find(|a| a.name == "ServerlessHttpApi")
        .unwrap();
    assert_eq!(http.kind, ApiKind::Http);
    assert_eq!(
        (http.routes[0].method.as_str(), http.routes[0].path.as_str()),
        ("ANY", "$default")
    );
}

#[test]
fn parameters_take_overrides_and_are_checked() {
    let text = format!(
        "Parameters:\n  Stage:\n    Type: String\n    AllowedValues: [dev, prod]\n    Default: dev\n{}",
        function("      FunctionName: !Sub 'orders-${Stage}'\n")
    );
    assert_eq!(load(&text).unwrap().parts.functions[0].name(), "orders-dev");
    let prod = BTreeMap::from([("Stage".to_string(), "prod".to_string())]);
    assert_eq!(
        load_with(&text, &prod).unwrap().parts.functions[0].name(),
        "orders-prod"
    );
    let bad = BTreeMap::from([("Stage".to_string(), "qa".to_string())]);
    let e = load_with(&text, &bad).err().unwrap();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("not one of its AllowedValues"), "{e}");
    let unknown = BTreeMap::from([("Nope".to_string(), "x".to_string())]);
    assert!(
        load_with(&text, &unknown)
            .err()
            .unwrap()
            .message
            .contains("does not declare")
    );
}

#[test]
fn a_malformed_template_names_its_line() {
    let e = load("Resources:\n  Fn:\n    Type: [\n").err().unwrap();
    assert_eq!(e.file, "template.yaml");
    assert!(e.line >= 3, "{e}");
}

#[test]
fn a_missing_code_uri_is_sams_error_at_the_function() {
    let text = format!(
        "{HEAD}  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n"
    );
    let e = load(&text).err().unwrap();
    assert_eq!(e.line, 5, "{e}");
    assert!(
        e.message
            .contains("Either 'InlineCode' or 'CodeUri' must be set."),
        "{e}"
    );
}

#[test]
fn an_unknown_runtime_is_named() {
    let e = load(&function("").replace("python3.12", "cobol85"))
        .err()
        .unwrap();
    assert!(e.message.contains("Fn: unknown runtime \"cobol85\""), "{e}");
    assert_eq!(e.line, 5, "{e}");
}

#[test]
fn a_circular_ref_is_an_error_not_a_hang() {
    let text = format!(
        "{HEAD}  A:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Ref B\n  B:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Ref A\n"
    );
    let e = load(&text).err().unwrap();
    assert!(e.message.contains("circular reference"), "{e}");
}

#[test]
fn an_unresolvable_ref_is_an_error_never_the_literal_text() {
    let e = load(&function(
        "      Environment:\n        Variables:\n          TABLE: !Ref NoSuchTable\n",
    ))
    .err()
    .unwrap();
    assert!(e.message.contains("NoSuchTable"), "{e}");
    assert_eq!(e.line, 11, "{e}");
}

#[test]
fn import_value_is_refused_by_name() {
    let e = load(&function(
        "      Environment:\n        Variables:\n          URL: !ImportValue shared-url\n",
    ))
    .err()
    .unwrap();
    assert!(e.message.contains("Fn::ImportValue"), "{e}");
}

#[test]
fn routes_behind_authorizers_offcloud_cannot_evaluate_are_closed_and_named() {
    let text = format!(
        "{HEAD}  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: v1\n      Auth:\n        DefaultAuthorizer: Tokens\n        Authorizers:\n          Tokens:\n            FunctionArn: arn:aws:lambda:eu-west-1:123456789012:function:auth\n{}",
        &function(
            "      Events:\n        Get:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /x\n            Method: get\n        Open:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /open\n            Method: get\n            Auth:\n              Authorizer: NONE\n        Iam:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /iam\n            Method: get\n            Auth:\n              Authorizer: AWS_IAM\n",
        )[HEAD.len()..]
    );
    let t = load(&text).unwrap();
    let api = &t.parts.apis[0];
    let route = |p: &str| api.routes.iter().find(|r| r.path == p).unwrap();
    assert!(
        route("/x")
            .unsupported_auth
            .as_deref()
            .unwrap()
            .contains("Tokens")
    );
    assert!(route("/open").unsupported_auth.is_none());
    assert!(route("/iam").iam_auth);
    assert!(
        t.summary
            .warnings
            .iter()
            .any(|w| w.contains("authorizer Tokens (Lambda TOKEN)")),
        "{:?}",
        t.summary.warnings
    );
}

#[test]
fn unsupported_events_and_resources_are_listed_not_fatal() {
    let text = format!(
        "{}  Queue:\n    Type: AWS::SQS::Queue\n",
        function(
            "      Events:\n        Work:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Queue.Arn\n",
        )
    );
    let t = load(&text).unwrap();
    assert!(
        t.summary
            .not_emulated
            .contains(&"Fn: event Work of type SQS".to_string())
    );
    assert!(
        t.summary
            .not_emulated
            .contains(&"Queue (AWS::SQS::Queue)".to_string())
    );
}

#[test]
fn other_transforms_are_refused_by_name() {
    let e =
        load("Transform: AWS::LanguageExtensions\nResources:\n  A:\n    Type: AWS::SQS::Queue\n")
            .err()
            .unwrap();
    assert!(
        e.message
            .contains("AWS::LanguageExtensions is not supported"),
        "{e}"
    );
    assert_eq!(e.line, 1);
}
