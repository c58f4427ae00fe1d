//! Rivet's HTTP server: the API (`/api/v1`), the web UI, operations endpoints, authentication,
//! rate limits and the background workers. Handlers are thin: parse, call the store or a use
//! case, respond.

pub mod accounts;
pub mod activities;
pub mod actor_cache;
pub mod api_keys;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod contacts;
pub mod contract;
pub mod custom_fields;
pub mod deals;
pub mod dispatcher;
pub mod docs;
pub mod error;
pub mod events;
pub mod extract;
pub mod jobs;
pub mod leads;
pub mod logging;
pub mod ops;
pub mod pipelines;
pub mod ratelimit;
pub mod roles;
pub mod router;
pub mod search;
pub mod seed;
pub mod serve;
pub mod settings;
pub mod state;
pub mod system;
pub mod tasks;
pub mod teams;
pub mod timeline;
pub mod users;
pub mod views;
pub mod web;
pub mod webhooks;
pub mod worker;

pub use app::{build_state, router};
pub use axum;
pub use config::Config;
pub use state::AppState;
