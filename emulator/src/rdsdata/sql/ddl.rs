//! `CREATE TABLE` and the other DDL, as SQLite takes it.

use sqlparser::ast::{ColumnOption, CreateTableOptions, Expr, FunctionArguments, ObjectName};

use super::unsupported;
use crate::rdsdata::RdsError;

/// MySQL's `CREATE TABLE` as SQLite takes it. Declared types are kept, because they choose each column's Data API
/// field type; `AUTO_INCREMENT` becomes `INTEGER PRIMARY KEY AUTOINCREMENT`.
pub fn translate_create_table(t: &mut sqlparser::ast::CreateTable) -> Result<(), RdsError> {
    t.table_options = CreateTableOptions::None;
    t.comment = None;
    let table_pk: Vec<String> = t
        .constraints
        .iter()
        .find_map(|c| match c {
            sqlparser::ast::TableConstraint::PrimaryKey(pk) => Some(
                pk.columns
                    .iter()
                    .map(|c| c.to_string().trim_matches('`').to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    let mut auto_pk = None;
    for col in &mut t.columns {
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
        let textual = matches!(
            col.data_type,
            sqlparser::ast::DataType::Char(_)
                | sqlparser::ast::DataType::Varchar(_)
                | sqlparser::ast::DataType::Text
                | sqlparser::ast::DataType::TinyText
                | sqlparser::ast::DataType::MediumText
                | sqlparser::ast::DataType::LongText
                | sqlparser::ast::DataType::Enum(..)
        );
        if textual && !binary {
            col.options.push(sqlparser::ast::ColumnOptionDef {
                name: None,
                option: ColumnOption::Collation(ObjectName::from(vec![
                    sqlparser::ast::Ident::new("NOCASE"),
                ])),
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
                *d = Expr::Nested(Box::new(Expr::Function(sqlparser::ast::Function {
                    name: ObjectName::from(vec![sqlparser::ast::Ident::new(
                        crate::rdsdata::storage::NOW_FUNCTION,
                    )]),
                    uses_odbc_syntax: false,
                    parameters: FunctionArguments::None,
                    args: FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![],
                        clauses: vec![],
                    }),
                    filter: None,
                    null_treatment: None,
                    over: None,
                    within_group: vec![],
                })));
            }
        }
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
            // SQLite only auto-increments an `INTEGER PRIMARY KEY`; the MySQL type is kept in a comment-free way
            // by naming the type `INTEGER`, which the Data API reads as a long, as MySQL's INT is.
            col.data_type = sqlparser::ast::DataType::Integer(None);
            col.options
                .retain(|o| !matches!(o.option, ColumnOption::PrimaryKey(_)));
            auto_pk = Some(name);
        }
    }
    if let Some(name) = auto_pk {
        t.constraints
            .retain(|c| !matches!(c, sqlparser::ast::TableConstraint::PrimaryKey(_)));
        let col = t
            .columns
            .iter_mut()
            .find(|c| c.name.value == name)
            .expect("the column was found above");
        col.options.push(sqlparser::ast::ColumnOptionDef {
            name: None,
            option: ColumnOption::DialectSpecific(vec![
                sqlparser::tokenizer::Token::make_keyword("PRIMARY"),
                sqlparser::tokenizer::Token::make_keyword("KEY"),
                sqlparser::tokenizer::Token::make_keyword("AUTOINCREMENT"),
            ]),
        });
    }
    Ok(())
}
