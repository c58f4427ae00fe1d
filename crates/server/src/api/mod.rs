//! The `/api/v1` handlers, one module per area, and [`api_routes`], the one list of them. Each
//! area declares its routes with their permission and OpenAPI description
//! (`crate::http::router`); parsing, errors and authentication are `crate::http`'s.

pub mod accounts;
pub mod activities;
pub mod api_keys;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod checklist;
pub mod contacts;
pub mod conversion;
pub mod custom_fields;
pub mod deals;
pub mod definitions;
pub mod docs;
pub mod duplicate_groups;
pub mod duplicates;
pub mod email;
pub mod events;
pub mod export;
pub mod exports;
pub mod health;
pub mod imap;
pub mod imports;
pub mod ingest;
pub mod jobs;
pub mod lead_forms;
pub mod leads;
pub mod merge;
pub mod notifications;
pub mod password_reset;
pub mod pipelines;
pub mod qualification;
pub mod record;
pub mod risk;
pub mod roles;
pub mod scoring;
pub mod scoring_model;
pub mod search;
pub mod sequences;
pub mod settings;
pub mod settings_doc;
pub mod system;
pub mod tasks;
pub mod teams;
pub mod templates;
pub mod timeline;
pub mod tracking;
pub mod users;
pub mod views;
pub mod webhooks;
pub mod whatsapp;
pub mod workflows;

use crate::http::router::{ApiRouter, RouteInfo};

/// Every `/api/v1` route, by area.
pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(auth::routes())
        .merge(password_reset::routes())
        .merge(users::routes())
        .merge(roles::routes())
        .merge(teams::routes())
        .merge(api_keys::routes())
        .merge(audit::routes())
        .merge(settings::routes())
        .merge(email::routes())
        .merge(imap::routes())
        .merge(system::routes())
        .merge(jobs::routes())
        .merge(leads::routes())
        .merge(duplicates::routes())
        .merge(ingest::routes())
        .merge(lead_forms::routes())
        .merge(accounts::routes())
        .merge(contacts::routes())
        .merge(pipelines::routes())
        .merge(custom_fields::routes())
        .merge(views::routes())
        .merge(notifications::routes())
        .merge(deals::routes())
        .merge(risk::routes())
        .merge(tasks::routes())
        .merge(activities::routes())
        .merge(search::routes())
        .merge(timeline::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
        .merge(templates::routes())
        .merge(sequences::routes())
        .merge(exports::routes())
        .merge(assignment::routes())
        .merge(merge::routes())
        .merge(conversion::routes())
        .merge(scoring::routes())
        .merge(health::routes())
        .merge(qualification::routes())
        .merge(checklist::routes())
        .merge(scoring_model::routes())
        .merge(duplicate_groups::routes())
        .merge(imports::routes())
        .merge(whatsapp::routes())
        .merge(workflows::routes())
        .merge(tracking::routes())
}

/// Routes reachable without signing in. A test checks that this list and the registry agree,
/// so making a route public is a visible decision.
pub const PUBLIC_API_ROUTES: &[(&str, &str)] = &[
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/accept-invitation"),
    ("POST", "/auth/signup"),
    ("GET", "/whatsapp/webhook"),
    ("POST", "/whatsapp/webhook"),
    ("POST", "/auth/password-reset"),
    ("POST", "/auth/password-reset/confirm"),
    ("POST", "/inbound/email"),
];

/// The registry of API routes, for tests and documentation.
pub fn api_route_list() -> Vec<RouteInfo> {
    api_routes().routes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::router::document;
    use std::collections::HashMap;

    fn route_info(method: &str, path: &str) -> Option<RouteInfo> {
        api_route_list()
            .into_iter()
            .find(|r| r.method.as_str() == method && r.path == path)
    }

    #[test]
    fn every_contract_rule_applies_to_a_documented_property() {
        let router = api_routes();
        let (_, missing) = document(&router.routes, router.schemas);
        assert!(missing.is_empty(), "rules that name nothing: {missing:?}");
    }

    #[test]
    fn each_schema_name_documents_one_type() {
        let router = api_routes();
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (name, schema) in &router.schemas {
            let json = serde_json::to_string(schema).unwrap_or_default();
            if let Some(before) = seen.insert(name, json.clone()) {
                assert_eq!(before, json, "two different types are documented as {name}");
            }
        }
    }

    #[test]
    fn statuses_follow_from_the_declaration() {
        let has = |method, path, codes: &[u16]| {
            let statuses = route_info(method, path)
                .map(|r| r.statuses())
                .unwrap_or_default();
            for code in codes {
                assert!(
                    statuses.contains(code),
                    "{method} {path} lists {code}: {statuses:?}"
                );
            }
            statuses
        };
        has("POST", "/auth/login", &[200, 400, 401, 413, 415, 422, 429]);
        has("POST", "/leads", &[201, 401, 403, 409, 413, 415, 422, 429]);
        let show = has("GET", "/leads/{id}", &[200, 401, 403, 404, 429]);
        assert!(!show.contains(&415) && !show.contains(&409), "{show:?}");
        has("GET", "/search", &[200, 400, 422]);
    }

    #[test]
    fn a_patch_may_not_clear_a_required_field() {
        let (_, _, doc) = api_routes().into_parts();
        let doc = serde_json::to_value(&doc).unwrap_or_default();
        let patch = &doc["components"]["schemas"]["LeadInputPatch"];
        // A choice: one of the names (not null here), or blank for the default.
        assert_eq!(
            patch["properties"]["status"]["anyOf"][0]["type"], "string",
            "{patch}"
        );
        assert_eq!(patch["properties"]["owner_id"]["type"], "string", "{patch}");
        let create = &doc["components"]["schemas"]["LeadInput"];
        assert_eq!(
            create["properties"]["status"]["anyOf"][0]["type"],
            serde_json::json!(["string", "null"])
        );
        let rename = &doc["components"]["schemas"]["UpdateTeam"];
        assert_eq!(rename["required"], serde_json::Value::Null, "{rename}");
        let operation = &doc["paths"]["/api/v1/leads/{id}"]["patch"];
        assert_eq!(
            operation["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/LeadInputPatch"
        );
    }
}
