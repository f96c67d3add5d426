//! API Gateway's Lambda proxy integration: the seed's event in a proxy event's body, the outcome as a proxy
//! response.

use base64::Engine;
use serde_json::{Value, json};

use crate::failure::{Failure, Result};

/// The seed's event inside an API Gateway proxy event, or `None` when `event` is not one.
pub fn request(event: &Value) -> Option<Result<Value>> {
    let rest = event.get("httpMethod").is_some() && event.get("requestContext").is_some();
    let http = event.get("version").and_then(Value::as_str) == Some("2.0")
        && event.pointer("/requestContext/http").is_some();
    if !rest && !http {
        return None;
    }
    let body = event.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if event.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(b) => b,
            Err(e) => {
                return Some(Err(Failure::new(
                    "JSONDecodeError",
                    format!("the request body is not valid base64: {e}"),
                )));
            }
        }
    } else {
        body.as_bytes().to_vec()
    };
    Some(serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            "JSONDecodeError",
            format!("the request body is not JSON: {e}"),
        )
    }))
}

impl Failure {
    /// The HTTP status a proxy response gives this failure.
    fn status(&self) -> u16 {
        match self.error_type {
            // DynamoDB's 4xx errors are the caller's (ValidationException, ResourceNotFoundException,
            // ConditionalCheckFailedException, and the throttling errors, which DynamoDB also sends as 400);
            // its 5xx (InternalServerError, ServiceUnavailable) are not.
            "ClientError" => match self.http_status {
                Some(400..=499) => 400,
                _ => 500,
            },
            "ValueError"
            | "KeyError"
            | "NameError"
            | "TypeError"
            | "ParamValidationError"
            | "JSONDecodeError" => 400,
            _ => 500,
        }
    }
}

/// The proxy response for the outcome of the seed's event: the result, or the failure with its status.
pub fn response(outcome: Result<Value>) -> Value {
    let (status, body) = match outcome {
        Ok(v) => (200, v),
        Err(f) => (
            f.status(),
            json!({"errorType": f.error_type, "errorMessage": f.message}),
        ),
    };
    json!({
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_of_failures_that_are_not_dynamodb_errors() {
        assert_eq!(Failure::new("KeyError", "'operation'").status(), 400);
        assert_eq!(Failure::new("ParamValidationError", "x").status(), 400);
        assert_eq!(
            Failure::new("EndpointConnectionError", "down").status(),
            500
        );
    }

    #[test]
    fn only_api_gateway_events_are_proxy_requests() {
        assert_eq!(request(&json!({"operation": "ping"})), None);
        assert_eq!(request(&json!({"httpMethod": "POST"})), None);
        let v2 = json!({"version": "2.0", "requestContext": {"http": {}}, "body": "{\"a\": 1}"});
        assert_eq!(request(&v2), Some(Ok(json!({"a": 1}))));
        let bad = json!({"httpMethod": "POST", "requestContext": {}, "isBase64Encoded": true, "body": "%"});
        assert_eq!(
            request(&bad).unwrap().unwrap_err().error_type,
            "JSONDecodeError"
        );
    }
}
