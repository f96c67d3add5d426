//! Translated statements, kept by their text and default database, so that a statement an application sends again
//! and again is parsed and translated once. A translation may depend on the schema (see `scope`), so each DDL
//! statement starts a new generation, and translations of an older one are not used again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Catalog, Translated, translate};
use crate::rdsdata::RdsError;

/// How many translations are kept. Past it the cache starts again, which keeps it simple and bounded: an
/// application's distinct statements are far fewer.
const CAPACITY: usize = 1024;

/// A statement's text and the default database it was translated for.
type Key = (String, Option<String>);

#[derive(Default)]
pub struct Cache {
    map: Mutex<HashMap<Key, (u64, Arc<Translated>)>>,
    /// The schema's generation: how many DDL statements have run.
    generation: AtomicU64,
}

impl Cache {
    /// `sql`'s translation for `database`, translated now (asking `catalog` about the schema) if it is not kept
    /// for the schema's generation. Refusals are not kept.
    pub fn translate(
        &self,
        sql: &str,
        database: Option<&str>,
        catalog: &dyn Catalog,
    ) -> Result<Arc<Translated>, RdsError> {
        let key = (sql.to_string(), database.map(str::to_string));
        // The generation is read before the translation, so that one made while DDL runs is never used after it.
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((g, t)) = self.lock().get(&key)
            && *g == generation
        {
            return Ok(t.clone());
        }
        let t = Arc::new(translate(sql, database, catalog)?);
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, (generation, t.clone()));
        Ok(t)
    }

    /// Says that a DDL statement has run: the translations kept so far may no longer hold.
    pub fn schema_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, Arc<Translated>)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Says, when dropped, that the schema may have changed: held while a DDL statement runs.
pub struct SchemaChange<'a>(pub &'a Cache);

impl Drop for SchemaChange<'_> {
    fn drop(&mut self) {
        self.0.schema_changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdsdata::sql::NoCatalog;

    #[test]
    fn a_statement_is_translated_once_per_database_and_schema() {
        let cache = Cache::default();
        let t = |sql: &str, db: Option<&str>| cache.translate(sql, db, &NoCatalog);
        let a = t("SELECT 1 AS x", Some("db")).unwrap();
        let b = t("SELECT 1 AS x", Some("db")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = t("SELECT 1 AS x", Some("other")).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        cache.schema_changed();
        let d = t("SELECT 1 AS x", Some("db")).unwrap();
        assert!(!Arc::ptr_eq(&a, &d));
        assert!(t("GRANT ALL ON *.* TO x", None).is_err());
        for i in 0..CAPACITY + 1 {
            t(&format!("SELECT {i} AS x"), None).unwrap();
        }
        assert!(cache.lock().len() <= CAPACITY);
    }
}
