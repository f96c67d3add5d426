//! Route tables and API Gateway's matching precedence: a literal segment beats a `{param}`, which beats a greedy
//! `{proxy+}`; an exact method beats `ANY`.
//!
//! Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
//! ("Routing API requests": the most specific match wins).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
    /// An HTTP API's `$default` route: every path, `/` included, when nothing more specific matches.
    /// Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
    Default,
}

/// A route's path template, such as `/ec2/{aws_instance_id}` or `/{proxy+}`.
#[derive(Debug, Clone)]
pub struct Template {
    pub text: String,
    segments: Vec<Segment>,
}

impl Template {
    pub fn parse(text: &str) -> Self {
        if text == "$default" {
            return Self {
                text: text.to_string(),
                segments: vec![Segment::Default],
            };
        }
        let segments = split(text)
            .map(|s| {
                if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                    Segment::Greedy(name.to_string())
                } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Segment::Param(name.to_string())
                } else {
                    Segment::Literal(s.to_string())
                }
            })
            .collect();
        Self {
            text: text.to_string(),
            segments,
        }
    }

    /// The path parameters, if `path` matches, still percent-encoded as REST APIs hand them over. A greedy
    /// parameter keeps the path's inner `//` and loses a trailing `/`, as API Gateway records show
    /// (shared notes apigw-authorizers-validation-vtl.md §11.1).
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let parts: Vec<(usize, &str)> = segments(path).collect();
        let mut params = BTreeMap::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Default => return Some(params),
                Segment::Greedy(name) => {
                    let (start, _) = *parts.get(i)?;
                    params.insert(
                        name.clone(),
                        path[start..].trim_end_matches('/').to_string(),
                    );
                    return Some(params);
                }
                Segment::Literal(l) => {
                    if parts.get(i).map(|p| p.1) != Some(l.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let (_, p) = parts.get(i)?;
                    params.insert(name.clone(), p.to_string());
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Orders templates from most to least specific.
    fn rank(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Param(_) => 1,
                Segment::Greedy(_) => 2,
                Segment::Default => 3,
            })
            .collect()
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    segments(path).map(|(_, s)| s)
}

/// The non-empty segments of a path, each with its byte offset.
fn segments(path: &str) -> impl Iterator<Item = (usize, &str)> {
    path.split('/')
        .scan(0, |offset, s| {
            let start = *offset;
            *offset += s.len() + 1;
            Some((start, s))
        })
        .filter(|(_, s)| !s.is_empty())
}

/// Percent-decodes a path parameter, as HTTP APIs hand them over.
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// How specific a match is; smaller is more specific.
pub type Specificity = (Vec<u8>, u8);

/// A matching route.
#[derive(Debug)]
pub struct Found<'a, R> {
    pub route: &'a R,
    pub template: &'a Template,
    pub params: BTreeMap<String, String>,
    pub rank: Specificity,
}

/// The result of looking a request up in a route table.
#[derive(Debug)]
pub enum Lookup<'a, R> {
    Found(Found<'a, R>),
    /// Some route has the path, none the method.
    MethodNotAllowed,
    NotFound,
}

/// A table of routes, each a method (or `ANY`), a template and a value.
#[derive(Debug)]
pub struct Table<R> {
    routes: Vec<(String, Template, R)>,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

impl<R> Table<R> {
    pub fn add(&mut self, method: &str, template: &str, value: R) {
        self.routes.push((
            method.to_ascii_uppercase(),
            Template::parse(template),
            value,
        ));
    }

    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_, R> {
        let mut best: Option<Found<'_, R>> = None;
        let mut path_matched = false;
        for (m, t, r) in &self.routes {
            let Some(params) = t.matches(path) else {
                continue;
            };
            path_matched = true;
            let method_rank = if m == method {
                0
            } else if m == "ANY" {
                1
            } else {
                continue;
            };
            let rank = (t.rank(), method_rank);
            if best.as_ref().is_none_or(|b| rank < b.rank) {
                best = Some(Found {
                    route: r,
                    template: t,
                    params,
                    rank,
                });
            }
        }
        match best {
            Some(f) => Lookup::Found(f),
            None if path_matched => Lookup::MethodNotAllowed,
            None => Lookup::NotFound,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Template, &R)> {
        self.routes.iter().map(|(m, t, r)| (m.as_str(), t, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'a>(
        t: &'a Table<&'static str>,
        m: &str,
        p: &str,
    ) -> Option<(&'a str, BTreeMap<String, String>)> {
        match t.lookup(m, p) {
            Lookup::Found(f) => Some((*f.route, f.params)),
            _ => None,
        }
    }

    #[test]
    fn literal_beats_param_beats_greedy() {
        let mut t = Table::default();
        t.add("ANY", "/{proxy+}", "greedy");
        t.add("GET", "/items/{id}", "param");
        t.add("GET", "/items/special", "literal");
        assert_eq!(found(&t, "GET", "/items/special").unwrap().0, "literal");
        let (r, p) = found(&t, "GET", "/items/42").unwrap();
        assert_eq!((r, p["id"].as_str()), ("param", "42"));
        let (r, p) = found(&t, "GET", "/a/b/c").unwrap();
        assert_eq!((r, p["proxy"].as_str()), ("greedy", "a/b/c"));
        assert_eq!(found(&t, "POST", "/items/42").unwrap().0, "greedy");
    }

    #[test]
    fn default_route_catches_the_root_and_loses_to_greedy() {
        let mut t = Table::default();
        t.add("ANY", "$default", "default");
        assert_eq!(found(&t, "GET", "/").unwrap().0, "default");
        assert_eq!(found(&t, "DELETE", "/a/b").unwrap().0, "default");
        t.add("ANY", "/{proxy+}", "greedy");
        assert_eq!(found(&t, "GET", "/a/b").unwrap().0, "greedy");
        assert_eq!(found(&t, "GET", "/").unwrap().0, "default");
    }

    #[test]
    fn exact_method_beats_any() {
        let mut t = Table::default();
        t.add("ANY", "/x", "any");
        t.add("POST", "/x", "post");
        assert_eq!(found(&t, "POST", "/x").unwrap().0, "post");
        assert_eq!(found(&t, "GET", "/x").unwrap().0, "any");
    }

    #[test]
    fn wrong_method_and_unknown_path_differ() {
        let mut t = Table::default();
        t.add("GET", "/x", "x");
        assert!(matches!(t.lookup("POST", "/x"), Lookup::MethodNotAllowed));
        assert!(matches!(t.lookup("GET", "/y"), Lookup::NotFound));
        assert!(matches!(t.lookup("GET", "/x/extra"), Lookup::NotFound));
    }

    #[test]
    fn params_stay_encoded_and_are_never_empty() {
        let mut t = Table::default();
        t.add("GET", "/ec2/{id}", "x");
        assert_eq!(found(&t, "GET", "/ec2/a%20b").unwrap().1["id"], "a%20b");
        assert_eq!(decode("a%20b"), "a b");
        assert!(found(&t, "GET", "/ec2/").is_none());
    }

    #[test]
    fn greedy_params_keep_inner_double_slashes_and_drop_a_trailing_one() {
        let mut t = Table::default();
        t.add("ANY", "/files/{proxy+}", "x");
        assert_eq!(found(&t, "GET", "/files/a//b").unwrap().1["proxy"], "a//b");
        assert_eq!(found(&t, "GET", "/files/a/b/").unwrap().1["proxy"], "a/b");
        assert_eq!(
            found(&t, "GET", "//files/x%2By").unwrap().1["proxy"],
            "x%2By"
        );
    }
}
