//! A MariaDB server owned by the test: made in a temporary folder, listening on a free loopback port, and
//! removed when dropped. It runs in MySQL 5.7's default `sql_mode` with `utf8_general_ci`, as Aurora MySQL 2 does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{find, free_port, run, scratch};

/// MySQL 5.7's default `sql_mode` (Aurora MySQL 2's default too).
/// Source: https://dev.mysql.com/doc/refman/5.7/en/sql-mode.html#sql-mode-setting
pub const SQL_MODE: &str = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION";

pub struct MariaDb {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server and its set-up tool, if MariaDB is installed.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    Some((find("mariadbd")?, find("mariadb-install-db")?))
}

impl MariaDb {
    /// Makes a data folder and starts the server, waiting until it answers.
    pub async fn start(server: &Path, install: &Path) -> Result<Self, String> {
        let dir = scratch("mariadb")?;
        let data = dir.join("data");
        run(
            Command::new(install)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args([
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ]),
            "mariadb-install-db",
            &dir.join("install.log"),
        )?;
        let port = free_port();
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--sql-mode={SQL_MODE}"))
            .args([
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                // The test needs no durability, and fsyncs would make each DDL statement slow.
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--character-set-server=utf8",
                "--collation-server=utf8_general_ci",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("mariadbd did not start: {e}"))?;
        let db = Self { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut c) = mysql_async::Conn::new(db.opts(None)).await {
                let _ = mysql_async::prelude::Queryable::ping(&mut c).await;
                let _ = c.disconnect().await;
                return Ok(db);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "MariaDB did not answer within 60 s; see {}",
                    db.dir.join("server.log").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Connection options, in `database` if given. Affected rows are counted as MySQL counts them by default
    /// (changed rows, not found rows).
    pub fn opts(&self, database: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .db_name(database)
            .client_found_rows(false)
            .prefer_socket(false)
            .into()
    }
}
