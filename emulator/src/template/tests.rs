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
        (
            rest.routes[0].method.get_ref().as_str(),
            rest.routes[0].path.as_str()
        ),
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
        (
            http.routes[0].method.get_ref().as_str(),
            http.routes[0].path.as_str()
        ),
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
fn lambda_and_cognito_authorizers_are_wired() {
    let text = format!(
        "{HEAD}  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: v1\n      Auth:\n        DefaultAuthorizer: Tokens\n        Authorizers:\n          Tokens:\n            FunctionArn: arn:aws:lambda:eu-west-1:123456789012:function:auth\n            Identity:\n              Header: X-Token\n              ReauthorizeEvery: 60\n          Pool:\n            UserPoolArn: arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_x\n{}",
        &function(
            "      Events:\n        Get:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /x\n            Method: get\n        Open:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /open\n            Method: get\n            Auth:\n              Authorizer: NONE\n        Iam:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /iam\n            Method: get\n            Auth:\n              Authorizer: AWS_IAM\n        Cognito:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /pool\n            Method: get\n            Auth:\n              Authorizer: Pool\n",
        )[HEAD.len()..]
    );
    let t = load(&text).unwrap();
    let api = &t.parts.apis[0];
    let route = |p: &str| api.routes.iter().find(|r| r.path == p).unwrap();
    assert_eq!(route("/x").authorizer.as_deref(), Some("Tokens"));
    let a = api
        .authorizers
        .iter()
        .find(|a| a.name.get_ref() == "Tokens")
        .unwrap();
    assert_eq!(
        (
            a.name.get_ref().as_str(),
            a.kind.as_str(),
            a.function.as_ref().unwrap().get_ref().as_str()
        ),
        ("Tokens", "token", "auth")
    );
    assert_eq!(a.identity_source, ["method.request.header.X-Token"]);
    assert_eq!(a.ttl_seconds, Some(60));
    assert!(route("/open").authorizer.is_none() && route("/open").unsupported_auth.is_none());
    assert!(route("/iam").iam_auth);
    // A Cognito authorizer checks tokens from its user pool's issuer, signed by `offcloud token`'s key.
    assert_eq!(route("/pool").authorizer.as_deref(), Some("Pool"));
    let pool = api
        .authorizers
        .iter()
        .find(|a| a.name.get_ref() == "Pool")
        .unwrap();
    assert_eq!(pool.kind, "cognito");
    assert_eq!(
        pool.issuer.as_deref(),
        Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x")
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

#[test]
fn a_raw_lambda_authorizer_guards_its_methods() {
    let text = "Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Code:
        ZipFile: |
          def handler(event, context):
              return {}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: api
  Auth:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Type: REQUEST
      IdentitySource: method.request.header.Authorization, method.request.querystring.key
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
  Get:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: GET
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
";
    let t = load(text).unwrap();
    let api = &t.parts.apis[0];
    assert_eq!(api.routes[0].authorizer.as_deref(), Some("Auth"));
    let a = &api.authorizers[0];
    assert_eq!(a.kind, "request");
    assert_eq!(
        a.function.as_ref().unwrap().get_ref(),
        t.parts.functions[0].name()
    );
    assert_eq!(
        a.identity_source,
        ["method.request.header.Authorization, method.request.querystring.key"]
    );
    match crate::apigw::authorizer_config(ApiKind::Rest, a).unwrap() {
        crate::apigw::auth::Checker::Lambda(cfg) => assert_eq!(cfg.identity_sources.len(), 2),
        _ => panic!("a Lambda authorizer"),
    }
}

#[test]
fn sam_request_models_and_parameters_become_validation() {
    let text = format!(
        "{HEAD}  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: v1\n      Models:\n        Pet:\n          type: object\n          required: [name]\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: src\n      Events:\n        Post:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /pets\n            Method: post\n            RequestModel:\n              Model: Pet\n              Required: true\n              ValidateBody: true\n            RequestParameters:\n              - method.request.header.X-Optional\n              - method.request.querystring.owner:\n                  Required: true\n        NoValidator:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /pets\n            Method: get\n            RequestModel:\n              Model: Pet\n"
    );
    let t = load(&text).unwrap();
    let api = &t.parts.apis[0];
    // SAM keeps models under lower-cased names.
    assert_eq!(api.models["pet"]["required"], serde_json::json!(["name"]));
    let post = api
        .routes
        .iter()
        .find(|r| r.method.get_ref() == "POST")
        .unwrap();
    let v = post.validation.as_ref().expect("a validator");
    assert_eq!(
        (v.body, v.parameters),
        (true, false),
        "the missing flag defaults to false"
    );
    assert_eq!(v.models["application/json"], "pet");
    assert_eq!(v.required_query, ["owner"]);
    assert!(v.required_headers.is_empty(), "a bare string is optional");
    // Without ValidateBody or ValidateParameters SAM attaches no validator.
    let get = api
        .routes
        .iter()
        .find(|r| r.method.get_ref() == "GET")
        .unwrap();
    assert!(get.validation.is_none());
}

#[test]
fn cloudformation_validators_and_models_apply_to_methods() {
    let text = "Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Code:
        ZipFile: |
          def handler(event, context):
              return {}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: api
      ApiKeySourceType: AUTHORIZER
  Cors4xx:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: DEFAULT_4XX
      StatusCode: '418'
      ResponseParameters:
        gatewayresponse.header.Access-Control-Allow-Origin: \"'*'\"
  Both:
    Type: AWS::ApiGateway::RequestValidator
    Properties:
      RestApiId: !Ref Api
      ValidateRequestBody: true
      ValidateRequestParameters: true
  Order:
    Type: AWS::ApiGateway::Model
    Properties:
      RestApiId: !Ref Api
      Name: Order
      ContentType: application/json
      Schema:
        type: object
        required: [sku]
  Post:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: POST
      AuthorizationType: NONE
      RequestValidatorId: !Ref Both
      RequestModels:
        application/json: !Ref Order
      RequestParameters:
        method.request.header.X-Tenant: true
        method.request.querystring.debug: false
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
";
    let t = load(text).unwrap();
    let api = &t.parts.apis[0];
    assert_eq!(api.api_key_source.as_deref(), Some("AUTHORIZER"));
    let g = &api.gateway_responses["DEFAULT_4XX"];
    assert_eq!(g.status, Some(418));
    assert_eq!(g.headers["Access-Control-Allow-Origin"], "'*'");
    let v = api.routes[0].validation.as_ref().expect("a validator");
    assert_eq!((v.body, v.parameters), (true, true));
    let model = &v.models["application/json"];
    assert_eq!(api.models[model]["required"], serde_json::json!(["sku"]));
    assert_eq!(v.required_headers, ["X-Tenant"]);
    assert!(v.required_query.is_empty());
    assert!(t.summary.warnings.is_empty(), "{:?}", t.summary.warnings);
}

#[test]
fn http_api_authorizers_from_cloudformation_guard_their_routes() {
    let text = "Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Code:
        ZipFile: |
          def handler(event, context):
              return {}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: api
      ProtocolType: HTTP
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Fn.Arn
      PayloadFormatVersion: '2.0'
  Jwt:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: jwt
      AuthorizerType: JWT
      IdentitySource: [$request.header.Authorization]
      JwtConfiguration:
        Issuer: https://issuer.example.com
        Audience: [shop]
  Lambda:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: lambda
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
      AuthorizerPayloadFormatVersion: '2.0'
      EnableSimpleResponses: true
      IdentitySource: [$request.header.X-Key]
  Protected:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: GET /orders
      AuthorizationType: JWT
      AuthorizerId: !Ref Jwt
      AuthorizationScopes: [orders.read]
      Target: !Sub integrations/${Integration}
  Custom:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: POST /orders
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Lambda
      Target: !Sub integrations/${Integration}
";
    let t = load(text).unwrap();
    let api = &t.parts.apis[0];
    let get = api
        .routes
        .iter()
        .find(|r| r.method.get_ref() == "GET")
        .unwrap();
    assert_eq!(get.authorizer.as_deref(), Some("Jwt"));
    assert_eq!(get.scopes, ["orders.read"]);
    let post = api
        .routes
        .iter()
        .find(|r| r.method.get_ref() == "POST")
        .unwrap();
    assert_eq!(post.authorizer.as_deref(), Some("Lambda"));
    assert!(post.unsupported_auth.is_none() && get.unsupported_auth.is_none());
    let jwt = api
        .authorizers
        .iter()
        .find(|a| a.name.get_ref() == "Jwt")
        .unwrap();
    assert_eq!(
        (jwt.kind.as_str(), jwt.issuer.as_deref()),
        ("jwt", Some("https://issuer.example.com"))
    );
    assert_eq!(jwt.audience, ["shop"]);
    let lambda = api
        .authorizers
        .iter()
        .find(|a| a.name.get_ref() == "Lambda")
        .unwrap();
    assert_eq!(lambda.kind, "request");
    assert!(lambda.simple_responses);
    assert_eq!(lambda.identity_source, ["$request.header.X-Key"]);
    assert_eq!(
        lambda.function.as_ref().unwrap().get_ref(),
        t.parts.functions[0].name()
    );
    for a in &api.authorizers {
        crate::apigw::authorizer_config(ApiKind::Http, a).unwrap();
    }
}

#[test]
fn sam_cors_preflights_take_the_default_authorizer_unless_told_not_to() {
    let api = |flag: &str| {
        format!(
            "{HEAD}  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: v1\n      Cors: \"'*'\"\n      Auth:\n        DefaultAuthorizer: Tokens\n{flag}        Authorizers:\n          Tokens:\n            FunctionArn: !GetAtt Fn.Arn\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: src\n      Events:\n        Get:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /x\n            Method: get\n"
        )
    };
    let t = load(&api("")).unwrap();
    let cors = t.parts.apis[0].cors.as_ref().unwrap();
    assert_eq!(cors.authorizer.as_deref(), Some("Tokens"));
    let t = load(&api("        AddDefaultAuthorizerToCorsPreflight: false\n")).unwrap();
    assert_eq!(t.parts.apis[0].cors.as_ref().unwrap().authorizer, None);
}
