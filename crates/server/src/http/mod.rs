//! HTTP plumbing every handler shares: authentication and CSRF (`auth`), access tokens
//! (`tokens`), the caller cache (`actor_cache`), extractors and body checks (`extract`), errors as
//! problem+json (`error`), rate limits (`ratelimit`), route declaration with permissions and
//! OpenAPI (`router`, `contract`), and the headers every answer carries (`headers`).

pub mod actor_cache;
pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
pub mod headers;
pub mod ratelimit;
pub mod router;
pub mod tokens;
