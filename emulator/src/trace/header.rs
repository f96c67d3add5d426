//! AWS's trace header, `X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
//! Source: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader

/// A trace header's root, and the span that the request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// `1-<8 hex epoch seconds>-<24 hex>`.
    pub root: String,
    pub parent: Option<String>,
}

impl TraceHeader {
    /// The header's root and parent, if it has a root. Other fields (`Sampled`, `Lineage`, ...) are ignored.
    pub fn parse(header: &str) -> Option<Self> {
        let mut root = None;
        let mut parent = None;
        for field in header.split(';') {
            match field.trim().split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("Root") && !v.is_empty() => {
                    root = Some(v.to_string());
                }
                Some((k, v)) if k.eq_ignore_ascii_case("Parent") && !v.is_empty() => {
                    parent = Some(v.to_string());
                }
                _ => {}
            }
        }
        Some(TraceHeader {
            root: root?,
            parent,
        })
    }

    /// A new trace, begun at `now_ms`, its random part the last digits of a UUID, where a sequential id varies, so
    /// that no two requests share a trace.
    pub fn new(now_ms: u64, uuid: &str) -> Self {
        TraceHeader {
            root: format!("1-{:08x}-{}", now_ms / 1000, super::last_hex(uuid, 24)),
            parent: None,
        }
    }

    /// The header that a step of this trace passes on, with `span` as the parent of what it causes.
    pub fn child(&self, span: &str) -> String {
        format!("Root={};Parent={span};Sampled=1", self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_and_passed_on() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .unwrap();
        assert_eq!(h.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(
            h.child("0123456789abcdef"),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0123456789abcdef;Sampled=1"
        );
        assert_eq!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793")
                .unwrap()
                .parent,
            None
        );
        assert_eq!(TraceHeader::parse("Sampled=1"), None);
        assert_eq!(TraceHeader::parse(""), None);
    }

    #[test]
    fn a_new_root_has_x_ray_s_shape() {
        let h = TraceHeader::new(1_700_000_000_000, "8f3e0c2a-1b4d-4c6e-9f70-0123456789ab");
        assert_eq!(h.root, "1-6553f100-1b4d4c6e9f700123456789ab");
        assert_eq!(h.root.len(), 35);
    }
}
