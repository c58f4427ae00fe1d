//! Rivet's domain: pure types and rules, no I/O and no async.
//!
//! Values that arrive from outside (`Email`, `Scope`, settings, …) are parsed here once; code
//! further in trusts the type. Validation failures are collected as [`FieldErrors`] so the HTTP
//! layer can answer one 422 naming every field at once.

pub mod accounts;
pub mod activities;
pub mod actor;
pub mod assignment;
pub mod checklist;
pub mod choices;
pub mod contacts;
pub mod custom_fields;
pub mod deals;
pub mod duplicate_groups;
pub mod duplicates;
pub mod email;
pub mod events;
pub mod exports;
pub mod health;
pub mod ids;
pub mod imap;
pub mod imports;
pub mod jobs;
pub mod lead_forms;
pub mod leads;
pub mod normalize;
pub mod permissions;
pub mod pipelines;
pub mod qualification;
pub mod query;
pub mod risk;
pub mod scoring;
pub mod secrets;
pub mod sequences;
pub mod settings;
pub mod tasks;
pub mod templates;
pub mod tracking;
pub mod validate;
pub mod values;
pub mod whatsapp;
pub mod workflows;

pub use actor::Actor;
pub use ids::{Id, kind};
pub use permissions::{Action, BuiltinRole, PermissionSet, Resource, Scope};
pub use validate::{Email, FieldError, FieldErrors};
