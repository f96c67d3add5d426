//! Translation, statement by statement.
use super::*;

/// Translation without a schema.
fn translate(sql: &str, database: Option<&str>) -> Result<Translated, RdsError> {
    super::translate(sql, database, &NoCatalog)
}

#[test]
fn create_table_drops_mysql_options_and_keeps_types() {
    let t = translate(
        "CREATE TABLE ec2 (id VARCHAR(70) NOT NULL, n INT, created DATETIME DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
                None,
    )
    .unwrap();
    assert_eq!(t.kind, Kind::Other);
    assert!(!t.sql.contains("ENGINE"), "{}", t.sql);
    assert!(
        t.sql.contains("VARCHAR(70) NOT NULL COLLATE mysql_ci"),
        "{}",
        t.sql
    );
    assert!(t.sql.contains("PRIMARY KEY (id)"), "{}", t.sql);
}

#[test]
fn auto_increment_becomes_sqlite_autoincrement() {
    let t = translate(
        "CREATE TABLE p (id INT NOT NULL AUTO_INCREMENT, name TEXT, PRIMARY KEY (id))",
        None,
    )
    .unwrap();
    assert!(
        t.sql.contains("id INTEGER NOT NULL")
            && t.sql.contains(
                "PRIMARY KEY AUTOINCREMENT CONSTRAINT \"offcloud:auto:id\" CHECK (id <> 0), name"
            ),
        "{}",
        t.sql
    );
    assert!(!t.sql.contains("PRIMARY KEY (id)"), "{}", t.sql);
}

#[test]
fn the_default_database_is_sqlite_s_main() {
    let t = translate(
        "SELECT * FROM ec2_inventory_db.ec2 JOIN other.t ON 1",
        Some("ec2_inventory_db"),
    )
    .unwrap();
    assert_eq!(t.sql, "SELECT * FROM ec2 JOIN other.t ON 1");
    let t = translate(
        "CREATE TABLE ec2_inventory_db.ec2 (id BLOB, at BLOB DEFAULT CURRENT_TIMESTAMP)",
        Some("ec2_inventory_db"),
    )
    .unwrap();
    assert_eq!(
        t.sql,
        "CREATE TABLE ec2 (id BLOB, at BLOB DEFAULT (offcloud_now()))"
    );
}

#[test]
fn clock_functions_come_from_the_emulator_clock() {
    let t = translate("SELECT NOW(), UTC_TIMESTAMP(), CURDATE()", None).unwrap();
    assert_eq!(
        t.sql,
        "SELECT offcloud_now() AS \"NOW()\", offcloud_now() AS \"UTC_TIMESTAMP()\", date(offcloud_now()) AS \"CURDATE()\""
    );
}

#[test]
fn on_duplicate_key_update_is_an_upsert() {
    let t = translate(
        "INSERT INTO t (id, n) VALUES (:id, 1) ON DUPLICATE KEY UPDATE n = VALUES(n) + 1",
        None,
    )
    .unwrap();
    assert!(
        t.sql.ends_with(
            "ON CONFLICT DO UPDATE SET n = excluded.n + 1 WHERE n IS DISTINCT FROM (excluded.n + 1) COLLATE BINARY RETURNING rowid"
        ),
        "{}",
        t.sql
    );
    assert_eq!(
        t.kind,
        Kind::Insert {
            table: "t".into(),
            columns: vec!["id".into(), "n".into()],
            rows: vec![vec![":id".into(), "1".into()]],
            conflict: Conflict::Update,
        }
    );
}

#[test]
fn syntax_errors_read_as_mysql_s() {
    let e = translate("SELEC * FROM t", None).unwrap_err();
    assert!(
        e.to_string().starts_with("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC * FROM t' at line 1"),
        "{e}"
    );
    let e = translate("SELECT 1; SELECT 2", None).unwrap_err();
    assert!(e.to_string().contains("near 'SELECT 2' at line 1"), "{e}");
}

#[test]
fn unsupported_constructs_are_named() {
    let e = translate("GRANT ALL ON *.* TO x", None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Offcloud's Data API does not support GRANT"),
        "{e}"
    );
    let e = translate(&"x".repeat(MAX_SQL + 1), None).unwrap_err();
    assert!(e.to_string().contains("65536"), "{e}");
}

#[test]
fn mysql_meanings_are_kept_or_refused() {
    let t = |sql: &str| translate(sql, None).map(|t| t.sql);
    assert_eq!(
        t("SELECT 7 / 2 AS x").unwrap(),
        "SELECT CAST((7) AS REAL) / 2 AS x"
    );
    assert_eq!(
        t("SELECT 7 DIV 2 AS q").unwrap(),
        "SELECT CAST((7 / 2) AS INTEGER) AS q"
    );
    assert_eq!(
        t("SELECT \"a\" AS a FROM t").unwrap(),
        "SELECT 'a' AS a FROM t"
    );
    assert_eq!(
        t("SELECT IF(a, 1, 2) AS i, LENGTH(a) AS n, 10.5 % 3 AS m FROM t").unwrap(),
        "SELECT iif(a, 1, 2) AS i, mysql_length(a) AS n, mysql_mod(10.5, 3) AS m FROM t"
    );
    let e = t("SELECT BENCHMARK(1, 1) AS b FROM t").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Offcloud's Data API does not support the function BENCHMARK()"
    );
    let e = t("SELECT LEFT('abc') AS l").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Incorrect parameter count in the call to native function 'LEFT'"
    );
    let e = t("SELECT a || b FROM t").unwrap_err();
    assert!(e.to_string().contains("the || operator"), "{e}");
    let binary = translate("CREATE TABLE t (a VARCHAR(5) COLLATE utf8_bin)", None).unwrap();
    assert!(!binary.sql.contains("mysql_ci"), "{}", binary.sql);
}

#[test]
fn insert_ignore_and_drops() {
    let t = |sql: &str| translate(sql, None).map(|t| t.sql);
    assert_eq!(
        t("INSERT IGNORE INTO t (a) VALUES (1)").unwrap(),
        "INSERT OR IGNORE INTO t (a) VALUES (1)"
    );
    assert_eq!(
        t("DROP TABLE IF EXISTS t").unwrap(),
        "DROP TABLE IF EXISTS t"
    );
    let e = t("DROP DATABASE x").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Offcloud's Data API does not support this DROP DATABASE"),
        "{e}"
    );
}

#[test]
fn keys_become_named_indexes_and_enums_and_strict_mode_become_checks() {
    let t = translate(
        "CREATE TABLE `u` (`id` INT NOT NULL AUTO_INCREMENT, `email` VARCHAR(5) NOT NULL, \
         `kind` ENUM('a','b'), PRIMARY KEY (`id`), UNIQUE KEY `uniq_email` (`email`), KEY `idx_kind` (`kind`)) \
         ENGINE=InnoDB AUTO_INCREMENT=1000",
                None,
    )
    .unwrap();
    assert!(!t.sql.contains("KEY `"), "{}", t.sql);
    assert!(
        t.sql.contains(
            "CONSTRAINT \"offcloud:length:email\" CHECK (length(rtrim(`email`, ' ')) <= 5)"
        ),
        "{}",
        t.sql
    );
    assert!(
        t.sql.contains("`kind` ENUM COLLATE \"offcloud_enum:61,62\" CONSTRAINT \"offcloud:enum:kind\" CHECK (`kind` IN ('a', 'b'))"),
        "{}",
        t.sql
    );
    assert_eq!(
        t.after,
        [
            "CREATE UNIQUE INDEX \"u.uniq_email\" ON u (`email`)",
            "CREATE INDEX \"u.idx_kind\" ON u (`kind`)",
            "CREATE TRIGGER IF NOT EXISTS \"offcloud_store:u.email:insert\" AFTER INSERT ON \"u\" WHEN length(NEW.\"email\") > 5 BEGIN UPDATE \"u\" SET \"email\" = substr(NEW.\"email\", 1, 5) WHERE rowid = NEW.rowid; END",
            "CREATE TRIGGER IF NOT EXISTS \"offcloud_store:u.email:update\" AFTER UPDATE OF \"email\" ON \"u\" WHEN length(NEW.\"email\") > 5 BEGIN UPDATE \"u\" SET \"email\" = substr(NEW.\"email\", 1, 5) WHERE rowid = NEW.rowid; END",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'u', 999 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'u')",
        ]
    );
    assert!(
        t.sql
            .contains("CONSTRAINT \"offcloud:auto:id\" CHECK (`id` <> 0)"),
        "{}",
        t.sql
    );
    assert_eq!(
        unique_index_of(&t.after[0], &["email".to_string()]),
        Some(("u".to_string(), "uniq_email".to_string()))
    );
    assert_eq!(
        check_failure("offcloud:length:email").unwrap(),
        "Data too long for column 'email' at row 1"
    );
    assert_eq!(check_failure("other"), None);
}

#[test]
fn alter_table_forms_sqlite_can_do_in_place() {
    let t = |sql: &str| translate(sql, None).map(|t| (t.sql, t.after));
    let (first, after) = t(
        "ALTER TABLE t ADD COLUMN n TINYINT NOT NULL, ADD UNIQUE KEY uq (n), DROP COLUMN old, \
                            RENAME COLUMN a TO b, DROP INDEX ix, RENAME TO t2",
    )
    .unwrap();
    assert_eq!(
        first,
        "ALTER TABLE t ADD COLUMN n TINYINT NOT NULL CONSTRAINT \"offcloud:int:n\" CHECK (offcloud_check_int(n, 'n', -128, 127)) DEFAULT 0"
    );
    assert_eq!(
        after,
        [
            "CREATE UNIQUE INDEX \"t.uq\" ON t (n)",
            // SQLite refuses to drop a column that a trigger names: its trailing-space triggers go first.
            "DROP TRIGGER IF EXISTS \"offcloud_store:t.old:insert\"",
            "DROP TRIGGER IF EXISTS \"offcloud_store:t.old:update\"",
            "ALTER TABLE t DROP COLUMN old",
            "DROP TRIGGER IF EXISTS \"offcloud_store:t.a:insert\"",
            "DROP TRIGGER IF EXISTS \"offcloud_store:t.a:update\"",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "DROP INDEX \"t.ix\"",
            "ALTER TABLE t RENAME TO t2",
        ]
    );
    let e = t("ALTER TABLE t MODIFY n BIGINT").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Offcloud's Data API does not support ALTER TABLE ... MODIFY"),
        "{e}"
    );
    let e = t("ALTER TABLE t ADD COLUMN c INT AFTER b").unwrap_err();
    assert!(e.to_string().contains("FIRST or AFTER"), "{e}");
    let tr = translate("TRUNCATE TABLE t", None).unwrap();
    assert_eq!(
        (tr.sql.as_str(), tr.kind),
        ("DELETE FROM t", Kind::Truncate { table: "t".into() })
    );
    assert_eq!(
        translate("DROP INDEX ix ON t", None).unwrap().sql,
        "DROP INDEX \"t.ix\""
    );
}

#[test]
fn updates_count_changed_rows_and_see_earlier_assignments() {
    let t = |sql: &str| translate(sql, None).unwrap().sql;
    assert_eq!(
        t("UPDATE t SET a = a + 1, b = a WHERE id = 1"),
        "UPDATE t SET a = a + 1, b = (a + 1) WHERE (id = 1) AND (a IS DISTINCT FROM (a + 1) COLLATE BINARY \
         OR b IS DISTINCT FROM ((a + 1)) COLLATE BINARY)"
    );
    assert_eq!(
        t("UPDATE jobs SET s = 'run' ORDER BY p DESC LIMIT 2"),
        "UPDATE jobs SET s = 'run' WHERE (rowid IN (SELECT rowid FROM jobs ORDER BY p DESC LIMIT 2)) AND \
         (s IS DISTINCT FROM ('run') COLLATE BINARY)"
    );
    assert_eq!(
        t("UPDATE o JOIN c ON c.id = o.cid SET o.s = 1 WHERE c.vip = 1"),
        "UPDATE o SET s = 1 FROM c WHERE ((c.id = o.cid) AND (c.vip = 1)) AND (o.s IS DISTINCT FROM (1) COLLATE BINARY)"
    );
    let e = translate("UPDATE a JOIN b ON b.id = a.id SET a.x = 1, b.y = 2", None).unwrap_err();
    assert!(e.to_string().contains("more than one table"), "{e}");
}

#[test]
fn deletes_with_limits_and_joins_go_through_rowids() {
    let t = |sql: &str| translate(sql, None).unwrap();
    let d = t("DELETE s FROM sessions s JOIN users u ON u.id = s.uid WHERE u.banned = 1");
    assert_eq!(
        d.sql,
        "DELETE FROM sessions WHERE rowid IN (SELECT s.rowid FROM sessions s JOIN users u ON u.id = s.uid \
         WHERE u.banned = 1)"
    );
    assert!(
        matches!(&d.kind, Kind::Write { table, delete: true, .. } if table == "sessions"),
        "{:?}",
        d.kind
    );
    assert_eq!(
        t("DELETE FROM logs ORDER BY at LIMIT 2").sql,
        "DELETE FROM logs WHERE rowid IN (SELECT rowid FROM logs ORDER BY at LIMIT 2)"
    );
}

#[test]
fn unaliased_expressions_are_labelled_as_written() {
    let t = |sql: &str| translate(sql, None).unwrap().sql;
    assert_eq!(
        t("SELECT 1+1, LENGTH( 'x' ), 'hello', id, t.name, UPPER(name) AS u FROM t"),
        "SELECT offcloud_bigint(1 + 1, '1 + 1') AS \"1+1\", mysql_length('x') AS \"LENGTH( 'x' )\", 'hello' AS \"hello\", id, t.name, mysql_upper(name) AS u FROM t"
    );
    assert_eq!(
        t("SELECT\n  CONCAT('[', c, ']'),\n  d + INTERVAL 1 DAY FROM t"),
        "SELECT mysql_concat('[', c, ']') AS \"CONCAT('[', c, ']')\", mysql_date_add(d, 1, 'DAY') AS \"d + INTERVAL 1 DAY\" FROM t"
    );
    assert_eq!(
        t("SELECT DISTINCT CAST(x AS SIGNED), FLOOR(2.7) FROM t"),
        "SELECT DISTINCT CAST(mysql_round(x) AS INTEGER) AS \"CAST(x AS SIGNED)\", mysql_floor(2.7) AS \"FLOOR(2.7)\" FROM t"
    );
    assert_eq!(
        t("SELECT 'é' = 'e', LENGTH('日本') FROM t WHERE a IN (SELECT b FROM u)"),
        "SELECT 'é' COLLATE mysql_ci = 'e' AS \"'é' = 'e'\", mysql_length('日本') AS \"LENGTH('日本')\" FROM t WHERE a IN (SELECT b FROM u)"
    );
}

#[test]
fn literals_compare_under_mysql_s_collation_unless_binary() {
    let t = |sql: &str| translate(sql, None).unwrap().sql;
    assert_eq!(
        t("SELECT BINARY 'abc' = 'ABC' AS a, s = 'x' AS b FROM t"),
        "SELECT 'abc' COLLATE BINARY = 'ABC' AS a, s = 'x' AS b FROM t"
    );
}

#[test]
fn aggregates_beside_columns_without_group_by_are_refused_as_mysql_does() {
    let e = translate("SELECT id, COUNT(*) FROM t", Some("db")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "In aggregated query without GROUP BY, expression #1 of SELECT list contains nonaggregated column 'db.t.id'; this is incompatible with sql_mode=only_full_group_by"
    );
    for ok in [
        "SELECT COUNT(*), MAX(id) FROM t",
        "SELECT id, COUNT(*) FROM t GROUP BY id",
        "SELECT (SELECT COUNT(*) FROM u WHERE u.x = t.id) FROM t",
        "SELECT id FROM t",
    ] {
        translate(ok, Some("db")).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

/// A schema of one table: `t (id INT, n BIGINT, d DECIMAL(8,2), f DOUBLE, s VARCHAR(5))`.
struct OneTable;

impl Catalog for OneTable {
    fn column_type(&self, table: &str, column: &str) -> Option<String> {
        let ty = match column {
            "id" => "INT",
            "n" => "BIGINT",
            "d" => "DECIMAL(8,2)",
            "f" => "DOUBLE",
            "s" => "VARCHAR(5)",
            _ => return None,
        };
        (table == "t").then(|| ty.to_string())
    }

    fn unique_keys(&self, table: &str) -> Vec<Vec<String>> {
        if table == "t" {
            vec![vec!["id".to_string()]]
        } else {
            vec![]
        }
    }
}

#[test]
fn column_types_choose_mysql_s_meaning() {
    let t = |sql: &str| super::translate(sql, Some("db"), &OneTable).unwrap().sql;
    // DECIMAL arithmetic compares exactly; DOUBLE arithmetic as doubles do.
    assert_eq!(
        t("SELECT id FROM t WHERE d + d = 0.3 AND f + f = 0.3"),
        "SELECT id FROM t WHERE offcloud_exact(d + d) = 0.3 AND f + f = 0.3"
    );
    // A DECIMAL column is text at its scale in CONCAT.
    assert_eq!(
        t("SELECT CONCAT(s, d, n) AS x FROM t"),
        "SELECT mysql_concat(s, offcloud_decimal_text(d, 2), n) AS x FROM t"
    );
    // BIGINT arithmetic fails past BIGINT's range, naming its columns as MySQL does.
    assert_eq!(
        t("SELECT x.n + 1 AS m FROM t AS x"),
        "SELECT offcloud_bigint(x.n + 1, '`db`.`t`.`n` + 1') AS m FROM t AS x"
    );
}

#[test]
fn grouped_columns_must_be_grouped_or_functionally_dependent() {
    // MySQL 5.7 takes a column as dependent on a grouped unique key, or on an equality with a grouped column or
    // a constant: https://dev.mysql.com/doc/refman/5.7/en/group-by-functional-dependence.html (MariaDB, which the
    // differential test compares with, does not, so these are checked here).
    let t = |sql: &str| {
        super::translate(sql, Some("db"), &OneTable)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    for accepted in [
        "SELECT s, COUNT(*) FROM t GROUP BY s",
        "SELECT id, s, d FROM t GROUP BY id",
        "SELECT s AS k, COUNT(*) FROM t GROUP BY k",
        "SELECT UPPER(s), COUNT(*) FROM t GROUP BY UPPER(s)",
        "SELECT s, d FROM t WHERE d = 1 GROUP BY s",
        "SELECT x.s, y.d FROM t AS x JOIN t AS y ON y.id = x.id GROUP BY x.id",
        "SELECT s, MAX(d) FROM t GROUP BY s, n",
    ] {
        assert_eq!(t(accepted), Ok(()), "{accepted}");
    }
    assert_eq!(
        t("SELECT s, d FROM t GROUP BY s").unwrap_err(),
        "Expression #2 of SELECT list is not in GROUP BY clause and contains nonaggregated column 'db.t.d' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by"
    );
    assert!(t("SELECT s, d + 1 FROM t WHERE n = s GROUP BY s").is_err());
}
