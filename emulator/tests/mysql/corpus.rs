//! The corpus: statements, each with the set-up it needs and the parameters it binds, read from
//! `tests/mysql/corpus/*.toml`.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub setup: Vec<String>,
    pub sql: String,
    /// A query run after `sql`, to see what a write did.
    pub then: Option<String>,
    /// `commit` or `rollback`: `sql` runs inside a transaction ended so, before `then`.
    pub transaction: Option<End>,
    #[serde(default)]
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum End {
    Commit,
    Rollback,
}

/// One Data API parameter, with exactly one value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    long: Option<i64>,
    string: Option<String>,
    double: Option<f64>,
    null: Option<bool>,
    bool: Option<bool>,
    /// Base64, as `blobValue` takes it.
    blob: Option<String>,
    hint: Option<String>,
}

impl Param {
    /// The `SqlParameter` a Data API client sends.
    pub fn to_data_api(&self) -> Value {
        let value = match self {
            Param { long: Some(n), .. } => json!({"longValue": n}),
            Param {
                string: Some(s), ..
            } => json!({"stringValue": s}),
            Param {
                double: Some(d), ..
            } => json!({"doubleValue": d}),
            Param { bool: Some(b), .. } => json!({"booleanValue": b}),
            Param { blob: Some(b), .. } => json!({"blobValue": b}),
            Param {
                null: Some(true), ..
            } => json!({"isNull": true}),
            _ => panic!("parameter {} has no value", self.name),
        };
        let mut p = json!({"name": self.name, "value": value});
        if let Some(h) = &self.hint {
            p["typeHint"] = json!(h);
        }
        p
    }

    /// The literal the Data API's MySQL driver puts in the statement's text. Aurora's Data API binds through
    /// client-side prepared statements, which substitute escaped literals; a DECIMAL hint binds a number.
    pub fn to_mysql_literal(&self) -> String {
        match self {
            Param { long: Some(n), .. } => n.to_string(),
            Param {
                string: Some(s),
                hint,
                ..
            } => {
                if hint.as_deref() == Some("DECIMAL") {
                    s.clone()
                } else {
                    quote(s)
                }
            }
            Param {
                double: Some(d), ..
            } => format!("{d:?}"),
            Param { bool: Some(b), .. } => if *b { "1" } else { "0" }.to_string(),
            Param { blob: Some(b), .. } => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .expect("a blob parameter is base64");
                let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                format!("X'{hex}'")
            }
            _ => "NULL".to_string(),
        }
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `sql` with each `:name` outside quotes, backticks and comments replaced by its literal.
pub fn substitute(sql: &str, params: &[Param]) -> String {
    if params.is_empty() {
        return sql.to_string();
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' || c == '`' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
            continue;
        }
        if c == ':'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_')
        {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            if let Some(p) = params.iter().find(|p| p.name == name) {
                out.push_str(&p.to_mysql_literal());
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Every case in `dir`'s TOML files, in file and then written order, with the file each came from.
pub fn load(dir: &Path) -> Result<Vec<(String, Case)>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut names = std::collections::HashSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let file: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        for case in file.case {
            if !names.insert(case.name.clone()) {
                return Err(format!(
                    "{}: case {} is named twice",
                    path.display(),
                    case.name
                ));
            }
            cases.push((stem.clone(), case));
        }
    }
    Ok(cases)
}
