//! `CREATE TABLE`, `ALTER TABLE`, indexes and `TRUNCATE`, as SQLite takes them.
//!
//! MySQL's keys are indexes named `"table.key"` in SQLite, whose index names are per database rather than per
//! table; [`key_of_index`] reads the MySQL name back for error texts. What MySQL checks when a row is written in
//! strict mode (an `ENUM`'s values, a string's length, an integer's range) becomes a `CHECK` constraint named
//! `offcloud:<rule>:<column>`, which [`check_failure`] turns back into MySQL's error.

use sqlparser::ast::{
    AlterTableOperation, CheckConstraint, ColumnDef, ColumnOption, ColumnOptionDef,
    CreateTableOptions, DataType, EnumMember, Expr, Ident, ObjectName, TableConstraint, Value,
};

use super::{call, unsupported};
use crate::rdsdata::RdsError;

/// The SQLite name of MySQL key `key` on `table`.
pub fn index_name(table: &str, key: &str) -> Ident {
    Ident::with_quote('"', format!("{table}.{key}"))
}

/// The MySQL key name of a SQLite index made by [`index_name`].
pub fn key_of_index<'a>(table: &str, index: &'a str) -> Option<&'a str> {
    index
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('.'))
}

/// MySQL's error for a row that failed check `name`, if Offcloud made that check.
pub fn check_failure(name: &str) -> Option<String> {
    let mut parts = name.splitn(3, ':');
    if parts.next() != Some("offcloud") {
        return None;
    }
    let (rule, column) = (parts.next()?, parts.next()?);
    // FIXME: MySQL names the row of a multi-row INSERT that failed; SQLite does not say which, so it is row 1.
    Some(match rule {
        // ER_WARN_DATA_TRUNCATED (1265), an error in strict mode.
        "enum" => format!("Data truncated for column '{column}' at row 1"),
        // ER_DATA_TOO_LONG (1406).
        "length" => format!("Data too long for column '{column}' at row 1"),
        // ER_WARN_DATA_OUT_OF_RANGE (1264).
        "range" | "int" => format!("Out of range value for column '{column}' at row 1"),
        // MySQL (without NO_AUTO_VALUE_ON_ZERO) generates the next id for a 0, as for a NULL; SQLite stores the 0.
        // Source: https://dev.mysql.com/doc/refman/5.7/en/sql-mode.html#sqlmode_no_auto_value_on_zero
        "auto" => format!(
            "Offcloud's Data API does not support 0 in AUTO_INCREMENT column '{column}', which MySQL takes as a request for the next id; insert NULL or leave the column out"
        ),
        _ => return None,
    })
}

/// A check of one column, declared on the column: SQLite can then still drop the column, which it refuses for a
/// column that a table's CHECK names.
fn check(rule: &str, column: &str, expr: Expr) -> ColumnOptionDef {
    let name = Ident::with_quote('"', format!("offcloud:{rule}:{column}"));
    ColumnOptionDef {
        name: Some(name.clone()),
        option: ColumnOption::Check(CheckConstraint {
            name: None,
            expr: Box::new(expr),
            no_inherit: false,
            enforced: None,
        }),
    }
}

fn number(n: i128) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

/// The checks MySQL's strict mode makes of a column's values, from its declared type.
/// Source: https://dev.mysql.com/doc/refman/5.7/en/integer-types.html and
/// https://dev.mysql.com/doc/refman/5.7/en/char.html (lengths count characters; trailing spaces past the length
/// are cut without an error).
fn strict_checks(col: &ColumnDef) -> Vec<ColumnOptionDef> {
    let name = col.name.value.as_str();
    let id = || Expr::Identifier(col.name.clone());
    let text = col.data_type.to_string().to_ascii_uppercase();
    let unsigned = text.contains("UNSIGNED");
    let text_literal = |s: &str| Expr::value(Value::SingleQuotedString(s.into()));
    let range = |bits: u32| {
        let (lo, hi) = if unsigned {
            (0, (1i128 << bits) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        };
        vec![check(
            "int",
            name,
            call(
                "offcloud_check_int",
                vec![
                    id(),
                    text_literal(name),
                    number(lo),
                    number(hi.min(i64::MAX.into())),
                ],
            ),
        )]
    };
    let temporal = |kind: &str| {
        vec![check(
            "temporal",
            name,
            call(
                "offcloud_check_temporal",
                vec![id(), text_literal(name), text_literal(kind)],
            ),
        )]
    };
    let max_chars = |n: u64| {
        let trimmed = call(
            "rtrim",
            vec![id(), Expr::value(Value::SingleQuotedString(" ".into()))],
        );
        vec![check(
            "length",
            name,
            Expr::BinaryOp {
                left: Box::new(call("length", vec![trimmed])),
                op: sqlparser::ast::BinaryOperator::LtEq,
                right: Box::new(number(n.into())),
            },
        )]
    };
    match &col.data_type {
        DataType::TinyInt(_) | DataType::TinyIntUnsigned(_) => range(8),
        DataType::SmallInt(_) | DataType::SmallIntUnsigned(_) => range(16),
        DataType::MediumInt(_) | DataType::MediumIntUnsigned(_) => range(24),
        DataType::Int(_)
        | DataType::Integer(_)
        | DataType::IntUnsigned(_)
        | DataType::IntegerUnsigned(_) => range(32),
        DataType::BigInt(_) => range(64),
        DataType::BigIntUnsigned(_) => range(64),
        DataType::Decimal(info) | DataType::Numeric(info) | DataType::Dec(info) => {
            let (p, s) = match info {
                sqlparser::ast::ExactNumberInfo::PrecisionAndScale(p, s) => {
                    (*p as i128, *s as i128)
                }
                sqlparser::ast::ExactNumberInfo::Precision(p) => (*p as i128, 0),
                sqlparser::ast::ExactNumberInfo::None => (10, 0),
            };
            vec![check(
                "decimal",
                name,
                call(
                    "offcloud_check_decimal",
                    vec![id(), text_literal(name), number(p), number(s)],
                ),
            )]
        }
        DataType::Date => temporal("date"),
        DataType::Datetime(_) | DataType::Timestamp(..) => temporal("datetime"),
        DataType::Time(..) => temporal("time"),
        DataType::Varchar(Some(sqlparser::ast::CharacterLength::IntegerLength {
            length, ..
        }))
        | DataType::Char(Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. })) => {
            max_chars(*length)
        }
        DataType::Char(None) => max_chars(1),
        _ => vec![],
    }
}

/// A column as SQLite takes it: MySQL's options dropped or translated, text compared without case, `ENUM` as text
/// with a check, and strict mode's checks of its values. Returns whether it is `AUTO_INCREMENT`.
fn translate_column(col: &mut ColumnDef) -> Result<bool, RdsError> {
    let auto = col.options.iter().any(|o| {
        matches!(&o.option, ColumnOption::DialectSpecific(tokens)
            if tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
    });
    if col
        .options
        .iter()
        .any(|o| matches!(o.option, ColumnOption::OnUpdate(_)))
    {
        return Err(unsupported("ON UPDATE column defaults"));
    }
    // MySQL's default collations (`utf8_general_ci`, ...) compare text without case, in keys too; `_bin`
    // collations and BINARY compare bytes, as SQLite does by default.
    let binary = col.options.iter().any(|o| {
        matches!(&o.option, ColumnOption::Collation(c)
            if c.to_string().to_ascii_lowercase().trim_matches('`').ends_with("_bin"))
    });
    col.options.retain(|o| {
        !matches!(
            o.option,
            ColumnOption::CharacterSet(_)
                | ColumnOption::Collation(_)
                | ColumnOption::Comment(_)
                | ColumnOption::DialectSpecific(_)
        )
    });
    let mut checks = strict_checks(col);
    let textual = matches!(
        col.data_type,
        DataType::Char(_)
            | DataType::Varchar(_)
            | DataType::Text
            | DataType::TinyText
            | DataType::MediumText
            | DataType::LongText
            | DataType::Enum(..)
    );
    // An ENUM is text that must be one of its members, sorted by the member's position (by its collation).
    // FIXME: MySQL stores the member's own spelling; we keep the value as written.
    let mut collation = super::MYSQL_COLLATION.to_string();
    if let DataType::Enum(members, _) = &col.data_type {
        let names: Vec<String> = members
            .iter()
            .map(|m| match m {
                EnumMember::Name(s) | EnumMember::NamedValue(s, _) => s.clone(),
            })
            .collect();
        collation = crate::rdsdata::functions::enum_collation(&names);
        let list = members
            .iter()
            .map(|m| match m {
                EnumMember::Name(s) | EnumMember::NamedValue(s, _) => {
                    Expr::value(Value::SingleQuotedString(s.clone()))
                }
            })
            .collect();
        checks.push(check(
            "enum",
            &col.name.value,
            Expr::InList {
                expr: Box::new(Expr::Identifier(col.name.clone())),
                list,
                negated: false,
            },
        ));
        col.data_type = DataType::Custom(ObjectName::from(vec![Ident::new("ENUM")]), vec![]);
    }
    if textual && !binary {
        col.options.push(ColumnOptionDef {
            name: None,
            option: ColumnOption::Collation(ObjectName::from(vec![if collation
                == super::MYSQL_COLLATION
            {
                Ident::new(collation)
            } else {
                Ident::with_quote('"', collation)
            }])),
        });
    }
    // Rows get their time from the emulator's clock, through the storage's clock function.
    for o in &mut col.options {
        if let ColumnOption::Default(d) = &mut o.option
            && let Expr::Function(f) = d
            && matches!(
                f.name.to_string().to_ascii_uppercase().as_str(),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP"
            )
        {
            *d = Expr::Nested(Box::new(call(
                crate::rdsdata::storage::NOW_FUNCTION,
                vec![],
            )));
        }
    }
    col.options.extend(checks);
    Ok(auto)
}

fn columns_of(cols: &[sqlparser::ast::IndexColumn]) -> Vec<Ident> {
    cols.iter()
        .filter_map(|c| match &c.column.expr {
            Expr::Identifier(i) => Some(i.clone()),
            // A prefix index, `name(10)`, indexes the whole column here.
            Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).cloned(),
            _ => None,
        })
        .collect()
}

/// `CREATE [UNIQUE] INDEX "table.key" ON table (columns)`.
fn create_index(table: &str, key: &str, columns: &[Ident], unique: bool) -> String {
    let cols: Vec<String> = columns.iter().map(ToString::to_string).collect();
    format!(
        "CREATE {}INDEX {} ON {table} ({})",
        if unique { "UNIQUE " } else { "" },
        index_name(table, key),
        cols.join(", ")
    )
}

/// A key declared inside `CREATE TABLE` or added by `ALTER TABLE`, as the index statement SQLite needs, with
/// MySQL's name for it: its own, or its first column's.
fn key_index(table: &str, c: &TableConstraint) -> Option<String> {
    let (name, cols, unique) = match c {
        TableConstraint::Unique(u) => (
            u.index_name.as_ref().or(u.name.as_ref()),
            columns_of(&u.columns),
            true,
        ),
        TableConstraint::Index(i) => (i.name.as_ref(), columns_of(&i.columns), false),
        TableConstraint::FulltextOrSpatial(f) => {
            (f.opt_index_name.as_ref(), columns_of(&f.columns), false)
        }
        _ => return None,
    };
    let key = name
        .map(|n| n.value.clone())
        .or_else(|| cols.first().map(|c| c.value.clone()))?;
    Some(create_index(table, &key, &cols, unique))
}

/// MySQL's `CREATE TABLE` as SQLite takes it, and the statements that must follow it (indexes for its keys, the
/// table's first `AUTO_INCREMENT` value). Declared types are kept, because they choose each column's Data API field
/// type; `AUTO_INCREMENT` becomes `INTEGER PRIMARY KEY AUTOINCREMENT`.
pub fn translate_create_table(
    t: &mut sqlparser::ast::CreateTable,
) -> Result<Vec<String>, RdsError> {
    let table = super::name(&t.name);
    let mut after = Vec::new();
    let start = auto_increment_start(&t.table_options);
    t.table_options = CreateTableOptions::None;
    t.comment = None;
    let table_pk: Vec<String> = t
        .constraints
        .iter()
        .find_map(|c| match c {
            TableConstraint::PrimaryKey(pk) => Some(
                pk.columns
                    .iter()
                    .map(|c| c.to_string().trim_matches('`').to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    // Keys with a name (and every plain KEY) become indexes after the table; an unnamed UNIQUE stays inline.
    let mut kept = Vec::new();
    for c in std::mem::take(&mut t.constraints) {
        let named_unique =
            matches!(&c, TableConstraint::Unique(u) if u.index_name.is_some() || u.name.is_some());
        let index = matches!(
            c,
            TableConstraint::Index(_) | TableConstraint::FulltextOrSpatial(_)
        );
        match key_index(&table, &c) {
            // `CREATE TABLE IF NOT EXISTS` of a table that exists leaves its indexes as they are.
            Some(statement) if (named_unique || index) && t.if_not_exists => {
                after.push(statement.replacen(" INDEX ", " INDEX IF NOT EXISTS ", 1))
            }
            Some(statement) if named_unique || index => after.push(statement),
            _ => kept.push(c),
        }
    }
    t.constraints = kept;
    let mut auto_pk = None;
    for col in &mut t.columns {
        let auto = translate_column(col)?;
        after.extend(super::stored::triggers(&table, col));
        if auto {
            let inline_pk = col
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)));
            let name = col.name.value.clone();
            if !inline_pk && table_pk != [name.clone()] {
                return Err(unsupported(
                    "AUTO_INCREMENT on a column that is not the whole primary key",
                ));
            }
            // SQLite only auto-increments an `INTEGER PRIMARY KEY`; the Data API reads INTEGER as a long, as it
            // reads MySQL's INT. Its range is checked above, from the declared type.
            col.data_type = DataType::Integer(None);
            col.options
                .retain(|o| !matches!(o.option, ColumnOption::PrimaryKey(_)));
            auto_pk = Some(name);
        }
    }
    if let Some(name) = auto_pk {
        t.constraints
            .retain(|c| !matches!(c, TableConstraint::PrimaryKey(_)));
        let col = t
            .columns
            .iter_mut()
            .find(|c| c.name.value == name)
            .expect("the column was found above");
        col.options.push(ColumnOptionDef {
            name: None,
            option: ColumnOption::DialectSpecific(vec![
                sqlparser::tokenizer::Token::make_keyword("PRIMARY"),
                sqlparser::tokenizer::Token::make_keyword("KEY"),
                sqlparser::tokenizer::Token::make_keyword("AUTOINCREMENT"),
            ]),
        });
        col.options.push(check(
            "auto",
            &name,
            Expr::BinaryOp {
                left: Box::new(Expr::Identifier(col.name.clone())),
                op: sqlparser::ast::BinaryOperator::NotEq,
                right: Box::new(number(0)),
            },
        ));
        if let Some(start) = start.filter(|s| *s > 1) {
            // Only for a new table: `CREATE TABLE IF NOT EXISTS` of one that exists keeps its counter.
            let name = table.replace('\'', "''");
            after.push(format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT '{name}', {} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{name}')",
                start - 1
            ));
        }
    }
    Ok(after)
}

/// The `AUTO_INCREMENT = n` table option.
fn auto_increment_start(options: &CreateTableOptions) -> Option<i64> {
    let list = match options {
        CreateTableOptions::Plain(l)
        | CreateTableOptions::Options(l)
        | CreateTableOptions::With(l)
        | CreateTableOptions::TableProperties(l) => l,
        CreateTableOptions::None => return None,
    };
    list.iter().find_map(|o| {
        let text = o.to_string();
        let (key, value) = text.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("AUTO_INCREMENT")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// `CREATE INDEX key ON table (...)` names its index as keys are named.
pub fn translate_create_index(c: &mut sqlparser::ast::CreateIndex) -> Result<(), RdsError> {
    let table = super::name(&c.table_name);
    let key = match &c.name {
        Some(n) => super::name(n),
        None => return Err(unsupported("CREATE INDEX without a name")),
    };
    c.name = Some(ObjectName::from(vec![index_name(&table, &key)]));
    c.using = None;
    c.index_options.clear();
    Ok(())
}

/// The table and MySQL key of `sql`, if it makes a unique index over exactly `columns` (as [`create_index`] writes
/// it).
pub fn unique_index_of(sql: &str, columns: &[String]) -> Option<(String, String)> {
    let rest = sql.strip_prefix("CREATE UNIQUE INDEX \"")?;
    let (index, rest) = rest.split_once("\" ON ")?;
    let (table, cols) = rest.split_once('(')?;
    let table = table.trim();
    let cols: Vec<String> = cols
        .trim_end_matches(')')
        .split(',')
        .map(|c| {
            c.trim()
                .trim_matches(|ch| ch == '`' || ch == '"')
                .to_string()
        })
        .collect();
    let key = key_of_index(table, index)?;
    (cols == columns).then(|| (table.to_string(), key.to_string()))
}

/// `DROP INDEX key ON table`.
pub fn drop_index(key: &str, table: &str) -> String {
    format!("DROP INDEX {}", index_name(table, key))
}

/// `ALTER TABLE` as SQLite statements, for the forms SQLite can do in place: adding and dropping columns, keys
/// and indexes, and renaming tables and columns. Changing a column's type or position is refused by name.
pub fn translate_alter(a: &sqlparser::ast::AlterTable) -> Result<Vec<String>, RdsError> {
    let table = super::name(&a.name);
    let mut out = Vec::new();
    for op in &a.operations {
        match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position: None,
                ..
            } => {
                let mut col = column_def.clone();
                if translate_column(&mut col)? {
                    return Err(unsupported("ALTER TABLE ... ADD an AUTO_INCREMENT column"));
                }
                // MySQL fills a new NOT NULL column with its type's implicit default; SQLite needs it spelled out.
                let not_null = col
                    .options
                    .iter()
                    .any(|o| matches!(o.option, ColumnOption::NotNull));
                let has_default = col
                    .options
                    .iter()
                    .any(|o| matches!(o.option, ColumnOption::Default(_)));
                if not_null && !has_default {
                    col.options.push(ColumnOptionDef {
                        name: None,
                        option: ColumnOption::Default(implicit_default(&col.data_type)),
                    });
                }
                out.push(format!("ALTER TABLE {table} ADD COLUMN {col}"));
                out.extend(super::stored::triggers(&table, &col));
            }
            AlterTableOperation::AddColumn { .. } => {
                return Err(unsupported("ALTER TABLE ... ADD COLUMN ... FIRST or AFTER"));
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists: false,
                ..
            } => {
                for c in column_names {
                    out.extend(super::stored::drop_triggers(&table, &c.value));
                    out.push(format!("ALTER TABLE {table} DROP COLUMN {c}"));
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                out.extend(super::stored::drop_triggers(&table, &old_column_name.value));
                out.push(format!(
                    "ALTER TABLE {table} RENAME COLUMN {old_column_name} TO {new_column_name}"
                ));
            }
            AlterTableOperation::RenameTable { table_name } => {
                let to = match table_name {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => super::name(n),
                };
                out.push(format!("ALTER TABLE {table} RENAME TO {to}"));
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                match key_index(&table, constraint) {
                    Some(statement) => out.push(statement),
                    None => {
                        return Err(unsupported(
                            "ALTER TABLE ... ADD of a primary key, foreign key or check",
                        ));
                    }
                }
            }
            AlterTableOperation::DropIndex { name } => out.push(drop_index(&name.value, &table)),
            other => {
                let text = other.to_string();
                let words: Vec<&str> = text.split_whitespace().take(2).collect();
                return Err(unsupported(&format!("ALTER TABLE ... {}", words.join(" "))));
            }
        }
    }
    Ok(out)
}

/// The value MySQL gives existing rows for a new `NOT NULL` column without a default.
fn implicit_default(t: &DataType) -> Expr {
    let text = t.to_string().to_ascii_uppercase();
    let s = |v: &str| Expr::value(Value::SingleQuotedString(v.into()));
    if text.starts_with("DATETIME") || text.starts_with("TIMESTAMP") {
        s("0000-00-00 00:00:00")
    } else if text.starts_with("DATE") {
        s("0000-00-00")
    } else if text.starts_with("TIME") {
        s("00:00:00")
    } else if text.contains("CHAR")
        || text.contains("TEXT")
        || text.contains("BLOB")
        || text.contains("BINARY")
    {
        s("")
    } else {
        number(0)
    }
}

/// A foreign key as its table's `CREATE TABLE` declares it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeclaredForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    /// ` ON DELETE ...` and ` ON UPDATE ...`, as MySQL prints them in its errors.
    pub actions: String,
}

/// The foreign keys a (translated) `CREATE TABLE` declares, in order.
pub fn declared_foreign_keys(create: &str) -> Vec<DeclaredForeignKey> {
    let Ok(statements) =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::SQLiteDialect {}, create)
    else {
        return vec![];
    };
    let Some(sqlparser::ast::Statement::CreateTable(t)) = statements.first() else {
        return vec![];
    };
    t.constraints
        .iter()
        .filter_map(|c| match c {
            TableConstraint::ForeignKey(fk) => {
                let mut actions = String::new();
                if let Some(a) = &fk.on_delete {
                    actions.push_str(&format!(" ON DELETE {a}"));
                }
                if let Some(a) = &fk.on_update {
                    actions.push_str(&format!(" ON UPDATE {a}"));
                }
                Some(DeclaredForeignKey {
                    name: fk.name.as_ref().map(|n| n.value.clone()),
                    columns: fk.columns.iter().map(|c| c.value.clone()).collect(),
                    actions,
                })
            }
            _ => None,
        })
        .collect()
}
