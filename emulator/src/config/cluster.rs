//! `[[cluster]]` and `[[secret]]`: the Aurora clusters the Data API serves, on embedded SQLite (the default) or
//! on a MySQL, MariaDB or PostgreSQL server named by `url`, and the secrets that carry a server's credentials.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use toml::Spanned;

use super::{Config, ConfigError};

/// An Aurora cluster behind the RDS Data API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `arn:aws:rds:REGION:ACCOUNT:cluster:NAME`, the `resourceArn` callers send.
    pub arn: String,
    /// The `secretArn`s accepted; any is accepted when the list is empty.
    #[serde(default)]
    pub secret_arns: Vec<String>,
    /// The database used when a request names none; created at start-up on SQLite. On a server it is the URL's
    /// database when this is not given.
    pub database: Option<String>,
    /// MySQL scripts run at start-up, in order, relative to the workspace root. On a server they run only with
    /// `schema_on_start`, so that a shared database is never reset by accident.
    #[serde(default)]
    pub schema: Vec<PathBuf>,
    /// InnoDB's `innodb_lock_wait_timeout`: how many seconds a write waits for another transaction's lock before
    /// it fails with `Lock wait timeout exceeded; try restarting transaction`. MySQL's default is 50. A server
    /// keeps its own setting.
    #[serde(default = "default_lock_wait_timeout")]
    pub lock_wait_timeout: u64,
    /// The most transactions open at once; `BeginTransaction` past it fails as the Data API does when it has no
    /// connection left. AWS capped the Data API's connections per cluster at 500 (jeremydaly/data-api-client#37).
    /// On a server it also bounds the connection pool.
    #[serde(default = "default_max_transactions")]
    pub max_transactions: usize,
    /// A server that runs the statements as they are, instead of SQLite: `mysql://user:pass@127.0.0.1:3306/db`
    /// (MySQL or MariaDB) or `postgres://user:pass@127.0.0.1:5432/db` (Aurora PostgreSQL's flavour). Without a
    /// user in the URL the credentials are those of the first of `secret_arns` that a `[[secret]]` gives.
    pub url: Option<Spanned<String>>,
    /// Whether `schema` runs against the server at start-up.
    #[serde(default)]
    pub schema_on_start: bool,
}

fn default_lock_wait_timeout() -> u64 {
    50
}

fn default_max_transactions() -> usize {
    500
}

/// A Secrets Manager secret as Aurora's are shaped: the database user a cluster's server connects as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    pub arn: String,
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// Which server a cluster's `url` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    Mysql,
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
}

/// Where a server cluster connects, and as whom.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub kind: ServerKind,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The database connected to, and used when a request names none.
    pub database: Option<String>,
}

impl std::fmt::Debug for ServerUrl {
    /// The URL without its password, as logs and errors show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.kind {
            ServerKind::Mysql => "mysql",
            ServerKind::Postgres => "postgres",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{}@{host}:{}", self.user, self.port)?;
        if let Some(db) = &self.database {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

/// The parts of a server URL as written, before credentials are settled.
struct Parsed {
    kind: ServerKind,
    host: String,
    port: u16,
    user: Option<String>,
    password: String,
    database: Option<String>,
}

fn decode(s: &str, what: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {what} is not UTF-8 once percent-decoded"))
}

/// Reads `scheme://[user[:password]@]host[:port][/database]`.
fn parse_url(url: &str) -> Result<Parsed, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("expected mysql://user:pass@host:port/database or postgres://...")?;
    let (kind, default_port) = match scheme {
        "mysql" | "mariadb" => (ServerKind::Mysql, 3306),
        "postgres" | "postgresql" => (ServerKind::Postgres, 5432),
        other => {
            return Err(format!(
                "the scheme {other:?} is not one of mysql, mariadb, postgres or postgresql"
            ));
        }
    };
    if rest.contains('?') || rest.contains('#') {
        // Connection options are Offcloud's to set (timeouts, pool size); taking some silently would mislead.
        return Err("connection options (?...) are not supported; give only user, password, host, port and database".into());
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, String::new()),
        Some(u) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            (Some(decode(user, "user")?), decode(password, "password")?)
        }
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("an IPv6 host lacks its ']'")?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("the port {p:?} is not a number from 1 to 65535"))?,
    };
    let database = Some(decode(path.trim_end_matches('/'), "database")?).filter(|d| !d.is_empty());
    if database.as_deref().is_some_and(|d| d.contains('/')) {
        return Err("the database name contains '/'".into());
    }
    Ok(Parsed {
        kind,
        host,
        port,
        user: user.filter(|u| !u.is_empty()),
        password,
        database,
    })
}

impl ClusterConfig {
    /// The server this cluster runs on, with its credentials: the URL's user and password, or else those of the
    /// first of the cluster's secrets that `secrets` carries. `None` for a SQLite cluster.
    pub fn server(&self, secrets: &[SecretConfig]) -> Result<Option<ServerUrl>, String> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let parsed = parse_url(url.get_ref()).map_err(|e| format!("url: {e}"))?;
        let (user, password) = match parsed.user {
            Some(user) => (user, parsed.password),
            None => {
                let secret = self
                    .secret_arns
                    .iter()
                    .find_map(|arn| secrets.iter().find(|s| &s.arn == arn))
                    .ok_or(
                        "no credentials: give a user in the url (mysql://user:pass@host/db), or name in secret_arns \
                         a [[secret]] with username and password",
                    )?;
                (secret.username.clone(), secret.password.clone())
            }
        };
        let database = match (&self.database, parsed.database) {
            (Some(a), Some(b)) if *a != b => {
                return Err(format!(
                    "database {a:?} differs from the url's database {b:?}; give one"
                ));
            }
            (Some(a), _) => Some(a.clone()),
            (None, b) => b,
        };
        Ok(Some(ServerUrl {
            kind: parsed.kind,
            host: parsed.host,
            port: parsed.port,
            user,
            password,
            database,
        }))
    }
}

impl Config {
    /// Checks each cluster's server and credentials, so that a wrong URL or a missing credential fails at start-up
    /// naming the cluster.
    pub(super) fn validate_clusters(&self) -> Result<(), ConfigError> {
        let src = &self.source;
        let at = |c: &ClusterConfig| {
            c.url.as_ref().map(|u| u.span()).unwrap_or_else(|| {
                let i = src.text.find(&c.arn).unwrap_or(0);
                i..i
            })
        };
        for c in &self.clusters {
            if c.url.is_none() && c.schema_on_start {
                return Err(src.error(
                    at(c),
                    format!(
                        "cluster {}: schema_on_start applies to a cluster with a url; SQLite clusters always run their schema",
                        c.arn
                    ),
                ));
            }
            if let Err(problem) = c.server(&self.secrets) {
                return Err(src.error(at(c), format!("cluster {}: {problem}", c.arn)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse("test.toml", text, std::path::Path::new("/nonexistent"))
    }

    #[test]
    fn urls_give_host_port_credentials_and_database() {
        let p = parse_url("mysql://app:p%40ss@127.0.0.1:3307/inventory").unwrap();
        assert_eq!(p.kind, ServerKind::Mysql);
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 3307));
        assert_eq!(
            (p.user.as_deref(), p.password.as_str()),
            (Some("app"), "p@ss")
        );
        assert_eq!(p.database.as_deref(), Some("inventory"));
        let p = parse_url("postgresql://[::1]/").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ServerKind::Postgres, "::1", 5432)
        );
        assert_eq!((p.user, p.database), (None, None));
        for bad in [
            "127.0.0.1:3306",
            "oracle://h/db",
            "mysql://h:99999/db",
            "mysql://:3306/db",
            "mysql://u@h/db?ssl=true",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_server_cluster_takes_credentials_from_its_url_or_its_secret() {
        let c = parse(
            r#"
[[secret]]
arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"
username = "app"
password = "pw"

[[cluster]]
arn = "arn:aws:rds:us-east-1:123456789012:cluster:a"
secret_arns = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:db"]
url = "mysql://127.0.0.1:3306/inventory"
schema_on_start = true
"#,
        )
        .unwrap();
        let server = c.clusters[0].server(&c.secrets).unwrap().unwrap();
        assert_eq!(
            (server.user.as_str(), server.password.as_str()),
            ("app", "pw")
        );
        assert_eq!(server.database.as_deref(), Some("inventory"));
        assert_eq!(
            format!("{server:?}"),
            "mysql://app@127.0.0.1:3306/inventory",
            "no password in logs"
        );
    }

    #[test]
    fn server_mistakes_fail_at_start_naming_the_cluster_and_line() {
        let e = parse(
            "[[cluster]]\narn = \"arn:aws:rds:us-east-1:1:cluster:a\"\nurl = \"mysql://127.0.0.1/db\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .starts_with("cluster arn:aws:rds:us-east-1:1:cluster:a: no credentials"),
            "{}",
            e.message
        );
        let e = parse("[[cluster]]\narn = \"c\"\nurl = \"oracle://x/db\"\n").unwrap_err();
        assert!(
            e.message.contains("url: the scheme \"oracle\""),
            "{}",
            e.message
        );
        let e = parse("[[cluster]]\narn = \"c\"\nschema_on_start = true\n").unwrap_err();
        assert!(e.message.contains("schema_on_start"), "{}", e.message);
        let e = parse("[[cluster]]\narn = \"c\"\ndatabase = \"a\"\nurl = \"mysql://u@h/b\"\n")
            .unwrap_err();
        assert!(e.message.contains("differs"), "{}", e.message);
    }
}
