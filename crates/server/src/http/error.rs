//! The one error type of the HTTP layer and its one conversion to an RFC 9457
//! `application/problem+json` response. Handlers return `Result<_, AppError>` and use `?`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rivet_domain::{FieldError, FieldErrors};
use rivet_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed request: bad JSON, unknown field, bad query parameter.
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{0}")]
    Validation(FieldErrors),
    /// A duplicate rule that blocks matched the record being created.
    #[error("a lead or contact like this one exists")]
    Duplicate(Vec<rivet_store::duplicates::Duplicate>),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A limit of the company's own (its daily e-mails) is reached: the detail says which.
    #[error("{0}")]
    LimitReached(String),
    /// Another server Rivet talks to (an SMTP server) failed: the detail says how.
    #[error("{0}")]
    Upstream(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn forbidden() -> Self {
        Self::Forbidden("you do not have permission to do this".into())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::single(field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::Duplicate(_) => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } | Self::LimitReached(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not-found",
            Self::Conflict { .. } => "conflict",
            Self::Duplicate(_) => "duplicate",
            Self::Validation(_) => "validation",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::TooManyRequests { .. } => "rate-limited",
            Self::LimitReached(_) => "limit-reached",
            Self::Upstream(_) => "upstream",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Bad request",
            Self::Unauthorized => "Authentication required",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound => "Not found",
            Self::Conflict { .. } => "Conflict",
            Self::Duplicate(_) => "Possible duplicate",
            Self::Validation(_) => "Invalid input",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::TooManyRequests { .. } => "Too many requests",
            Self::LimitReached(_) => "Limit reached",
            Self::Upstream(_) => "The other server failed",
            Self::Internal(_) => "Internal error",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict { field, message } => Self::Conflict { field, message },
            StoreError::Invalid(errors) => Self::Validation(errors),
            StoreError::Forbidden => Self::forbidden(),
            StoreError::Duplicate(matches) => Self::Duplicate(matches),
            StoreError::Db(e) => Self::Internal(anyhow::Error::new(e)),
            StoreError::Connect(e) => Self::Internal(anyhow::anyhow!(e)),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

/// The problem+json body (RFC 9457) with Rivet's `errors` extension for field errors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a `duplicate` problem (409): the existing records a blocking rule matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<rivet_store::duplicates::Duplicate>,
}

impl AppError {
    pub fn problem(&self) -> Problem {
        let errors = match self {
            Self::Validation(errors) => errors.0.clone(),
            Self::Conflict { field, message } => vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }],
            _ => Vec::new(),
        };
        let detail = match self {
            Self::Conflict { field, message } => format!("{field} {message}"),
            Self::Validation(_) => "one or more fields are invalid".into(),
            Self::Duplicate(matches) => duplicate_detail(matches),
            other => other.to_string(),
        };
        Problem {
            kind: format!("https://rivet.dev/problems/{}", self.slug()),
            title: self.title().into(),
            status: self.status().as_u16(),
            detail,
            errors,
            duplicates: match self {
                Self::Duplicate(matches) => matches.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// `a lead like this one exists: Ada Lovelace (exact_email)`, naming the surest match.
fn duplicate_detail(matches: &[rivet_store::duplicates::Duplicate]) -> String {
    match matches.first() {
        Some(first) => format!(
            "a {} like this one exists: {} ({}){}",
            first.record_type,
            first.name,
            first.rule,
            match matches.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            }
        ),
        None => "a lead or contact like this one exists".into(),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = %format!("{err:#}"), "request failed");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Self::TooManyRequests { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
