//! API tests: the real router and middleware against a real database (SQLite, and PostgreSQL
//! when `RIVET_TEST_DATABASE_URL` is set). One binary, so it builds once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod activities;
mod activities_bulk;
mod assignment;
mod audit;
mod auth;
mod bodies;
mod contacts;
mod conversion;
mod custom_fields;
mod deals;
mod duplicate_groups;
mod duplicates;
mod events;
mod export;
mod exports;
mod health;
mod ids;
mod imports;
mod input;
mod intake;
mod jobs;
mod leads;
mod list_sorts;
mod merge;
mod openapi;
mod password;
mod pipelines;
mod qualification;
mod ratelimit;
mod rbac;
mod row_security;
mod scoring;
mod scoring_model;
mod search;
mod seed;
mod smoke;
mod system;
mod tasks;
mod tasks_bulk;
mod tenancy;
mod timeline;
mod views;
