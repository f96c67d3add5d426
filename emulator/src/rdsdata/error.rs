//! The Data API's errors, with AWS's codes and statuses.

/// A Data API error, with AWS's type, status and message.
/// Source: botocore `rds-data` model, `errors` of each operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RdsError {
    #[error("{0}")]
    BadRequest(String),
    /// Concurrent statements in one transaction.
    #[error("{0}")]
    DatabaseError(String),
    #[error("Transaction {0} isn't found")]
    TransactionNotFound(String),
    #[error("{0}")]
    StatementTimeout(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl RdsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequestException",
            Self::DatabaseError(_) => "DatabaseErrorException",
            Self::TransactionNotFound(_) => "TransactionNotFoundException",
            Self::StatementTimeout(_) => "StatementTimeoutException",
            Self::ServiceUnavailable(_) => "ServiceUnavailableError",
            Self::Internal(_) => "InternalServerErrorException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::DatabaseError(_) | Self::StatementTimeout(_) => 400,
            Self::TransactionNotFound(_) => 404,
            Self::ServiceUnavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// An error a fault injects, by its code. The statement timeout's text is what callers of the Data API
    /// recorded (customink/activerecord-aurora-serverless-adapter#20); the other is the model's documentation of
    /// `ServiceUnavailableError`.
    pub fn injected(code: &str) -> Self {
        match code {
            "StatementTimeoutException" => Self::StatementTimeout("Request timed out".into()),
            _ => Self::ServiceUnavailable(
                "The service specified by the resourceArn is not available.".into(),
            ),
        }
    }
}
