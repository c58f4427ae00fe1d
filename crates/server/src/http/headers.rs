//! The headers every answer carries.

use axum::http::{HeaderName, HeaderValue, header};

/// The headers every answer carries: a strict CSP (pages that need more set their own), no MIME
/// sniffing, no referrer to other sites, no framing.
pub fn set_security_headers(headers: &mut axum::http::HeaderMap) {
    const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                       script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
}
