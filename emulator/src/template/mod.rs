//! SAM and CloudFormation templates, turned into the emulator's config: what `sam deploy` would deploy, for
//! everything Offcloud emulates, and a named line for everything it does not.
//!
//! The steps, each its own module:
//! - [`yaml`] reads YAML or JSON, with CloudFormation's short forms (`!Ref`, `!Sub`, ...) in their long form,
//!   and finds the line of any key path for errors;
//! - [`stack`] evaluates parameters and conditions and knows each resource's physical id and attributes;
//! - [`intrinsics`] resolves `Ref`, `Fn::Sub`, `Fn::GetAtt` and the other functions;
//! - [`sam`] is the SAM transform (Globals, functions and their events, implicit and explicit APIs, layers,
//!   aliases, simple tables);
//! - [`cfn`] reads plain CloudFormation resources (`AWS::Lambda::Function`, `AWS::ApiGateway::*`,
//!   `AWS::ApiGatewayV2::*`, `AWS::DynamoDB::Table`);
//! - [`openapi`] reads API definitions (OpenAPI 3, Swagger 2) with their `x-amazon-apigateway-*` extensions,
//!   and [`routes`] turns them into routes;
//! - [`build`] turns functions and APIs into config entries, and [`summary`] describes the result at start-up.
//!
//! The config is the one thing this module produces; nothing in the config depends on templates.

mod build;
mod cfn;
pub mod intrinsics;
pub mod openapi;
mod routes;
mod sam;
pub mod stack;
pub mod summary;
#[cfg(test)]
mod tests;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError, Parts};
pub use summary::Summary;
pub use yaml::TemplateError;

impl From<TemplateError> for ConfigError {
    fn from(e: TemplateError) -> Self {
        ConfigError {
            file: e.file,
            line: e.line,
            message: e.message,
        }
    }
}

/// How a template is deployed: the names CloudFormation would take from the account and the deploy command.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--stack-name`; by default the template's folder name.
    pub stack_name: Option<String>,
    /// `--parameter-overrides Key=Value ...`.
    pub parameter_overrides: BTreeMap<String, String>,
}

/// A template read into config entries, with what the start-up summary says about it.
pub struct Loaded {
    pub parts: Parts,
    pub summary: Summary,
}

/// Reads a template file; `region` and `account_id` are the emulator's.
pub fn load(
    path: &Path,
    region: &str,
    account_id: &str,
    options: &Options,
) -> Result<Loaded, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read the template: {e}"),
    })?;
    let dir = crate::config::absolute(path.parent().unwrap_or(Path::new(".")));
    let dir = if dir.as_os_str().is_empty() {
        crate::config::absolute(Path::new("."))
    } else {
        dir
    };
    let stack_name = options.stack_name.clone().unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "local".into())
    });
    let pseudo = stack::Pseudo::new(region, account_id, &sanitize_stack_name(&stack_name));
    Ok(parse(
        &file,
        &text,
        &dir,
        pseudo,
        &options.parameter_overrides,
    )?)
}

/// Reads template text. `dir` is the template's own folder, against which code paths are resolved.
pub fn parse(
    file: &str,
    text: &str,
    dir: &Path,
    pseudo: stack::Pseudo,
    overrides: &BTreeMap<String, String>,
) -> Result<Loaded, TemplateError> {
    let doc = yaml::parse(file, text)?;
    let stack = stack::Stack::new(file, text, doc, pseudo, overrides)?;
    let transforms: Vec<String> = match stack.doc.get("Transform") {
        None => vec![],
        Some(serde_json::Value::String(t)) => vec![t.clone()],
        Some(serde_json::Value::Array(ts)) => ts.iter().map(stack::scalar_text).collect(),
        Some(_) => {
            return Err(stack.error(
                &["Transform"],
                "Transform must be a name or a list of names".into(),
            ));
        }
    };
    for t in &transforms {
        if t != sam::TRANSFORM {
            return Err(stack.error(
                &["Transform"],
                format!(
                    "the transform {t} is not supported: Offcloud runs {} and plain CloudFormation",
                    sam::TRANSFORM
                ),
            ));
        }
    }
    let mut b = build::Builder::new(&stack, dir.to_path_buf());
    sam::transform(&mut b)?;
    cfn::read(&mut b)?;
    b.finish()
}

/// The config file, plus a template's functions, APIs and tables, and the template's start-up summary. With a
/// template, a missing config file is no error.
pub fn load_project(
    config: &Path,
    template: Option<&Path>,
    options: &Options,
) -> Result<(Config, Option<Summary>), ConfigError> {
    let mut c = match template {
        Some(t) if !config.exists() => Config::empty(t.parent().unwrap_or(Path::new(".")))?,
        _ => Config::load(config)?,
    };
    import_openapi(&mut c)?;
    let Some(t) = template else {
        return Ok((c, None));
    };
    let loaded = load(t, &c.region, &c.account_id, options)?;
    c.merge(t, loaded.parts)?;
    Ok((c, Some(loaded.summary)))
}

/// Adds each `[[api]]`'s `openapi` file's operations to its routes, for config users.
pub fn import_openapi(config: &mut Config) -> Result<(), ConfigError> {
    let base = config.base_dir.clone();
    let functions: Vec<String> = config
        .functions
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for api in &mut config.apis {
        let Some(file) = api.openapi.clone() else {
            continue;
        };
        let path: PathBuf = base.join(file.get_ref());
        let def = openapi::read_file(&path).map_err(|e| {
            config
                .source
                .error(file.span(), format!("{}: {e}", path.display()))
        })?;
        let imported = routes::from_definition(&def, &api.stage_variables, &|name| {
            functions
                .iter()
                .any(|f| f == name)
                .then(|| name.to_string())
        })
        .map_err(|e| {
            config
                .source
                .error(file.span(), format!("{}: {e}", path.display()))
        })?;
        for w in &imported.warnings {
            tracing::warn!("{}: {w}", path.display());
        }
        imported.apply_to(api);
    }
    Ok(())
}

/// One `--parameter-overrides` item: `Key=Value`, or the CLI's `ParameterKey=K,ParameterValue=V`.
pub fn parse_override(item: &str) -> Option<(String, String)> {
    if let Some(rest) = item.strip_prefix("ParameterKey=") {
        let (k, v) = rest.split_once(",ParameterValue=")?;
        return Some((k.to_string(), v.to_string()));
    }
    let (k, v) = item.split_once('=')?;
    (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
}

/// CloudFormation stack names are letters, digits and hyphens, starting with a letter.
/// Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html
fn sanitize_stack_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert_str(0, "stack-");
    }
    s.truncate(128);
    s
}
