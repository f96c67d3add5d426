//! Who may use the dashboard. On loopback anyone on the machine may, as anyone may call the emulator's AWS
//! endpoint. Listening on another address, the dashboard asks for the token printed at start-up: given once as
//! `?token=`, it is then kept in a cookie.
//!
//! Requests that change something (the SQL console's `POST`) must come from the dashboard's own pages, so that
//! another site open in the same browser cannot send them.

use crate::net::WireRequest;

/// The cookie that keeps the token.
pub const COOKIE: &str = "offcloud_dashboard";

/// Whether a request may see the dashboard.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Yes; `remember` when it gave the token in its query, to be kept in the cookie.
    Allowed {
        remember: bool,
    },
    Denied,
}

/// Whether an address is the machine's own, where the dashboard needs no token.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A new token: 32 hex digits from the system's random source.
pub fn new_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // The system's random source does not fail on Linux once booted; a failure leaves an unguessable-enough
    // fallback rather than no token.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        return uuid::Uuid::new_v4().simple().to_string();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so that timing does not tell how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `req` may see the dashboard, when `token` is what it asks for (`None`: no token needed).
pub fn check(token: Option<&str>, req: &WireRequest) -> Access {
    let Some(token) = token else {
        return Access::Allowed { remember: false };
    };
    let in_query = crate::apigw::events::query_pairs(req.query.as_deref(), true)
        .into_iter()
        .any(|(k, v)| k == "token" && same(&v, token));
    if in_query {
        return Access::Allowed { remember: true };
    }
    let in_cookie = req
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && same(v, token));
    if in_cookie {
        Access::Allowed { remember: false }
    } else {
        Access::Denied
    }
}

/// The `Set-Cookie` value that keeps `token`.
pub fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/_offcloud; HttpOnly; SameSite=Strict")
}

/// Whether a request that changes something comes from the dashboard's own pages: browsers name the page's
/// origin in `Origin` and say `Sec-Fetch-Site: same-origin`; a request with neither is not from a browser.
pub fn same_origin(req: &WireRequest) -> bool {
    if let Some(site) = req.header("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    match (req.header("origin"), req.header("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: Option<&str>, headers: &[(&'static str, &str)]) -> WireRequest {
        crate::dashboard::tests::req(http::Method::GET, "/_offcloud/", query, headers)
    }

    #[test]
    fn loopback_needs_no_token_and_other_hosts_need_the_token() {
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost"));
        assert!(!is_loopback("0.0.0.0") && !is_loopback("192.168.1.5"));
        assert_eq!(
            check(None, &req(None, &[])),
            Access::Allowed { remember: false }
        );
        let t = new_token();
        assert_eq!(t.len(), 32);
        assert_ne!(t, new_token());
        assert_eq!(check(Some(&t), &req(None, &[])), Access::Denied);
        assert_eq!(
            check(Some(&t), &req(Some("token=nope"), &[])),
            Access::Denied
        );
        assert_eq!(
            check(Some(&t), &req(Some(&format!("x=1&token={t}")), &[])),
            Access::Allowed { remember: true }
        );
        let kept = format!("a=b; {COOKIE}={t}");
        assert_eq!(
            check(Some(&t), &req(None, &[("cookie", &kept)])),
            Access::Allowed { remember: false }
        );
        let wrong = format!("{COOKIE}={}", "0".repeat(32));
        assert_eq!(
            check(Some(&t), &req(None, &[("cookie", &wrong)])),
            Access::Denied
        );
        assert!(cookie(&t).contains("HttpOnly"));
    }

    #[test]
    fn changes_must_come_from_the_dashboard_s_own_pages() {
        assert!(same_origin(&req(None, &[])));
        assert!(same_origin(&req(
            None,
            &[
                ("origin", "http://127.0.0.1:4566"),
                ("host", "127.0.0.1:4566"),
                ("sec-fetch-site", "same-origin")
            ]
        )));
        assert!(!same_origin(&req(
            None,
            &[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:4566")
            ]
        )));
        assert!(!same_origin(&req(
            None,
            &[("sec-fetch-site", "cross-site")]
        )));
    }
}
