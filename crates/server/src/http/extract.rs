//! Request extractors that parse at the edge and fail with problem+json: JSON bodies (400 for
//! malformed JSON or unknown fields, 422 naming the field for invalid values, 413, 415), query
//! strings (400), the caller ([`Auth`]) and pagination.

use crate::http::error::AppError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rivet_domain::Actor;
use rivet_store::Cursor;
use rivet_store::page::{MAX_LIMIT, PageRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

mod objects;

/// A JSON body in, or a JSON response out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parse a JSON body, telling malformed JSON and unknown fields (400) from invalid values (422).
/// Every request body is an object: anything else is a 400 "expected a JSON object", and a
/// struct nested inside is read only from an object too (a 422 naming its field otherwise).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    expect_object(bytes)?;
    let normalised = with_whole_numbers(bytes);
    let bytes = normalised.as_deref().unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(objects::Objects(&mut de));
    let value = result.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = strip_position(&inner.to_string());
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                AppError::BadRequest(format!("malformed JSON: {message}"))
            }
            serde_json::error::Category::Io => AppError::BadRequest(message),
            serde_json::error::Category::Data if message.starts_with("unknown field") => {
                AppError::BadRequest(message)
            }
            serde_json::error::Category::Data => {
                let (field, message) = match message.strip_prefix("missing field ") {
                    Some(name) => (name.trim_matches('`').to_owned(), "is required".to_owned()),
                    None => (if path == "." { "body".into() } else { path }, message),
                };
                AppError::field(&field, message)
            }
        }
    })?;
    de.end().map_err(|e| {
        AppError::BadRequest(format!(
            "malformed JSON: {}",
            strip_position(&e.to_string())
        ))
    })?;
    Ok(value)
}

/// The body again with every whole-number float (`60.0`, `1e3`) written as an integer, or
/// `None` when it has none (or is not JSON, which the parser then reports). JSON Schema counts
/// `60.0` as the integer 60, so the document's `integer` fields must take it; serde's integer
/// types do not.
fn with_whole_numbers(bytes: &[u8]) -> Option<Vec<u8>> {
    fn walk(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // i64's range: -2^63 <= f < 2^63 (both bounds exact in an f64).
                if f.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
                {
                    #[allow(clippy::cast_possible_truncation)] // whole and in range, checked above
                    let whole = f as i64;
                    *value = serde_json::Value::from(whole);
                    true
                } else {
                    false
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, i| walk(i) | c),
            serde_json::Value::Object(map) => map.values_mut().fold(false, |c, v| walk(v) | c),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if walk(&mut value) {
        serde_json::to_vec(&value).ok()
    } else {
        None
    }
}

/// Check a partial body (`PATCH`) before the row is touched: it must read as the record's
/// input `I` (an unknown field is 400, a value of the wrong type 422) and may not clear any of
/// `required` with `null` (422 naming each).
pub fn check_partial<I: DeserializeOwned>(
    patch: &serde_json::Map<String, serde_json::Value>,
    required: &[&str],
) -> Result<(), AppError> {
    let bytes = serde_json::to_vec(patch).map_err(|e| AppError::BadRequest(e.to_string()))?;
    parse_json::<I>(&bytes)?;
    let mut errors = rivet_domain::FieldErrors::new();
    for field in required {
        if patch.get(*field).is_some_and(serde_json::Value::is_null) {
            errors.add(field, "must not be empty");
        }
    }
    Ok(errors.into_result()?)
}

/// A record's whole input after a patch (its current input with the patch laid over it), read
/// as `I` for validation.
pub fn read_merged<I: DeserializeOwned>(
    merged: serde_json::Map<String, serde_json::Value>,
) -> Result<I, rivet_domain::FieldErrors> {
    serde_json::from_value(serde_json::Value::Object(merged))
        .map_err(|e| rivet_domain::FieldErrors::single("body", e.to_string()))
}

/// The body's first byte after JSON whitespace must open an object (an empty body is left to the
/// parser, which calls it malformed).
fn expect_object(bytes: &[u8]) -> Result<(), AppError> {
    match bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        None | Some(b'{') => Ok(()),
        Some(_) => Err(AppError::BadRequest(EXPECTED_OBJECT.into())),
    }
}

/// What a request body that is not a JSON object is told.
pub const EXPECTED_OBJECT: &str = "expected a JSON object";

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// A JSON request's body: another media type is a 415, too large a body a 413.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(AppError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })
}

/// A JSON body as [`Json`] takes it, kept also as the bytes received: for a body whose
/// signature is computed over those bytes (a webhook).
pub struct SignedJson<T> {
    pub raw: Bytes,
    pub value: T,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SignedJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = json_bytes(req, state).await?;
        let value = parse_json(&raw)?;
        Ok(Self { raw, value })
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string parsed into `T` (which should deny unknown fields); any problem is a 400.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| AppError::BadRequest(format!("invalid query string: {e}")))
    }
}

/// The authenticated caller. Extracting it from a request that has none is a 401, but routes
/// are registered with their access rule, so by the time a handler runs this is already known.
#[derive(Debug, Clone)]
pub struct Auth(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Auth)
            .ok_or(AppError::Unauthorized)
    }
}

/// The paging parameters of every list, for its documentation. `cursor` is left out: it is
/// opaque, only ever copied from a page's `next_cursor`, and any other value is a 400.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many rows to answer with: 1 to 500, 50 when left out.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// Validate `limit` (1..=500, default 50) and an opaque `cursor` into a page request.
pub fn page_request(limit: Option<u64>, cursor: Option<&str>) -> Result<PageRequest, AppError> {
    let limit = check_limit(limit.unwrap_or(rivet_store::page::DEFAULT_LIMIT))?;
    let after = match cursor.filter(|c| !c.is_empty()) {
        Some(text) => Some(
            Cursor::decode(text)
                .ok_or_else(|| AppError::BadRequest("cursor is not valid".into()))?
                .0,
        ),
        None => None,
    };
    Ok(PageRequest { limit, after })
}

/// For `Option<Option<T>>` fields of a PATCH body: absent → `None` (leave as is), `null` →
/// `Some(None)` (clear), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with)]`.
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn check_limit(limit: u64) -> Result<u64, AppError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )))
    }
}

/// The `limit` (1..=500, default 50) and `cursor` of a record list whose query string is read as
/// pairs (filters and sort are parsed from the same pairs); `decode` reads the cursor and refuses
/// one made under another sort.
pub fn list_window<S>(
    pairs: &[(String, String)],
    decode: impl FnOnce(&str) -> Option<S>,
) -> Result<(u64, Option<S>), AppError> {
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let limit = match param("limit") {
        Some(text) => text.parse::<u64>().map_err(|_| {
            AppError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}"))
        })?,
        None => rivet_store::page::DEFAULT_LIMIT,
    };
    let limit = check_limit(limit)?;
    let after = match param("cursor").filter(|c| !c.is_empty()) {
        Some(text) => Some(
            decode(text)
                .ok_or_else(|| AppError::BadRequest("cursor is not valid for this sort".into()))?,
        ),
        None => None,
    };
    Ok((limit, after))
}

/// Parse a path id as the typed id its use asks for (a `LeadId`; a plain `Uuid` for an id of
/// several kinds, such as a timeline's record); a malformed one cannot name any row, so it is
/// simply not found. Handlers take the path as text and call this rather than extract
/// `Path<LeadId>`, whose rejection would be axum's plain-text 400 instead of the problem+json
/// 404.
pub fn parse_id<I: FromStr<Err = uuid::Error>>(text: &str) -> Result<I, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        size: u32,
    }

    fn status(input: &str) -> u16 {
        match parse_json::<Body>(input.as_bytes()) {
            Ok(_) => 200,
            Err(e) => e.status().as_u16(),
        }
    }

    #[test]
    fn json_errors_are_classified() {
        assert_eq!(status(r#"{"name":"a","size":1}"#), 200);
        assert_eq!(status(r#"{"name":"a","#), 400);
        assert_eq!(status(r#"{"name":"a","size":1,"x":2}"#), 400);
        assert_eq!(status(r#"{"name":"a","size":"big"}"#), 422);
        assert_eq!(status(r#"{"name":"a"}"#), 422);
        assert_eq!(status(r#"{"name":"a","size":1} trailing"#), 400);
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in [
            r#"["a", 1]"#,
            "[]",
            " \n[\"a\", 1]",
            r#""a""#,
            "1",
            "null",
            "true",
        ] {
            let err = parse_json::<Body>(body.as_bytes()).err();
            let problem = err.map(|e| e.problem());
            assert_eq!(problem.as_ref().map(|p| p.status), Some(400), "{body}");
            assert_eq!(
                problem.map(|p| p.detail),
                Some(EXPECTED_OBJECT.to_owned()),
                "{body}"
            );
        }
        assert_eq!(status(""), 400);
        assert_eq!(status(" {\"name\":\"a\",\"size\":1}"), 200);
    }

    #[test]
    fn invalid_value_names_the_field() {
        let err = parse_json::<Body>(br#"{"name":"a","size":-1}"#).err();
        let problem = err.map(|e| e.problem());
        assert_eq!(
            problem.map(|p| p.errors[0].field.clone()),
            Some("size".into())
        );
    }

    #[test]
    fn limits_outside_the_range_are_rejected() {
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(501), None).is_err());
        assert!(page_request(Some(500), None).is_ok());
        assert!(page_request(None, Some("garbage!")).is_err());
    }
}
