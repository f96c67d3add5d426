//! The schema cache: what a cluster's schema files made, kept in Offcloud's cache (`schemas/<key>/`), so that the
//! next start with the same files copies the database files rather than parsing, translating and running every
//! statement again, which was the longest part of a start.
//!
//! An entry is keyed by everything its files depend on: this build of Offcloud (the translation is the build's),
//! the cluster's default database, and the text of each schema file in order. Only a schema whose every statement
//! just defines schema is kept ([`crate::rdsdata::sql::Scripted::defines`]): rows a schema inserts may hold the
//! time or a random id, which a copy would repeat. A cluster with `--data-dir` keeps its own files and never uses
//! the cache.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The folder of the entry for a cluster with default database `database` and schema files holding `texts`, in
/// order; `None` when this build cannot be identified.
pub fn entry<'a>(
    database: Option<&str>,
    texts: impl IntoIterator<Item = &'a str>,
) -> Option<PathBuf> {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let mut field = |bytes: &[u8]| {
        hash.update(&(bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(b"offcloud schema cache 1");
    field(build()?.as_bytes());
    field(database.unwrap_or_default().as_bytes());
    for text in texts {
        field(text.as_bytes());
    }
    let digest = hash.finish();
    let key: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(
        crate::lambda::runtimes::cache_dir()
            .join("schemas")
            .join(key),
    )
}

/// The most entries kept: each build of Offcloud keys its own, so old ones pile up as it is rebuilt.
const KEEP: usize = 32;

/// Removes all but the [`KEEP`] newest entries beside `entry`, after a new one is written.
pub fn prune(entry: &Path) {
    let Some(dir) = entry.parent() else { return };
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if entries.len() <= KEEP {
        return;
    }
    entries.sort();
    for (_, old) in &entries[..entries.len() - KEEP] {
        let _ = std::fs::remove_dir_all(old);
    }
}

/// This build: its executable's path, size, modification time and inode, read once.
fn build() -> Option<&'static str> {
    static BUILD: OnceLock<Option<String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            use std::os::unix::fs::MetadataExt;
            let exe = std::env::current_exe().ok()?;
            let m = std::fs::metadata(&exe).ok()?;
            Some(format!(
                "{}:{}:{}.{}:{}",
                exe.display(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ino()
            ))
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Env;
    use crate::config::Config;
    use crate::rdsdata::{DataApi, Operation};

    /// A folder with `schema.sql` holding `schema` under a comment no other run has, so that its cache entry is
    /// this test's alone; removed with the entry on drop.
    struct Project {
        dir: PathBuf,
        schema: String,
    }

    impl Project {
        fn new(tag: &str, schema: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "offcloud-schema-cache-{tag}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let schema = format!("-- {tag} {nanos}\n{schema}");
            std::fs::write(dir.join("schema.sql"), &schema).unwrap();
            Project { dir, schema }
        }

        fn entry(&self) -> PathBuf {
            entry(Some("db"), [self.schema.as_str()]).unwrap()
        }

        fn open(&self, data_dir: Option<&Path>) -> DataApi {
            let text = "[[cluster]]\narn = \"arn:aws:rds:us-east-1:123456789012:cluster:c\"\n\
                        database = \"db\"\nschema = [\"schema.sql\"]\n";
            let config = Config::parse("offcloud.toml", text, &self.dir).unwrap();
            DataApi::open(&config, data_dir, Env::default()).unwrap()
        }
    }

    impl Drop for Project {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.entry());
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn databases(api: &DataApi) -> Vec<(String, Vec<String>)> {
        api.catalog().remove(0).databases
    }

    #[test]
    fn a_schema_that_only_defines_is_copied_from_the_cache_at_the_next_start() {
        let p = Project::new(
            "defines",
            "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, at DATETIME DEFAULT CURRENT_TIMESTAMP);\n\
             CREATE INDEX t_at ON t (at);\nALTER TABLE t ADD COLUMN name VARCHAR(20);\n",
        );
        let first = p.open(None);
        assert_eq!(
            databases(&first),
            [("db".to_string(), vec!["t".to_string()])]
        );
        let entry = p.entry();
        assert!(entry.join("db.sqlite").is_file(), "the schema was cached");
        // A database only the cached copy has shows that the next start copied rather than ran the schema.
        std::fs::copy(entry.join("db.sqlite"), entry.join("marker.sqlite")).unwrap();
        let manifest = std::fs::read_to_string(entry.join("databases")).unwrap();
        assert_eq!(manifest, "db");
        std::fs::write(entry.join("databases"), "db\nmarker").unwrap();
        let second = p.open(None);
        let dbs: Vec<String> = databases(&second).into_iter().map(|(d, _)| d).collect();
        assert_eq!(dbs, ["db", "marker"]);
        // The copy behaves as the schema made it: the added column, the key's counter and the clock's default.
        let body = serde_json::json!({
            "resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:c",
            "secretArn": "any",
            "sql": "INSERT INTO t (name) VALUES ('a')",
        });
        let out = second.call(Operation::ExecuteStatement, &body).unwrap();
        assert_eq!(out["generatedFields"][0]["longValue"], 1, "{out}");
        // Its writes are its own: the first cluster and the cache entry are as they were.
        drop(first);
        let third = p.open(None);
        let body = serde_json::json!({
            "resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:c",
            "secretArn": "any",
            "sql": "SELECT COUNT(*) FROM t",
        });
        let out = third.call(Operation::ExecuteStatement, &body).unwrap();
        assert_eq!(out["records"][0][0]["longValue"], 0, "{out}");
        // An entry that cannot be used (here, one missing a database its list names) is made again.
        std::fs::remove_file(entry.join("marker.sqlite")).unwrap();
        let fourth = p.open(None);
        assert_eq!(
            databases(&fourth),
            [("db".to_string(), vec!["t".to_string()])]
        );
        let manifest = std::fs::read_to_string(entry.join("databases")).unwrap();
        assert_eq!(manifest, "db", "the entry was written again");
    }

    #[test]
    fn only_the_newest_entries_are_kept() {
        let dir = std::env::temp_dir().join(format!("offcloud-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..KEEP + 3 {
            std::fs::create_dir_all(dir.join(format!("{i:02}"))).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::fs::create_dir_all(dir.join(".being-written.tmp")).unwrap();
        prune(&dir.join("00"));
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = (3..KEEP + 3).map(|i| format!("{i:02}")).collect();
        want.insert(0, ".being-written.tmp".into());
        assert_eq!(left, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_schema_that_inserts_rows_or_a_cluster_with_a_data_dir_is_not_cached() {
        let p = Project::new(
            "inserts",
            "CREATE TABLE t (id INT PRIMARY KEY, at DATETIME DEFAULT CURRENT_TIMESTAMP);\n\
             INSERT INTO t (id) VALUES (1);\n",
        );
        drop(p.open(None));
        assert!(!p.entry().exists(), "rows hold the time they were made");
        let p = Project::new("data-dir", "CREATE TABLE t (id INT PRIMARY KEY);\n");
        let data = p.dir.join("data");
        drop(p.open(Some(&data)));
        assert!(!p.entry().exists(), "a data dir keeps its own files");
    }

    #[test]
    fn a_schema_that_fails_is_not_cached_and_fails_again() {
        let p = Project::new(
            "fails",
            "CREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE t (id INT);\n",
        );
        let text = "[[cluster]]\narn = \"arn:aws:rds:us-east-1:123456789012:cluster:c\"\n\
                    database = \"db\"\nschema = [\"schema.sql\"]\n";
        let config = Config::parse("offcloud.toml", text, &p.dir).unwrap();
        for _ in 0..2 {
            let e = DataApi::open(&config, None, Env::default()).err().unwrap();
            assert!(e.to_string().contains("already exists"), "{e}");
        }
        assert!(!p.entry().exists());
    }

    #[test]
    fn an_entry_changes_with_each_file_its_order_and_the_database() {
        let a = "CREATE TABLE a (id INT)".to_string();
        let b = "CREATE TABLE b (id INT)".to_string();
        let key = |db: Option<&str>, texts: &[String]| {
            entry(db, texts.iter().map(String::as_str)).unwrap()
        };
        let base = key(Some("app"), &[a.clone(), b.clone()]);
        assert_eq!(base, key(Some("app"), &[a.clone(), b.clone()]));
        assert!(base.starts_with(crate::lambda::runtimes::cache_dir().join("schemas")));
        for other in [
            key(Some("app"), &[b.clone(), a.clone()]),
            key(Some("other"), &[a.clone(), b.clone()]),
            key(None, &[a.clone(), b.clone()]),
            key(Some("app"), std::slice::from_ref(&a)),
            // The same bytes split between files differently.
            key(Some("app"), &[format!("{a}{b}")]),
        ] {
            assert_ne!(base, other);
        }
    }
}
