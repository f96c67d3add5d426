//! A cluster's database files saved whole into a folder, and copied back into a new cluster's, so that a start
//! whose schema files are unchanged copies what they made rather than running them again (see
//! [`crate::rdsdata::schema_cache`]).

use std::path::Path;

use super::{ClusterFiles, sqlite};
use crate::rdsdata::RdsError;

impl ClusterFiles {
    /// Writes a copy of every database of the cluster into the folder `to`, which appears whole or not at all: the
    /// files are written into a folder beside it that is then renamed. A folder already at `to` (another process
    /// saved the same schema first) is left as it is.
    pub fn save(&self, to: &Path) -> Result<(), RdsError> {
        let io = |what: &str, p: &Path, e: std::io::Error| {
            RdsError::Internal(format!("cannot {what} {}: {e}", p.display()))
        };
        let parent = to
            .parent()
            .ok_or_else(|| RdsError::Internal(format!("{} has no parent", to.display())))?;
        std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        let name = to.file_name().unwrap_or_default().to_string_lossy();
        let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| io("create", &tmp, e))?;
        let databases = self.databases();
        let written = databases.iter().try_for_each(|db| {
            // Everything the WAL holds goes back into the file and the WAL is emptied, so that the file alone is
            // the whole database. Nothing else runs on the cluster yet.
            let busy: i64 = self.with_autocommit(db, |c| {
                c.0.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                    .map_err(sqlite)
            })?;
            if busy != 0 {
                return Err(RdsError::Internal(format!(
                    "database {db} was busy at its checkpoint"
                )));
            }
            let from = self.file(db);
            std::fs::copy(&from, tmp.join(format!("{db}.sqlite")))
                .map(drop)
                .map_err(|e| io("copy", &from, e))
        });
        // The list of databases, so that a restore knows it has every one.
        let manifest = tmp.join(MANIFEST);
        let written = written.and_then(|()| {
            std::fs::write(&manifest, databases.join("\n")).map_err(|e| io("write", &manifest, e))
        });
        let renamed = written.and_then(|()| match std::fs::rename(&tmp, to) {
            Ok(()) => Ok(()),
            Err(_) if to.is_dir() => Ok(()),
            Err(e) => Err(io("rename", &tmp, e)),
        });
        let _ = std::fs::remove_dir_all(&tmp);
        renamed
    }

    /// Copies every database file in `from` (a folder [`ClusterFiles::save`] wrote) into the cluster, which must
    /// have no database yet. On an error, a database missing from `from` included, nothing is left copied and the
    /// cluster is as it was.
    pub fn restore(&self, from: &Path) -> std::io::Result<()> {
        let mut copied = Vec::new();
        let result = std::fs::read_to_string(from.join(MANIFEST)).and_then(|manifest| {
            for db in manifest.lines() {
                let to = self.file(db);
                std::fs::copy(from.join(format!("{db}.sqlite")), &to)?;
                copied.push(to);
            }
            Ok(())
        });
        if result.is_err() {
            for f in copied {
                let _ = std::fs::remove_file(f);
            }
        }
        result
    }
}

/// The file of a saved folder that names its databases, one per line.
const MANIFEST: &str = "databases";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cluster(tag: &str) -> ClusterFiles {
        ClusterFiles::open(None, tag, Arc::new(|| "2026-12-02 00:00:00".to_string())).unwrap()
    }

    fn tables(files: &ClusterFiles, db: &str) -> Vec<String> {
        files
            .with_autocommit(db, |c| {
                let mut st = c
                    .0
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                    .map_err(sqlite)?;
                let names = st
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(sqlite)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sqlite)?;
                Ok(names)
            })
            .unwrap()
    }

    #[test]
    fn a_saved_cluster_restores_with_every_database_and_what_its_wal_held() {
        let a = cluster("save");
        a.create_database("app", true).unwrap();
        a.create_database("audit", true).unwrap();
        for (db, table) in [("app", "users"), ("audit", "events")] {
            a.with_autocommit(db, |c| {
                c.0.execute_batch(&format!(
                    "CREATE TABLE {table} (id INTEGER PRIMARY KEY); INSERT INTO {table} VALUES (7);"
                ))
                .map_err(sqlite)
            })
            .unwrap();
        }
        let to = a.dir.join("snapshot").join("key");
        a.save(&to).unwrap();
        // Saving again finds the folder there and leaves it.
        a.save(&to).unwrap();
        let b = cluster("restore");
        b.restore(&to).unwrap();
        assert_eq!(b.databases(), ["app", "audit"]);
        assert_eq!(tables(&b, "app"), ["users"]);
        assert_eq!(tables(&b, "audit"), ["events"]);
        let n: i64 = b
            .with_autocommit("app", |c| {
                c.0.query_row("SELECT id FROM users", [], |r| r.get(0))
                    .map_err(sqlite)
            })
            .unwrap();
        assert_eq!(n, 7);
        // The copy is its own database: a write to it leaves the saved one as it was.
        b.with_autocommit("app", |c| {
            c.0.execute("DROP TABLE users", []).map_err(sqlite)
        })
        .unwrap();
        let c = cluster("again");
        c.restore(&to).unwrap();
        assert_eq!(tables(&c, "app"), ["users"]);
        let leftovers: Vec<_> = std::fs::read_dir(to.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["key"], "no temporary folder is left behind");
    }

    #[test]
    fn a_restore_that_fails_leaves_nothing() {
        let b = cluster("missing");
        assert!(b.restore(&b.dir.join("no-such-snapshot")).is_err());
        assert!(b.databases().is_empty());
        // A saved folder that lost one of its databases (removed while it was read) is refused whole.
        let a = cluster("partial");
        a.create_database("app", true).unwrap();
        a.create_database("audit", true).unwrap();
        let to = a.dir.join("snapshot").join("key");
        a.save(&to).unwrap();
        std::fs::remove_file(to.join("audit.sqlite")).unwrap();
        let c = cluster("partial-restore");
        assert!(c.restore(&to).is_err());
        assert!(c.databases().is_empty(), "{:?}", c.databases());
    }
}
