//! The UI's static files — one stylesheet, one small script, the logo — compiled into the
//! binary, so `rivet serve` needs no files beside it and nothing is fetched from elsewhere.

use super::view::WebError;
use crate::http::error::AppError;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/web/rivet.css");
const JS: &str = include_str!("../../assets/web/rivet.js");
const LOGO: &str = include_str!("../../assets/web/logo.svg");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "rivet.css" => (CSS, "text/css; charset=utf-8"),
        "rivet.js" => (JS, "text/javascript; charset=utf-8"),
        "logo.svg" => (LOGO, "image/svg+xml"),
        _ => return WebError::from(AppError::NotFound).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Short enough that an upgrade shows within the hour without versioned names.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
