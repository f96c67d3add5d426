//! Failures, as the seed's Python raised them: its own errors, boto3's `ClientError` for DynamoDB's.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;

/// A failure, as the seed's Python would have raised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error_type: &'static str,
    pub message: String,
    /// For a `ClientError`, the HTTP status DynamoDB answered with.
    pub http_status: Option<u16>,
}

impl Failure {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
            http_status: None,
        }
    }
}

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        Diagnostic {
            error_type: f.error_type.to_string(),
            error_message: f.message,
        }
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

/// boto3's `ClientError` message, with the HTTP status it came with.
fn client_error<E: ProvideErrorMetadata>(op: &str, e: &E, http_status: Option<u16>) -> Failure {
    Failure {
        http_status,
        ..Failure::new(
            "ClientError",
            format!(
                "An error occurred ({}) when calling the {op} operation: {}",
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or_default()
            ),
        )
    }
}

/// A failed call of the DynamoDB operation `op`: boto3's `ClientError` when DynamoDB answered, and its
/// `EndpointConnectionError` when it could not be reached.
pub fn sdk_error<E>(op: &str, e: SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(service) => client_error(op, service, e.raw_response().map(|r| r.status().as_u16())),
        None => Failure::new(
            "EndpointConnectionError",
            DisplayErrorContext(e).to_string(),
        ),
    }
}
