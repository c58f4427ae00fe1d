//! `/api/docs`: the OpenAPI viewer (Swagger UI), served from files embedded in the binary so it
//! works offline and under the `script-src 'self'` policy — no CDN, no inline script. The vendored
//! files and their licence live in `assets/swagger-ui/` (see its README for the version and how
//! to upgrade). These routes are public: the document they show is public too.

use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Part of every vendored asset's URL, so a new version is a new URL and a year of caching is safe.
const SWAGGER_UI_VERSION: &str = "5.35.0";

/// Vendored files are immutable per version; ours may change with any build.
const CACHE_VENDORED: &str = "public, max-age=31536000, immutable";
const CACHE_OURS: &str = "public, max-age=300";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    cache: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:literal, $cache:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/swagger-ui/", $name)),
            cache: $cache,
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("swagger-ui.css", "text/css; charset=utf-8", CACHE_VENDORED),
    asset!(
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        CACHE_VENDORED
    ),
    asset!("favicon-32x32.png", "image/png", CACHE_VENDORED),
    asset!(
        "swagger-ui-bundle.js.LICENSE.txt",
        "text/plain; charset=utf-8",
        CACHE_VENDORED
    ),
    asset!("LICENSE", "text/plain; charset=utf-8", CACHE_VENDORED),
    asset!("NOTICE", "text/plain; charset=utf-8", CACHE_VENDORED),
    asset!(
        "rivet-init.js",
        "text/javascript; charset=utf-8",
        CACHE_OURS
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/docs", get(page))
        .route("/api/docs/", get(page))
        .route("/api/docs/assets/{name}", get(asset))
}

fn page_html() -> String {
    let v = SWAGGER_UI_VERSION;
    let app = env!("CARGO_PKG_VERSION");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rivet CRM API</title>
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png?v={v}">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css?v={v}">
</head>
<body>
<noscript>The API viewer needs JavaScript. The document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js?v={v}"></script>
<script src="/api/docs/assets/rivet-init.js?v={app}"></script>
</body>
</html>
"#
    )
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page_html(),
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, a.cache),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_scripts() {
        let html = page_html();
        assert!(!html.contains("<script>"), "no inline script (CSP)");
        assert!(!html.contains("http://") && !html.contains("https://"));
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is embedded", a.name);
        }
    }
}
