//! The dashboard's pages: minijinja templates embedded in the binary, with HTML autoescaping (every `.html`
//! template escapes what it prints unless a value is marked safe, and none is).

use minijinja::value::Serde;
use minijinja::{Environment, Error};
use serde::Serialize;

/// Every template, by name, as compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("index.html", include_str!("templates/index.html")),
    ("requests.html", include_str!("templates/requests.html")),
    ("trace.html", include_str!("templates/trace.html")),
    ("tables.html", include_str!("templates/tables.html")),
    ("items.html", include_str!("templates/items.html")),
    ("item.html", include_str!("templates/item.html")),
    ("sql.html", include_str!("templates/sql.html")),
    ("scenarios.html", include_str!("templates/scenarios.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// The templates, compiled once.
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Result<Self, Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.add_filter("clock", clock);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders template `name` with `ctx`.
    pub fn render<T: Serialize>(&self, name: &str, ctx: &T) -> Result<String, Error> {
        self.env.get_template(name)?.render(Serde(ctx))
    }
}

/// Milliseconds since the epoch as a time of day, `HH:MM:SS.mmm` (UTC).
fn clock(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .format("%H:%M:%S%.3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_compiles_and_user_text_is_escaped() {
        let pages = Pages::new().unwrap();
        let html = pages
            .render(
                "message.html",
                &json!({"title": "<b>t</b>", "message": "<script>alert('x')</script> & \"q\""}),
            )
            .unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains(
                "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; &quot;q&quot;"
            ),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;t&lt;&#x2f;b&gt;"), "{html}");
    }

    #[test]
    fn a_failed_build_shows_with_the_compiler_s_output() {
        let pages = Pages::new().unwrap();
        let html = pages
            .render(
                "index.html",
                &json!({
                    "functions": [{"name": "f", "runtime": "provided.al2023 (Rust)", "code": "package f",
                                   "idle": 1, "busy": 0, "invocations": 3, "errors": 1,
                                   "build": {"ok": false, "finished_ms": 0, "output": "expected `u8`, found `&str`<"}}],
                    "rows": [],
                }),
            )
            .unwrap();
        assert!(html.contains("failed at 00:00:00.000"), "{html}");
        assert!(
            html.contains("expected `u8`, found `&amp;str`&lt;"),
            "{html}"
        );
        assert!(html.contains("No requests yet."), "{html}");
    }

    #[test]
    fn times_print_as_a_clock() {
        assert_eq!(clock(1_700_000_000_123), "22:13:20.123");
    }
}
