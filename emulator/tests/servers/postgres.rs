//! A PostgreSQL server owned by the test: `initdb` in a temporary folder, `postgres` on a free loopback port with
//! trust authentication, stopped (fast shutdown) and removed when dropped. PostgreSQL refuses to run as root, so
//! under root it runs as the `postgres` user Debian's package makes (or `nobody`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{find, free_port, run, scratch};

pub struct Postgres {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A fast shutdown ends the server's backends too; a kill would leave them to notice on their own.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `initdb` and `postgres`, on the PATH or in Debian's `/usr/lib/postgresql/VERSION/bin`.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    let debian = || {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("postgres").is_file() && bin.join("initdb").is_file())
            .collect();
        versions.sort();
        let bin = versions.pop()?;
        Some((bin.join("initdb"), bin.join("postgres")))
    };
    match (find("initdb"), find("postgres")) {
        (Some(i), Some(p)) => Some((i, p)),
        _ => debian(),
    }
}

/// The user and group the server runs as when the test runs as root.
fn unprivileged() -> Option<(u32, u32)> {
    // /proc/self belongs to the process's user.
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").map_or(true, |m| m.uid() != 0) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let user = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name))
                .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
        })
    };
    user("postgres").or_else(|| user("nobody"))
}

impl Postgres {
    /// Makes a cluster and starts the server, waiting until it answers.
    pub async fn start(initdb: &std::path::Path, server: &std::path::Path) -> Result<Self, String> {
        let dir = scratch("postgres")?;
        let data = dir.join("data");
        let owner = unprivileged();
        let as_owner = |cmd: &mut Command| {
            if let Some((uid, gid)) = owner {
                use std::os::unix::process::CommandExt;
                cmd.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let mut init = Command::new(initdb);
        init.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        as_owner(&mut init);
        run(&mut init, "initdb", &dir.join("initdb.log"))?;
        let port = free_port();
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(server);
        cmd.arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "shared_buffers=16MB",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        as_owner(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("postgres did not start: {e}"))?;
        let pg = Self { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((client, conn)) = pg.config(None).connect(tokio_postgres::NoTls).await {
                drop(conn);
                drop(client);
                return Ok(pg);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "PostgreSQL did not answer within 60 s; see {}",
                    pg.dir.join("server.log").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Connection settings as the `postgres` superuser, in `database` if given.
    pub fn config(&self, database: Option<&str>) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host("127.0.0.1").port(self.port).user("postgres");
        if let Some(db) = database {
            c.dbname(db);
        }
        c
    }

    /// The URL a cluster names this server by.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}
