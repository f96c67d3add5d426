//! `/_offcloud/faults` on the main port: the faults in force, read and changed while the emulator runs.
//!
//! - `GET /_offcloud/faults` lists them: `{"faults": [{"id": 1, "service": "dynamodb", ...}]}`.
//! - `POST /_offcloud/faults` with a fault as JSON (the fields of a config's `[[fault]]`) adds it: 201 `{"id": 1}`.
//! - `DELETE /_offcloud/faults` removes them all; `DELETE /_offcloud/faults/ID` removes one: 204.
//!
//! Errors are 400, 404 or 405 with `{"message": ...}`.

use http::Method;
use serde_json::json;

use super::{FaultSpec, Faults};
use crate::net::{WireRequest, WireResponse};

/// The path the endpoint serves, and everything under it.
pub const PATH: &str = "/_offcloud/faults";

/// Whether a request is for the endpoint.
pub fn is_admin(path: &str) -> bool {
    path == PATH || path.strip_prefix(PATH).is_some_and(|r| r.starts_with('/'))
}

fn message(status: u16, text: impl Into<String>) -> WireResponse {
    WireResponse::json(status, &json!({ "message": text.into() }))
}

pub fn handle(faults: &Faults, req: &WireRequest) -> WireResponse {
    let id = req
        .path
        .strip_prefix(PATH)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|r| !r.is_empty());
    match (&req.method, id) {
        (&Method::GET, None) => WireResponse::json(200, &json!({ "faults": faults.list() })),
        (&Method::POST, None) => match serde_json::from_slice::<FaultSpec>(&req.body) {
            Err(e) => message(400, format!("Invalid fault: {e}")),
            Ok(spec) => match faults.add(spec) {
                Ok(id) => WireResponse::json(201, &json!({ "id": id })),
                Err(problem) => message(400, format!("Invalid fault: {problem}")),
            },
        },
        (&Method::DELETE, None) => {
            faults.clear();
            WireResponse::new(204)
        }
        (&Method::DELETE, Some(id)) => match id.parse::<u64>() {
            Ok(n) if faults.remove(n) => WireResponse::new(204),
            _ => message(404, format!("No fault {id}")),
        },
        _ => message(
            405,
            format!(
                "{} {} is not served; use GET, POST or DELETE on {PATH}",
                req.method, req.path
            ),
        ),
    }
}
