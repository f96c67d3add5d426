//! Values in and out: a request's `parameters` as SQL values, and each result value as the `Field` union (or
//! `ExecuteSql`'s `Value` union) its column's declared MySQL type calls for, with `columnMetadata`.
//! Source: botocore `data/rds-data/2018-08-01/service-2.json` (shapes `SqlParameter`, `Field`, `TypeHint`,
//! `ResultSetOptions`, `ColumnMetadata`, `Value`).

use base64::Engine;
use serde_json::{Value, json};

use super::RdsError;
use super::engine::{Column, Param, Sql, TypeHint};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How `DECIMAL` and `BIGINT` values come back (`resultSetOptions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ResultSetOptions {
    /// `decimalReturnType` `DOUBLE_OR_LONG` instead of the default `STRING`.
    pub decimal_as_number: bool,
    /// `longReturnType` `STRING` instead of the default `LONG`.
    pub long_as_string: bool,
}

impl ResultSetOptions {
    pub fn from_request(v: Option<&Value>) -> Result<Self, RdsError> {
        let Some(v) = v else {
            return Ok(Self::default());
        };
        let member = |name: &str, allowed: [&str; 2]| -> Result<Option<bool>, RdsError> {
            match v.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s == allowed[0] => Ok(Some(false)),
                Some(Value::String(s)) if s == allowed[1] => Ok(Some(true)),
                Some(other) => Err(invalid_enum(
                    other,
                    &format!("resultSetOptions.{name}"),
                    &allowed,
                )),
            }
        };
        Ok(Self {
            decimal_as_number: member("decimalReturnType", ["STRING", "DOUBLE_OR_LONG"])?
                .unwrap_or(false),
            long_as_string: member("longReturnType", ["LONG", "STRING"])?.unwrap_or(false),
        })
    }
}

/// The Coral validation text for a value outside an enum.
fn invalid_enum(v: &Value, at: &str, allowed: &[&str]) -> RdsError {
    RdsError::BadRequest(format!(
        "1 validation error detected: Value '{}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        allowed.join(", ")
    ))
}

/// The `parameters` of a request as SQL values. A `typeHint` is checked against its documented format and the
/// string is passed on, as MySQL converts it.
pub fn parameters(v: Option<&Value>) -> Result<Vec<Param>, RdsError> {
    let bad = |m: String| RdsError::BadRequest(m);
    let list = match v {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("parameters must be a list of SqlParameter".into())),
    };
    let mut out = Vec::new();
    for p in list {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("A parameter has no name".into()))?;
        let members = match p.get("value") {
            Some(Value::Object(o)) => o,
            None | Some(Value::Null) => return Err(bad(format!("Parameter {name} has no value"))),
            Some(_) => {
                return Err(bad(format!(
                    "The value of parameter {name} must be a Field"
                )));
            }
        };
        let mut set = members.iter().filter(|(_, v)| !v.is_null());
        let (member, value) = match (set.next(), set.next()) {
            (Some(one), None) => one,
            _ => {
                return Err(bad(format!(
                    "The value of parameter {name} must set exactly one member of Field"
                )));
            }
        };
        let wrong = || {
            bad(format!(
                "Parameter {name}: {member} has the wrong type: {value}"
            ))
        };
        let sql = match (member.as_str(), value) {
            ("isNull", Value::Bool(_)) => Sql::Null,
            ("stringValue", Value::String(s)) => Sql::Text(s.clone()),
            ("longValue", Value::Number(n)) => Sql::Integer(n.as_i64().ok_or_else(wrong)?),
            ("doubleValue", Value::Number(n)) => Sql::Real(n.as_f64().ok_or_else(wrong)?),
            ("booleanValue", Value::Bool(b)) => Sql::Bool(*b),
            ("blobValue", Value::String(s)) => Sql::Blob(
                B64.decode(s)
                    .map_err(|e| bad(format!("Parameter {name}: blobValue is not base64: {e}")))?,
            ),
            // The model's documentation of `parameters`: "Array parameters are not supported."
            ("arrayValue", _) => return Err(bad("Array parameters are not supported.".into())),
            (
                "isNull" | "stringValue" | "longValue" | "doubleValue" | "booleanValue"
                | "blobValue",
                _,
            ) => {
                return Err(wrong());
            }
            (other, _) => {
                return Err(bad(format!(
                    "Parameter {name}: {other} is not a member of Field"
                )));
            }
        };
        let sql = match p.get("typeHint").filter(|h| !h.is_null()) {
            Some(hint) => {
                let hint = type_hint(name, hint, &sql)?;
                let Sql::Text(s) = sql else {
                    unreachable!("type_hint accepts only a stringValue")
                };
                Sql::Hinted(s, hint)
            }
            None => sql,
        };
        out.push((name.to_string(), sql));
    }
    Ok(out)
}

/// Checks a `typeHint` and the string it describes. The formats are the model's documentation of `TypeHint`.
fn type_hint(name: &str, hint: &Value, v: &Sql) -> Result<TypeHint, RdsError> {
    const HINTS: [&str; 6] = ["JSON", "UUID", "TIMESTAMP", "DATE", "TIME", "DECIMAL"];
    let Some(h) = hint.as_str().filter(|h| HINTS.contains(h)) else {
        return Err(invalid_enum(hint, "parameters.member.typeHint", &HINTS));
    };
    let Sql::Text(s) = v else {
        return Err(RdsError::BadRequest(format!(
            "Parameter {name}: typeHint {h} needs a stringValue"
        )));
    };
    let ok = match h {
        "DATE" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "TIME" => chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f").is_ok(),
        "TIMESTAMP" => chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok(),
        "DECIMAL" => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            !digits.is_empty()
                && digits.split('.').count() <= 2
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        }
        "UUID" => uuid::Uuid::parse_str(s).is_ok(),
        _ => serde_json::from_str::<Value>(s).is_ok(),
    };
    if ok {
        Ok(match h {
            "DATE" => TypeHint::Date,
            "TIME" => TypeHint::Time,
            "TIMESTAMP" => TypeHint::Timestamp,
            "DECIMAL" => TypeHint::Decimal,
            "UUID" => TypeHint::Uuid,
            _ => TypeHint::Json,
        })
    } else {
        Err(RdsError::BadRequest(format!(
            "Parameter {name}: '{s}' is not a valid {h} for its typeHint"
        )))
    }
}

/// The MySQL type name of a declared type: `VARCHAR(70)` is `VARCHAR`.
fn base_type(decl: &str) -> String {
    decl.split('(')
        .next()
        .unwrap_or(decl)
        .trim()
        .to_ascii_uppercase()
}

fn is_boolean(decl_upper: &str) -> bool {
    // MySQL's JDBC driver reads TINYINT(1) and BOOLEAN (which MySQL stores as TINYINT(1)) as booleans.
    matches!(base_type(decl_upper).as_str(), "BOOLEAN" | "BOOL" | "BIT")
        || decl_upper == "TINYINT(1)"
}

/// The scale of `DECIMAL(p,s)`: `s`, or 0 as MySQL's default.
fn decimal_scale(decl: &str) -> usize {
    decl.split_once('(')
        .and_then(|(_, rest)| rest.trim_end_matches(')').split(',').nth(1))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A double as a DECIMAL of `scale` digits: its shortest decimal form (the digits that were stored) rounded half
/// away from zero, as MySQL rounds decimals, rather than the binary value's (1.005 is 1.01, not 1.00).
fn decimal_text(f: f64, scale: usize) -> String {
    let shortest = format!("{f}");
    let (negative, digits) = match shortest.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, shortest.as_str()),
    };
    if digits.contains(['e', 'E', 'i', 'N']) {
        return format!("{f:.scale$}");
    }
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut kept: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(scale))
        .collect();
    if fraction.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
        // Carry the rounding up through the digits.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - scale;
    let mut text = String::from_utf8(kept[..split].to_vec()).unwrap_or_default();
    if scale > 0 {
        text.push('.');
        text.push_str(std::str::from_utf8(&kept[split..]).unwrap_or_default());
    }
    let zero = text.bytes().all(|b| b == b'0' || b == b'.');
    if negative && !zero {
        text.insert(0, '-');
    }
    text
}

/// A JDBC timestamp's text, as the Data API gives DATETIME and TIMESTAMP: `2019-03-06 02:45:32.0`.
fn timestamp(s: &str) -> String {
    if s.len() == 19 && !s.contains('.') {
        format!("{s}.0")
    } else {
        s.to_string()
    }
}

/// A `Field` for a value, chosen by the column's declared MySQL type as the Data API chooses it.
/// FIXME: an expression's type is SQLite's (for example `SUM` of integers is a `longValue`, where MySQL's DECIMAL
/// comes back as a `stringValue`).
pub fn field(v: &Sql, decl: Option<&str>, opts: ResultSetOptions) -> Value {
    let decl_upper = decl.map(str::to_ascii_uppercase).unwrap_or_default();
    let base = base_type(&decl_upper);
    match v {
        Sql::Null => json!({"isNull": true}),
        Sql::Array(items) => json!({"arrayValue": array_value(items, decl, opts)}),
        Sql::Bool(b) => json!({"booleanValue": b}),
        Sql::Integer(n) if is_boolean(&decl_upper) => json!({"booleanValue": *n != 0}),
        // A server's DECIMAL keeps every digit, as text.
        Sql::Text(s)
            if opts.decimal_as_number && matches!(base.as_str(), "DECIMAL" | "NUMERIC") =>
        {
            match (
                s.contains(['.', 'e', 'E']),
                s.parse::<i64>(),
                s.parse::<f64>(),
            ) {
                (false, Ok(n), _) => json!({"longValue": n}),
                (_, _, Ok(f)) => json!({"doubleValue": f}),
                _ => json!({"stringValue": s}),
            }
        }
        // FIXME: SQLite keeps DECIMAL as a double, so digits beyond a double's precision are lost.
        Sql::Integer(_) | Sql::Real(_) if matches!(base.as_str(), "DECIMAL" | "NUMERIC") => {
            let f = match v {
                Sql::Integer(n) => *n as f64,
                Sql::Real(f) => *f,
                _ => 0.0,
            };
            let scale = decimal_scale(&decl_upper);
            match (opts.decimal_as_number, scale) {
                (true, 0) => json!({"longValue": f as i64}),
                (true, _) => json!({"doubleValue": f}),
                (false, _) => json!({"stringValue": match v {
                    Sql::Integer(n) if scale == 0 => n.to_string(),
                    _ => decimal_text(f, scale),
                }}),
            }
        }
        // Text written into a binary column is its bytes (SQLite keeps it as text).
        Sql::Text(s)
            if matches!(
                base.as_str(),
                "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BINARY" | "VARBINARY"
            ) =>
        {
            json!({"blobValue": B64.encode(s.as_bytes())})
        }
        // A JSON value is JSON text, numbers included.
        Sql::Integer(n) if base == "JSON" => json!({"stringValue": n.to_string()}),
        Sql::Real(f) if base == "JSON" => json!({"stringValue": f.to_string()}),
        // A DOUBLE computed from integers ('10' * 2) is still a double.
        Sql::Integer(n) if matches!(base.as_str(), "DOUBLE" | "FLOAT" | "REAL") => {
            json!({"doubleValue": *n as f64})
        }
        // A DATE column keeps the date of a DATETIME it was given.
        // FIXME: the time stays stored, and a statement comparing the column sees it.
        Sql::Text(s) if base == "DATE" && s.len() > 10 && s.as_bytes()[10] == b' ' => {
            json!({"stringValue": &s[..10]})
        }
        // An integer type computed as a double (FLOOR of a decimal, say).
        Sql::Real(f)
            if matches!(base.as_str(), "BIGINT" | "INT" | "INTEGER")
                && f.fract() == 0.0
                && f.abs() < 9.2e18 =>
        {
            field(&Sql::Integer(*f as i64), decl, opts)
        }
        Sql::Integer(n) if opts.long_as_string => json!({"stringValue": n.to_string()}),
        Sql::Integer(n) => json!({"longValue": n}),
        Sql::Real(f) => json!({"doubleValue": f}),
        Sql::Text(s) if matches!(base.as_str(), "DATETIME" | "TIMESTAMP") => {
            json!({"stringValue": timestamp(s)})
        }
        // MySQL strips a CHAR's trailing spaces when it reads it (without PAD_CHAR_TO_FULL_LENGTH).
        // FIXME: inside a statement (CONCAT, LENGTH) the spaces are still there, where MySQL has none.
        Sql::Text(s) if base == "CHAR" => json!({"stringValue": s.trim_end_matches(' ')}),
        Sql::Text(s) | Sql::Hinted(s, _) => json!({"stringValue": s}),
        Sql::Blob(b) => json!({"blobValue": B64.encode(b)}),
    }
}

/// An `ArrayValue`: the elements' `Field`s gathered under the plural of their member (`longValues`), nested
/// arrays under `arrayValues`. A NULL element is `null` in its list.
/// Source: botocore `rds-data` model, shape `ArrayValue`.
fn array_value(items: &[Sql], decl: Option<&str>, opts: ResultSetOptions) -> Value {
    let mut member = "stringValues";
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let f = field(item, decl, opts);
        match f.as_object().and_then(|o| o.iter().next()) {
            Some((k, _)) if k == "isNull" => values.push(Value::Null),
            Some((k, v)) => {
                member = match k.as_str() {
                    "booleanValue" => "booleanValues",
                    "longValue" => "longValues",
                    "doubleValue" => "doubleValues",
                    "arrayValue" => "arrayValues",
                    _ => "stringValues",
                };
                values.push(v.clone());
            }
            None => values.push(Value::Null),
        }
    }
    json!({ member: values })
}

/// A value in `formattedRecords`: the `Field`'s value itself, and `null` for NULL.
pub fn plain(v: &Sql, decl: Option<&str>, opts: ResultSetOptions) -> Value {
    if let Sql::Array(items) = v {
        return items.iter().map(|i| plain(i, decl, opts)).collect();
    }
    match field(v, decl, opts)
        .as_object()
        .and_then(|o| o.iter().next())
    {
        Some((k, _)) if k == "isNull" => Value::Null,
        Some((_, v)) => v.clone(),
        None => Value::Null,
    }
}

/// `ExecuteSql`'s `Value` union, which names integer widths: `intValue` for INT and smaller, `bigIntValue`
/// otherwise, `bitValue` for booleans, `realValue` for FLOAT.
pub fn legacy_value(v: &Sql, decl: Option<&str>) -> Value {
    let decl_upper = decl.map(str::to_ascii_uppercase).unwrap_or_default();
    let base = base_type(&decl_upper);
    match v {
        Sql::Null => json!({"isNull": true}),
        Sql::Integer(n) if is_boolean(&decl_upper) => json!({"bitValue": *n != 0}),
        Sql::Integer(n)
            if matches!(
                base.as_str(),
                "INT" | "INTEGER" | "MEDIUMINT" | "SMALLINT" | "TINYINT"
            ) =>
        {
            json!({"intValue": n})
        }
        Sql::Real(f) if base == "FLOAT" => json!({"realValue": f}),
        Sql::Integer(_) | Sql::Real(_) if matches!(base.as_str(), "DECIMAL" | "NUMERIC") => {
            field(v, decl, ResultSetOptions::default())
        }
        Sql::Integer(n) => json!({"bigIntValue": n}),
        _ => field(v, decl, ResultSetOptions::default()),
    }
}

/// `ColumnMetadata` with the JDBC type codes MySQL's driver reports (java.sql.Types).
/// FIXME: `tableName`, `schemaName`, `nullable`, `isAutoIncrement`, `precision` and `scale` are not filled in.
pub fn column_metadata(c: &Column) -> Value {
    let decl = c.decl_type.as_deref().unwrap_or("");
    let base = base_type(decl);
    let jdbc = match base.as_str() {
        "INT" | "INTEGER" | "MEDIUMINT" => 4,
        "BIGINT" => -5,
        "SMALLINT" => 5,
        "TINYINT" if decl.eq_ignore_ascii_case("TINYINT(1)") => -7,
        "TINYINT" => -6,
        "BOOLEAN" | "BOOL" | "BIT" => -7,
        "DECIMAL" | "NUMERIC" => 3,
        "DOUBLE" | "REAL" => 8,
        "FLOAT" => 7,
        "DATE" => 91,
        "TIME" => 92,
        "DATETIME" | "TIMESTAMP" => 93,
        "CHAR" => 1,
        "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "JSON" => -1,
        "BLOB" | "VARBINARY" | "BINARY" => -4,
        _ => 12,
    };
    let (type_name, jdbc) = match &c.type_name {
        Some(name) => (name.clone(), postgres_jdbc_type(name)),
        None if base.is_empty() => ("VARCHAR".to_string(), jdbc),
        None => (base, jdbc),
    };
    json!({
        "name": c.name,
        "label": c.name,
        "typeName": type_name,
        "type": jdbc,
        "nullable": 2,
        "isSigned": matches!(jdbc, 4 | -5 | 5 | -6 | 3 | 8 | 7),
        "isAutoIncrement": false,
        "isCurrency": false,
        "isCaseSensitive": false,
        "precision": 0,
        "scale": 0,
        "schemaName": "",
        "tableName": "",
        "arrayBaseColumnType": 0,
    })
}

/// The java.sql.Types code PostgreSQL's JDBC driver reports for a type, by its name (`TypeInfoCache`'s table):
/// arrays are ARRAY (2003), and types it has no mapping for are OTHER (1111).
fn postgres_jdbc_type(name: &str) -> i32 {
    if name.starts_with('_') {
        return 2003;
    }
    match name {
        "int2" => 5,
        "int4" | "oid" => 4,
        "int8" => -5,
        "numeric" => 2,
        "float4" => 7,
        "float8" | "money" => 8,
        "bool" => -7,
        "bpchar" | "char" => 1,
        "varchar" | "text" | "name" => 12,
        "bytea" => -2,
        "date" => 91,
        "time" | "timetz" => 92,
        "timestamp" | "timestamptz" => 93,
        _ => 1111,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_their_stored_digits_half_up() {
        assert_eq!(decimal_text(1.005, 2), "1.01");
        assert_eq!(decimal_text(120.30000000000001, 2), "120.30");
        assert_eq!(decimal_text(0.30000000000000004, 1), "0.3");
        assert_eq!(decimal_text(1.6666666666666667, 6), "1.666667");
        assert_eq!(decimal_text(-2.675, 2), "-2.68");
        assert_eq!(decimal_text(9.995, 2), "10.00");
        assert_eq!(decimal_text(-0.001, 2), "0.00");
        assert_eq!(decimal_text(5.0, 0), "5");
        assert_eq!(decimal_text(1e20, 2), "100000000000000000000.00");
    }

    #[test]
    fn parameters_are_strict() {
        let p = |v: Value| parameters(Some(&json!([{"name": "a", "value": v}])));
        assert_eq!(p(json!({"longValue": 3})).unwrap()[0].1, Sql::Integer(3));
        assert_eq!(p(json!({"isNull": true})).unwrap()[0].1, Sql::Null);
        assert!(
            p(json!({"longValue": 1.5})).is_err(),
            "no silent truncation"
        );
        assert!(p(json!({})).is_err());
        assert!(p(json!({"longValue": 1, "stringValue": "x"})).is_err());
        assert_eq!(
            p(json!({"arrayValue": {"longValues": [1]}}))
                .unwrap_err()
                .to_string(),
            "Array parameters are not supported."
        );
        let hinted = |s: &str, h: &str| {
            parameters(Some(
                &json!([{"name": "a", "value": {"stringValue": s}, "typeHint": h}]),
            ))
        };
        assert!(hinted("2019-03-06 02:45:32.123", "TIMESTAMP").is_ok());
        assert!(hinted("2019-03-06", "DATE").is_ok());
        assert!(hinted("12.50", "DECIMAL").is_ok());
        assert!(hinted("yesterday", "DATE").is_err());
        assert!(hinted("x", "COLOUR").is_err());
    }

    #[test]
    fn fields_follow_the_declared_type_and_options() {
        let def = ResultSetOptions::default();
        assert_eq!(
            field(&Sql::Integer(1), Some("tinyint(1)"), def),
            json!({"booleanValue": true})
        );
        assert_eq!(
            field(&Sql::Real(9.5), Some("DECIMAL(10,2)"), def),
            json!({"stringValue": "9.50"})
        );
        assert_eq!(
            field(
                &Sql::Text("2019-03-06 02:45:32".into()),
                Some("DATETIME"),
                def
            ),
            json!({"stringValue": "2019-03-06 02:45:32.0"})
        );
        let opts = ResultSetOptions {
            decimal_as_number: true,
            long_as_string: true,
        };
        assert_eq!(
            field(&Sql::Real(9.5), Some("DECIMAL(10,2)"), opts),
            json!({"doubleValue": 9.5})
        );
        assert_eq!(
            field(&Sql::Integer(7), Some("BIGINT"), opts),
            json!({"stringValue": "7"})
        );
        assert_eq!(
            legacy_value(&Sql::Integer(7), Some("INT")),
            json!({"intValue": 7})
        );
        assert_eq!(
            legacy_value(&Sql::Integer(7), None),
            json!({"bigIntValue": 7})
        );
    }
}
