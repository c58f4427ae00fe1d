//! Rivet's HTTP server: the API (`/api/v1`), the web UI, operations endpoints, authentication,
//! rate limits and the background workers. Handlers are thin: parse, call the store or a use
//! case, respond.

pub mod api;
pub mod app;
pub mod bootstrap;
pub mod config;
#[cfg(test)]
mod cycles;
pub mod dispatcher;
pub mod exports;
pub mod http;
pub mod imap;
pub mod imports;
pub mod logging;
pub mod mail;
pub mod ops;
pub mod password;
pub mod seed;
pub mod sequences;
pub mod serve;
pub mod smtp;
pub mod state;
pub mod tracking;
pub mod web;
pub mod whatsapp;
pub mod worker;

pub use app::{build_state, open_store, router};
pub use axum;
pub use config::Config;
pub use state::AppState;
