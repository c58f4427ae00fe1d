//! API tests: the real router and middleware against a real database (SQLite, and PostgreSQL
//! when `RIVET_TEST_DATABASE_URL` is set). One binary, so it builds once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod audit;
mod auth;
mod contacts;
mod input;
mod jobs;
mod leads;
mod pipelines;
mod ratelimit;
mod rbac;
mod smoke;
mod system;
mod tenancy;
