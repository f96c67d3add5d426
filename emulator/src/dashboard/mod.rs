//! The web dashboard at `/_offcloud/` on the main port: functions, recent requests and their traces, DynamoDB's
//! tables and items, the Data API's clusters with a SQL console, and the last scenario results.
//!
//! Pages are rendered on the server from templates embedded in the binary; a little plain JavaScript refreshes the
//! request list. Every read and write goes through the services' own operations, as a client's call would.
//!
//! - [`auth`] decides who may see it: anyone on loopback, the start-up token elsewhere.
//! - [`render`] holds the templates.
//! - [`requests`] is the function list, the live request list and a trace's waterfall.
//! - [`dynamo`] browses DynamoDB's tables and items; [`sql`] is the Data API's catalog and console.
//! - [`scenarios`] shows what the last `offcloud scenario run` wrote.

pub mod auth;
mod dynamo;
pub mod render;
mod requests;
pub mod scenarios;
mod sql;

use std::path::PathBuf;
use std::sync::Arc;

use http::Method;
use serde::Serialize;
use serde_json::json;

use crate::dynamodb::DynamoDb;
use crate::lambda::Lambda;
use crate::net::{WireRequest, WireResponse};
use crate::rdsdata::DataApi;
use auth::Access;
use render::Pages;

/// Where the dashboard is served.
pub const PREFIX: &str = "/_offcloud";

const SCRIPT: &str = include_str!("static/dashboard.js");
const STYLE: &str = include_str!("static/dashboard.css");

/// Scripts only from the dashboard's own file; the waterfall's bars are placed with `style` attributes.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   frame-ancestors 'none'; form-action 'self'";

/// Whether a path is the dashboard's. The main port routes its other `/_offcloud/` endpoints first.
pub fn is_dashboard(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_offcloud/")
}

/// The dashboard, and the services it looks at.
pub struct Dashboard {
    lambda: Arc<Lambda>,
    dynamodb: Arc<DynamoDb>,
    rdsdata: Arc<DataApi>,
    /// What a request must give when the emulator listens beyond loopback.
    token: Option<String>,
    /// The file `offcloud scenario run` writes its results to.
    scenario_results: PathBuf,
    /// Compiled at the first page asked for rather than at start-up, where compiling every template took about
    /// 0.5 ms after the databases had opened, on the way to the ready line.
    pages: std::sync::OnceLock<Pages>,
}

impl Dashboard {
    pub fn new(
        lambda: Arc<Lambda>,
        dynamodb: Arc<DynamoDb>,
        rdsdata: Arc<DataApi>,
        token: Option<String>,
        scenario_results: PathBuf,
    ) -> Self {
        Self {
            lambda,
            dynamodb,
            rdsdata,
            token,
            scenario_results,
            pages: std::sync::OnceLock::new(),
        }
    }

    /// Whether `req` carries the token, when one is needed.
    pub fn allows(&self, req: &WireRequest) -> bool {
        matches!(
            auth::check(self.token.as_deref(), req),
            Access::Allowed { .. }
        )
    }

    pub async fn handle(&self, req: &WireRequest) -> WireResponse {
        let remember = match auth::check(self.token.as_deref(), req) {
            Access::Allowed { remember } => remember,
            Access::Denied => {
                return self.message(
                    401,
                    "Token needed",
                    "This dashboard listens beyond loopback: open the URL with ?token= that offcloud serve printed at start-up.",
                );
            }
        };
        let mut resp = self.route(req).await;
        if remember && let Some(t) = &self.token {
            resp = resp.header("set-cookie", auth::cookie(t));
        }
        resp.header("content-security-policy", CSP)
            .header("x-content-type-options", "nosniff")
            .header("cache-control", "no-store")
    }

    async fn route(&self, req: &WireRequest) -> WireResponse {
        let rest = req.path.strip_prefix(PREFIX).unwrap_or("");
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let get = req.method == Method::GET || req.method == Method::HEAD;
        match (get, segments.as_slice()) {
            (true, []) if rest.is_empty() => {
                WireResponse::new(308).header("location", format!("{PREFIX}/"))
            }
            (true, []) => requests::index(self),
            (true, ["requests"]) => requests::rows(self),
            (true, ["traces", id]) => requests::trace(self, id),
            (true, ["dynamodb"]) => dynamo::tables(self).await,
            (true, ["dynamodb", table]) => dynamo::items(self, table, req).await,
            (true, ["dynamodb", table, "item"]) => dynamo::item(self, table, req).await,
            (true, ["rds"]) => sql::console(self, None).await,
            (false, ["rds"]) if req.method == Method::POST => {
                if !auth::same_origin(req) {
                    return self.message(
                        403,
                        "Forbidden",
                        "The SQL console runs statements only from the dashboard's own page.",
                    );
                }
                sql::console(self, Some(req)).await
            }
            (true, ["scenarios"]) => scenarios::page(self).await,
            (true, ["static", "dashboard.js"]) => WireResponse::new(200)
                .header("content-type", "text/javascript; charset=utf-8")
                .body(SCRIPT),
            (true, ["static", "dashboard.css"]) => WireResponse::new(200)
                .header("content-type", "text/css; charset=utf-8")
                .body(STYLE),
            (false, _) => self.message(
                405,
                "Method not allowed",
                &format!("{} {} is not served here.", req.method, req.path),
            ),
            _ => self.message(
                404,
                "Not found",
                &format!("The dashboard has no page at {}.", req.path),
            ),
        }
    }

    /// A page rendered from template `name`, or a 500 saying why it could not be.
    fn page<T: Serialize>(&self, status: u16, name: &str, ctx: &T) -> WireResponse {
        // The templates are compiled into the binary, and a unit test compiles every one.
        let pages = self
            .pages
            .get_or_init(|| Pages::new().expect("the dashboard's templates compile"));
        match pages.render(name, ctx) {
            Ok(html) => WireResponse::new(status)
                .header("content-type", "text/html; charset=utf-8")
                .body(html),
            Err(e) => {
                tracing::error!("dashboard page {name}: {e:#}");
                WireResponse::new(500)
                    .header("content-type", "text/plain; charset=utf-8")
                    .body(format!("The page {name} could not be rendered: {e}"))
            }
        }
    }

    fn message(&self, status: u16, title: &str, message: &str) -> WireResponse {
        self.page(
            status,
            "message.html",
            &json!({"title": title, "message": message}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Env;
    use crate::config::Config;

    fn dashboard(token: Option<&str>) -> Dashboard {
        let dir = std::env::temp_dir();
        let config = Config::parse("t.toml", "", &dir).unwrap();
        let env = Env::default();
        let faults = Arc::new(crate::faults::Faults::new(config.fault_seed));
        let lambda = Lambda::new(&config, env.clone(), Default::default(), faults).unwrap();
        Dashboard::new(
            lambda,
            Arc::new(DynamoDb::open(&config, None).unwrap()),
            Arc::new(DataApi::open(&config, None, env).unwrap()),
            token.map(str::to_string),
            dir.join("offcloud-no-such-results.json"),
        )
    }

    pub(crate) fn req(
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: &[(&'static str, &str)],
    ) -> WireRequest {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, v.parse().unwrap());
        }
        WireRequest {
            method,
            path: path.into(),
            query: query.map(str::to_string),
            headers: map,
            body: bytes::Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            too_large: false,
            header_names: vec![],
        }
    }

    fn text(resp: &WireResponse) -> String {
        String::from_utf8_lossy(&resp.body).into_owned()
    }

    #[tokio::test]
    async fn pages_are_served_escaped_and_guarded_by_the_token() {
        let open = dashboard(None);
        let home = open
            .handle(&req(Method::GET, "/_offcloud/", None, &[]))
            .await;
        assert_eq!(home.status.as_u16(), 200);
        assert!(text(&home).contains("No requests yet."));
        assert!(
            home.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        let bare = open
            .handle(&req(Method::GET, "/_offcloud", None, &[]))
            .await;
        assert_eq!(
            (bare.status.as_u16(), &bare.headers["location"]),
            (308, &"/_offcloud/".parse::<http::HeaderValue>().unwrap())
        );
        let missing = open
            .handle(&req(Method::GET, "/_offcloud/%3Cscript%3E", None, &[]))
            .await;
        assert_eq!(missing.status.as_u16(), 404);
        assert!(text(&missing).contains("%3Cscript%3E") && !text(&missing).contains("<script>"));
        let trace = open
            .handle(&req(
                Method::GET,
                "/_offcloud/traces/%3Ci%3Ex%27",
                None,
                &[],
            ))
            .await;
        assert_eq!(trace.status.as_u16(), 404);
        assert!(
            text(&trace).contains("No trace &lt;i&gt;x&#x27;"),
            "{}",
            text(&trace)
        );
        let script = open
            .handle(&req(
                Method::GET,
                "/_offcloud/static/dashboard.js",
                None,
                &[],
            ))
            .await;
        assert_eq!(script.status.as_u16(), 200);
        let scenarios = open
            .handle(&req(Method::GET, "/_offcloud/scenarios", None, &[]))
            .await;
        assert!(
            text(&scenarios).contains("No results yet"),
            "{}",
            text(&scenarios)
        );
        let cross = open
            .handle(&req(
                Method::POST,
                "/_offcloud/rds",
                None,
                &[
                    ("origin", "http://evil.example"),
                    ("host", "127.0.0.1:4566"),
                ],
            ))
            .await;
        assert_eq!(cross.status.as_u16(), 403);

        let guarded = dashboard(Some("s3cret"));
        let denied = guarded
            .handle(&req(Method::GET, "/_offcloud/", None, &[]))
            .await;
        assert_eq!(denied.status.as_u16(), 401);
        let given = guarded
            .handle(&req(Method::GET, "/_offcloud/", Some("token=s3cret"), &[]))
            .await;
        assert_eq!(given.status.as_u16(), 200);
        let cookie = given.headers["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("offcloud_dashboard=s3cret;"), "{cookie}");
        let kept = guarded
            .handle(&req(
                Method::GET,
                "/_offcloud/dynamodb",
                None,
                &[("cookie", "offcloud_dashboard=s3cret")],
            ))
            .await;
        assert_eq!(kept.status.as_u16(), 200);
        assert!(text(&kept).contains("No tables."));
    }
}
