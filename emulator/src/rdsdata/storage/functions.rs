//! The registration of [`crate::rdsdata::functions`] with each connection.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use crate::rdsdata::functions::{self, Val};
use crate::rdsdata::sql;

/// MySQL's functions ([`functions::FUNCTIONS`]), under [`sql::MYSQL_PREFIX`], and strict mode's checks
/// ([`functions::CHECKS`]). An error a function returns is the
/// statement's, in MySQL's words.
pub fn register_mysql_functions(c: &Connection) -> rusqlite::Result<()> {
    use rusqlite::types::Value as V;
    let mysql = functions::FUNCTIONS.iter().map(|f| (f, sql::MYSQL_PREFIX));
    // The checks that translated tables' CHECK constraints call.
    let checks = functions::CHECKS.iter().map(|f| (f, ""));
    // SQLite's LIKE, as MySQL's: without case or accents, and with a backslash as its escape.
    let overrides = functions::SQLITE_OVERRIDES.iter().map(|f| (f, ""));
    let internal = functions::INTERNAL.iter().map(|f| (f, ""));
    // Text columns and literals compare as under MySQL's default collation, utf8_general_ci.
    c.create_collation(sql::MYSQL_COLLATION, functions::collate)?;
    // Each ENUM column's collation is made the first time a statement needs it, from its name.
    c.collation_needed(|c, name| match functions::enum_members(name) {
        Some(members) => {
            c.create_collation(name, move |a, b| functions::enum_order(&members, a, b))
        }
        None => Ok(()),
    })?;
    for (f, prefix) in mysql.chain(checks).chain(overrides).chain(internal) {
        let body = f.call;
        let name = format!("{prefix}{}", f.name);
        c.create_scalar_function(
            name.as_str(),
            f.args,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            move |ctx| {
                let args: Vec<Val> = (0..ctx.len())
                    .map(|i| match ctx.get_raw(i) {
                        ValueRef::Null => Val::Null,
                        ValueRef::Integer(n) => Val::Int(n),
                        ValueRef::Real(r) => Val::Real(r),
                        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
                    })
                    .collect();
                match body(&args) {
                    Ok(Val::Null) => Ok(V::Null),
                    Ok(Val::Int(n)) => Ok(V::Integer(n)),
                    Ok(Val::Real(r)) => Ok(V::Real(r)),
                    Ok(Val::Text(t)) => Ok(V::Text(t)),
                    Ok(Val::Blob(b)) => Ok(V::Blob(b)),
                    Err(message) => Err(rusqlite::Error::UserFunctionError(message.into())),
                }
            },
        )?;
    }
    c.create_aggregate_function(
        sql::SINGLE_ROW,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        SingleRow,
    )?;
    Ok(())
}

/// The value of a scalar subquery's one row; a second row is MySQL's ER_SUBQUERY_NO_1_ROW (1242).
struct SingleRow;

impl rusqlite::functions::Aggregate<(bool, rusqlite::types::Value), rusqlite::types::Value>
    for SingleRow
{
    fn init(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
    ) -> rusqlite::Result<(bool, rusqlite::types::Value)> {
        Ok((false, rusqlite::types::Value::Null))
    }

    fn step(
        &self,
        ctx: &mut rusqlite::functions::Context<'_>,
        acc: &mut (bool, rusqlite::types::Value),
    ) -> rusqlite::Result<()> {
        if acc.0 {
            return Err(rusqlite::Error::UserFunctionError(
                "Subquery returns more than 1 row".into(),
            ));
        }
        *acc = (true, ctx.get(0)?);
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        acc: Option<(bool, rusqlite::types::Value)>,
    ) -> rusqlite::Result<rusqlite::types::Value> {
        Ok(acc.map_or(rusqlite::types::Value::Null, |a| a.1))
    }
}
