//! Translated statements, kept by their text and default database, so that a statement an application sends again
//! and again is parsed and translated once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Translated, translate};
use crate::rdsdata::RdsError;

/// How many translations are kept. Past it the cache starts again, which keeps it simple and bounded: an
/// application's distinct statements are far fewer.
const CAPACITY: usize = 1024;

/// A statement's text and the default database it was translated for.
type Key = (String, Option<String>);

#[derive(Default)]
pub struct Cache(Mutex<HashMap<Key, Arc<Translated>>>);

impl Cache {
    /// `sql`'s translation for `database`, translated now if it is not kept. Refusals are not kept.
    pub fn translate(
        &self,
        sql: &str,
        database: Option<&str>,
    ) -> Result<Arc<Translated>, RdsError> {
        let key = (sql.to_string(), database.map(str::to_string));
        if let Some(t) = self.lock().get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(translate(sql, database)?);
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, t.clone());
        Ok(t)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Translated>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_translated_once_per_database() {
        let cache = Cache::default();
        let a = cache.translate("SELECT 1 AS x", Some("db")).unwrap();
        let b = cache.translate("SELECT 1 AS x", Some("db")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = cache.translate("SELECT 1 AS x", Some("other")).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(cache.translate("GRANT ALL ON *.* TO x", None).is_err());
        for i in 0..CAPACITY + 1 {
            cache.translate(&format!("SELECT {i} AS x"), None).unwrap();
        }
        assert!(cache.lock().len() <= CAPACITY);
    }
}
