//! The dashboard in a real browser: headless Chromium, driven over WebDriver by `chromedriver`, which the test
//! starts on a free loopback port and stops. `just chromium` installs both (Debian's `chromium` and
//! `chromium-driver`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{Builder, Harness, api_call, json_of, workspace};

/// How long any one thing may take to appear before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A `chromedriver` process and its browser's profile folder, both gone when dropped.
struct Driver {
    child: Child,
    profile: PathBuf,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver leads its own process group, which the browser it started is in: a test that failed before
        // it closed its session leaves no browser behind.
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn start_driver() -> Driver {
    let port = free_port();
    let profile =
        std::env::temp_dir().join(format!("offcloud-chromium-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&profile).unwrap();
    use std::os::unix::process::CommandExt;
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .current_dir(&profile)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start chromedriver ({e}): run `just chromium` (Debian's chromium and chromium-driver)")
        });
    Driver {
        child,
        profile,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A headless Chromium session, once the driver answers.
async fn browser(driver: &Driver) -> Client {
    // Both of rustls's crypto providers are in the test build; the WebDriver client takes the process's default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut chrome = json!({
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
            format!("--user-data-dir={}", driver.profile.join("profile").display()),
        ]
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let attempt = ClientBuilder::rustls()
            .expect("the WebDriver client")
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await;
        match attempt {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver at {} gave no session: {e}", driver.url),
        }
    }
}

/// Polls `check` until it gives a value, for at most [`PATIENCE`].
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the first element `css` finds, once there is one.
async fn text_of(c: &Client, css: &str) -> String {
    until(css, || async {
        c.find(Locator::Css(css)).await.ok()?.text().await.ok()
    })
    .await
}

/// The page's text once it contains `needle`.
async fn page_with(c: &Client, needle: &str) -> String {
    until(needle, || async {
        let body = c.find(Locator::Css("body")).await.ok()?.text().await.ok()?;
        body.contains(needle).then_some(body)
    })
    .await
}

async fn send_traffic(h: &Harness) {
    let body = json!({"service": "dash-service", "code": "DASH"}).to_string();
    let resp = api_call(h, "POST", "/Prod/ports", &[], body.as_bytes()).await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
    assert!(json_of(&resp).is_number());
    let resp = api_call(h, "GET", "/Prod/time", &[], b"").await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_requests_traces_tables_and_runs_sql_in_a_browser() {
    let h = Builder::seeds().start().await;
    send_traffic(&h).await;
    let driver = start_driver();
    let c = browser(&driver).await;

    // The request list shows the calls, and keeps up with new ones.
    c.goto(&h.url("/_offcloud/")).await.unwrap();
    page_with(&c, "POST /Prod/ports").await;
    page_with(&c, "GET /Prod/time").await;
    let functions = text_of(&c, "#functions").await;
    assert!(functions.contains("port-master"), "{functions}");
    let before = c.find_all(Locator::Css("tr.request")).await.unwrap().len();
    let resp = api_call(&h, "GET", "/Prod/time", &[], b"").await;
    assert_eq!(resp.0, 200);
    until("the list to refresh with the new request", || async {
        let rows = c.find_all(Locator::Css("tr.request")).await.ok()?;
        (rows.len() > before).then_some(())
    })
    .await;

    // The trace of POST /Prod/ports: API Gateway, then port-master under it, then its DynamoDB transaction.
    let link = c
        .find(Locator::XPath(
            "//tr[contains(@class, 'request')]//a[contains(., 'POST /Prod/ports')]",
        ))
        .await
        .unwrap();
    link.click().await.unwrap();
    until("the waterfall", || async {
        c.find(Locator::Css("#waterfall")).await.ok()
    })
    .await;
    let mut spans = vec![];
    for li in c
        .find_all(Locator::Css("#waterfall li.span"))
        .await
        .unwrap()
    {
        spans.push((
            li.attr("data-service").await.unwrap().unwrap_or_default(),
            li.attr("data-name").await.unwrap().unwrap_or_default(),
            li.attr("data-depth").await.unwrap().unwrap_or_default(),
        ));
    }
    let at = |service: &str, name: &str| {
        spans
            .iter()
            .position(|s| s.0 == service && s.1 == name)
            .unwrap_or_else(|| panic!("no {service} {name} in {spans:?}"))
    };
    let (gateway, function, write) = (
        at("apigateway", "POST /Prod/ports"),
        at("lambda", "port-master"),
        at("dynamodb", "TransactWriteItems"),
    );
    assert!(gateway < function && function < write, "{spans:?}");
    assert_eq!(
        [&spans[gateway].2, &spans[function].2, &spans[write].2],
        ["0", "1", "2"],
        "{spans:?}"
    );
    let request_body = text_of(&c, "pre.request-body").await;
    assert!(request_body.contains("dash-service"), "{request_body}");
    std::fs::create_dir_all(workspace().join("target")).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(workspace().join("target/dashboard.png"), png).unwrap();

    // The port-master table, a page of its items, and one item.
    c.goto(&h.url("/_offcloud/dynamodb")).await.unwrap();
    let tables = text_of(&c, "#tables").await;
    assert!(tables.contains("id (S, HASH)"), "{tables}");
    c.find(Locator::Css("tr[data-table='port-master'] a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let items = page_with(&c, "service#dash-service").await;
    assert!(items.contains("port#"), "{items}");
    c.find(Locator::XPath(
        "//table[@id='items']//a[contains(., 'service#dash-service')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let item = text_of(&c, "#item").await;
    assert!(item.contains("\"service#dash-service\""), "{item}");

    // The SQL console, through the Data API: a write, then a read of it.
    for (sql, expect) in [
        (
            "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('i-dash', 'us-east-1', '123456789012')",
            "1 row changed",
        ),
        (
            "SELECT aws_instance_id, aws_region FROM ec2 WHERE aws_instance_id = 'i-dash'",
            "i-dash",
        ),
    ] {
        c.goto(&h.url("/_offcloud/rds")).await.unwrap();
        let catalog = page_with(&c, "ec2_inventory_db").await;
        assert!(catalog.contains("package"), "{catalog}");
        let form = c.form(Locator::Css("#console")).await.unwrap();
        form.set_by_name("sql", sql).await.unwrap();
        form.submit().await.unwrap();
        let result = until("the statement's result", || async {
            if let Ok(e) = c.find(Locator::Css("#sql-error")).await {
                panic!("{sql}: {}", e.text().await.unwrap_or_default());
            }
            c.find(Locator::Css("#sql-result"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        })
        .await;
        assert!(result.contains(expect), "{sql}: {result}");
    }
    let result = text_of(&c, "#sql-result").await;
    assert!(
        result.contains("aws_region") && result.contains("us-east-1"),
        "{result}"
    );

    c.close().await.unwrap();
}

/// The first group of every match of `pattern` in `html`, in order.
fn hrefs(html: &str, pattern: &str) -> Vec<String> {
    regex::Regex::new(pattern)
        .unwrap()
        .captures_iter(html)
        .map(|c| c[1].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_browser_pages_through_a_whole_table() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let h = Builder::seeds().start().await;
    let db = h.dynamodb().await;
    for i in 0..60 {
        db.put_item()
            .table_name("lambda-apigateway")
            .item("id", AttributeValue::S(format!("item-{i:02}")))
            .item("note", AttributeValue::S(format!("<i>{i}</i>")))
            .send()
            .await
            .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut page = "/_offcloud/dynamodb/lambda-apigateway".to_string();
    for _ in 0..10 {
        let resp = crate::support::main_call(&h, "GET", &page, &[], b"").await;
        let html = String::from_utf8_lossy(&resp.2).into_owned();
        assert_eq!(resp.0, 200, "{html}");
        assert!(!html.contains("<i>"), "{html}");
        let ids = hrefs(&html, r#"/item\?key=[^"]+">(item-\d+)</a>"#);
        assert!(ids.len() <= 25, "{ids:?}");
        seen.extend(ids);
        match hrefs(&html, r#"id="next-page" href="([^"]+)""#).pop() {
            Some(next) => page = next.replace("&amp;", "&"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60, "{seen:?}");

    let one = crate::support::main_call(
        &h,
        "GET",
        "/_offcloud/dynamodb/lambda-apigateway/item?key=%7B%22id%22%3A%7B%22S%22%3A%22item-07%22%7D%7D",
        &[],
        b"",
    )
    .await;
    let html = String::from_utf8_lossy(&one.2);
    assert_eq!(one.0, 200, "{html}");
    assert!(html.contains("&lt;i&gt;7&lt;&#x2f;i&gt;"), "{html}");
}
