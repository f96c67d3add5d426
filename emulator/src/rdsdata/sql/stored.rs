//! Values as MySQL stores them, where SQLite would keep what it was given:
//! - a `CHAR(n)` value is read back without its trailing spaces, and a `VARCHAR(n)` or `CHAR(n)` value whose only
//!   characters past `n` are spaces is cut to `n` without an error (strict mode refuses any other character past
//!   `n`, by the column's check). Source: https://dev.mysql.com/doc/refman/5.7/en/char.html
//! - a `DECIMAL(p, s)` value is rounded to `s` places, half away from zero, so that `1.005` is stored, compared
//!   and summed as `1.01`. Source: https://dev.mysql.com/doc/refman/5.7/en/precision-math-rounding.html
//!
//! A table with such columns gets triggers that rewrite a row just written when a value needs it, and only then.

use sqlparser::ast::{CharacterLength, ColumnDef, DataType, ExactNumberInfo};

/// `"name"` with SQLite's quoting.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's database as a prefix for its triggers (`"db".`, or nothing for the default one) and its name: a
/// trigger lives in its table's database, and names the table without it.
fn schema_and_name(table: &str) -> (String, &str) {
    match table.rsplit_once('.') {
        Some((schema, name)) => (format!("{}.", quoted(schema)), name),
        None => (String::new(), table),
    }
}

/// A trigger's name: per table, column and event.
fn trigger_name(table: &str, col: &str, event: &str) -> String {
    quoted(&format!("offcloud_store:{table}.{col}:{event}"))
}

/// The statements that drop `col`'s triggers, before the column is dropped or renamed (SQLite refuses to drop a
/// column that a trigger names).
/// FIXME: a renamed column loses its triggers, so MySQL's trailing-space rules stop applying to it; and after a
/// table is renamed, its triggers keep the old table's name, so dropping one of its CHAR or VARCHAR columns fails.
pub fn drop_triggers(table: &str, col: &str) -> Vec<String> {
    let (schema, name) = schema_and_name(table);
    ["insert", "update"]
        .iter()
        .map(|event| {
            format!(
                "DROP TRIGGER IF EXISTS {schema}{}",
                trigger_name(name, col, event)
            )
        })
        .collect()
}

/// The triggers of `table` for `col`, if its type needs them.
pub fn triggers(table: &str, col: &ColumnDef) -> Vec<String> {
    let c = quoted(&col.name.value);
    let (when, value) = match &col.data_type {
        DataType::Char(Some(CharacterLength::IntegerLength { .. })) | DataType::Char(None) => {
            (format!("NEW.{c} GLOB '* '"), format!("rtrim(NEW.{c}, ' ')"))
        }
        DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. })) => (
            format!("length(NEW.{c}) > {length}"),
            format!("substr(NEW.{c}, 1, {length})"),
        ),
        DataType::Decimal(info) | DataType::Numeric(info) | DataType::Dec(info) => {
            let scale = match info {
                ExactNumberInfo::PrecisionAndScale(_, s) => *s,
                _ => 0,
            };
            let rounded = format!("mysql_round(NEW.{c}, {scale})");
            (format!("NEW.{c} <> {rounded}"), rounded)
        }
        _ => return vec![],
    };
    let (schema, name) = schema_and_name(table);
    ["INSERT", "UPDATE"]
        .iter()
        .map(|event| {
            let on = if *event == "UPDATE" {
                format!("UPDATE OF {c}")
            } else {
                (*event).to_string()
            };
            let trigger = trigger_name(name, &col.name.value, &event.to_ascii_lowercase());
            format!(
                "CREATE TRIGGER IF NOT EXISTS {schema}{trigger} AFTER {on} ON {table} WHEN {when} BEGIN UPDATE {table} SET {c} = {value} WHERE rowid = NEW.rowid; END",
                table = quoted(name)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    use super::triggers;

    fn column(sql: &str) -> sqlparser::ast::ColumnDef {
        let mut statements = Parser::parse_sql(&MySqlDialect {}, sql).unwrap();
        match statements.remove(0) {
            sqlparser::ast::Statement::CreateTable(t) => t.columns[0].clone(),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn char_columns_lose_trailing_spaces_and_varchar_columns_their_excess() {
        let t = triggers("t", &column("CREATE TABLE t (c CHAR(5))"));
        assert_eq!(
            t[0],
            r#"CREATE TRIGGER IF NOT EXISTS "offcloud_store:t.c:insert" AFTER INSERT ON "t" WHEN NEW."c" GLOB '* ' BEGIN UPDATE "t" SET "c" = rtrim(NEW."c", ' ') WHERE rowid = NEW.rowid; END"#
        );
        assert!(t[1].contains(r#"AFTER UPDATE OF "c" ON "t""#), "{}", t[1]);
        let t = triggers("db.t", &column("CREATE TABLE t (v VARCHAR(3))"));
        assert_eq!(
            t[0],
            r#"CREATE TRIGGER IF NOT EXISTS "db"."offcloud_store:t.v:insert" AFTER INSERT ON "t" WHEN length(NEW."v") > 3 BEGIN UPDATE "t" SET "v" = substr(NEW."v", 1, 3) WHERE rowid = NEW.rowid; END"#
        );
        let t = triggers("t", &column("CREATE TABLE t (d DECIMAL(10,2))"));
        assert!(
            t[0].contains(r#"WHEN NEW."d" <> mysql_round(NEW."d", 2) BEGIN UPDATE "t" SET "d" = mysql_round(NEW."d", 2)"#),
            "{}",
            t[0]
        );
        assert!(triggers("t", &column("CREATE TABLE t (n INT)")).is_empty());
    }
}
