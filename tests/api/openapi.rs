//! The OpenAPI document states what the server enforces (issue 11.9), read from the same
//! constants the validators use: these tests fail when a documented choice, pattern, length or
//! range drifts from the domain's, and cover what the fuzzing gate found the server accepting
//! against its document (lengths counted after trimming, any three capital letters as a
//! currency, repeated tags, `60.0` refused for an integer).

use reqwest::StatusCode;
use rivet_domain::accounts::{LifecycleStage, MAX_TAG, MAX_TAGS, MAX_TEXT};
use rivet_domain::activities::{ActivityKind, Direction, RecordType};
use rivet_domain::deals::ContactRole;
use rivet_domain::leads::{LeadStatus, SCORE_MAX};
use rivet_domain::pipelines::{ForecastCategory, StageOutcome};
use rivet_domain::tasks::{TaskPriority, TaskStatus};
use rivet_domain::{settings, values};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, assert_problem, both, json_of, spawn_app};

/// The document as served (no database needed: it is generated from the route declarations).
fn document() -> Value {
    rivet_server::api::api_routes().into_parts().2
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "the document has no schema {name}");
    schema
}

/// The names a property's enum lists (in whichever branch holds it), without null and blank.
fn enum_of(property: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_enums(property, &mut found);
    found
}

fn collect_enums(value: &Value, found: &mut Vec<String>) {
    if let Some(list) = value["enum"].as_array() {
        found.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    for branch in value["anyOf"].as_array().into_iter().flatten() {
        collect_enums(branch, found);
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Every pattern a property states (the value must match each), without the "blank" branch.
fn patterns_of(property: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let blank = rivet_domain::validate::blank_pattern();
    let mut walk = vec![property];
    while let Some(node) = walk.pop() {
        if let Some(p) = node["pattern"].as_str()
            && p != blank
        {
            found.push(p.to_owned());
        }
        for key in ["anyOf", "allOf"] {
            walk.extend(node[key].as_array().into_iter().flatten());
        }
    }
    found.sort();
    found
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

#[test]
fn every_documented_choice_is_the_domains_list() {
    let doc = document();
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("LeadInput", "status", owned(LeadStatus::NAMES)),
        ("LeadInputPatch", "status", owned(LeadStatus::NAMES)),
        ("LeadBulkFields", "status", owned(LeadStatus::NAMES)),
        (
            "AccountInput",
            "lifecycle_stage",
            owned(LifecycleStage::NAMES),
        ),
        (
            "AccountBulkFields",
            "lifecycle_stage",
            owned(LifecycleStage::NAMES),
        ),
        (
            "DealInput",
            "forecast_category",
            owned(ForecastCategory::NAMES),
        ),
        ("TaskInput", "status", owned(TaskStatus::NAMES)),
        ("TaskInput", "priority", owned(TaskPriority::NAMES)),
        ("TaskInput", "related_type", owned(RecordType::NAMES)),
        ("TaskBulkFields", "status", owned(TaskStatus::NAMES)),
        ("ActivityInput", "kind", owned(ActivityKind::NAMES)),
        ("ActivityInput", "direction", owned(Direction::NAMES)),
        ("LinkInput", "record_type", owned(RecordType::NAMES)),
        (
            "StageInput",
            "forecast_category",
            owned(ForecastCategory::NAMES),
        ),
        ("StageInput", "outcome", owned(StageOutcome::NAMES)),
        ("AddStage", "outcome", owned(StageOutcome::NAMES)),
        (
            "UpdateStage",
            "forecast_category",
            owned(ForecastCategory::NAMES),
        ),
        ("ContactRoleBody", "role", owned(ContactRole::NAMES)),
        (
            "CreateField",
            "record_type",
            rivet_domain::custom_fields::RecordType::ALL
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
        ),
        (
            "CreateField",
            "kind",
            rivet_domain::custom_fields::CustomFieldKind::ALL
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
        ),
        (
            "CreateView",
            "resource",
            rivet_store::views::RESOURCES
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        ),
        ("UpdateSettings", "timezone", settings::timezones()),
        (
            "UpdateSettings",
            "currency",
            owned(&values::currency_codes()),
        ),
        ("DealInput", "currency", owned(&values::currency_codes())),
    ];
    for (name, property, expected) in cases {
        let documented = enum_of(&schema(&doc, name)["properties"][property]);
        assert_eq!(sorted(documented), sorted(expected), "{name}.{property}");
    }
}

#[test]
fn every_documented_pattern_is_the_parsers() {
    let doc = document();
    let phone = sorted(values::phone_patterns().to_vec());
    let url = sorted(values::url_patterns().to_vec());
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("LeadInput", "phone", phone.clone()),
        ("LeadInput", "mobile", phone.clone()),
        ("ContactInput", "phone", phone),
        ("LeadInput", "website", url),
        (
            "AccountInput",
            "domain",
            vec![rivet_domain::accounts::domain_pattern()],
        ),
        (
            "LeadInput",
            "annual_revenue",
            vec![values::money_pattern(true)],
        ),
        ("DealInput", "amount", vec![values::money_pattern(false)]),
        (
            "CreateField",
            "key",
            vec![rivet_domain::custom_fields::key_pattern()],
        ),
        (
            "UpdateSettings",
            "locale",
            vec![settings::LOCALE_PATTERN.to_owned()],
        ),
    ];
    for (name, property, expected) in cases {
        let documented = patterns_of(&schema(&doc, name)["properties"][property]);
        // A money pattern is written with its blank alternative in one pattern.
        let documented: Vec<String> = documented
            .into_iter()
            .map(|p| {
                p.trim_end_matches(&format!("|{}", rivet_domain::validate::blank_pattern()))
                    .to_owned()
            })
            .collect();
        assert_eq!(documented, expected, "{name}.{property}");
    }
}

#[test]
fn every_documented_range_and_length_is_the_validators() {
    let doc = document();
    let lead = &schema(&doc, "LeadInput")["properties"];
    for score in ["fit_score", "engagement_score", "total_score"] {
        assert_eq!(lead[score]["minimum"], 0, "{score}");
        assert_eq!(lead[score]["maximum"], SCORE_MAX, "{score}");
        assert_eq!(lead[score]["readOnly"], true, "{score} is computed");
    }
    assert_eq!(lead["title"]["maxLength"], MAX_TEXT);
    assert_eq!(lead["tags"]["maxItems"], MAX_TAGS);
    assert_eq!(lead["tags"]["items"]["maxLength"], MAX_TAG);
    assert_eq!(
        schema(&doc, "AccountInput")["properties"]["health_score"]["maximum"],
        SCORE_MAX
    );
    assert_eq!(
        schema(&doc, "AccountInput")["properties"]["health_score"]["readOnly"],
        true,
        "health is computed"
    );
    for (name, property) in [("DealInput", "probability"), ("AddStage", "probability")] {
        let p = &schema(&doc, name)["properties"][property];
        assert_eq!(
            (p["minimum"].clone(), p["maximum"].clone()),
            (json!(0), json!(100))
        );
    }
    let links = &schema(&doc, "ActivityInput")["properties"]["links"];
    assert_eq!(links["maxItems"], rivet_domain::activities::MAX_LINKS);
    let name = &schema(&doc, "UpdateSettings")["properties"]["name"];
    assert_eq!(name["maxLength"], settings::COMPANY_NAME_MAX);
    let password = &schema(&doc, "CreateUser")["properties"]["password"];
    assert_eq!(
        password["minLength"],
        settings::SystemSettings::default().password_min_length
    );
    assert_eq!(password["maxLength"], settings::PASSWORD_MAX);
    // Fields the server requires on create are required and not null in the document.
    for (name, property) in [
        ("AccountInput", "name"),
        ("DealInput", "name"),
        ("TaskInput", "subject"),
        ("ActivityInput", "kind"),
        ("ActivityInput", "links"),
    ] {
        let schema = schema(&doc, name);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(
            required.contains(&property),
            "{name}.{property} is required"
        );
    }
}

async fn whole_number_floats_are_integers(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Float", "employee_count": 60.0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lead = json_of(response).await;
    assert_eq!(lead["employee_count"], json!(60));
    let big = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Exp", "employee_count": 4e1}),
        )
        .await;
    assert_eq!(json_of(big).await["employee_count"], json!(40));
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Half", "employee_count": 60.5}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "employee_count", "{problem}");
}

async fn settings_refuse_what_the_document_refuses(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let before = json_of(app.get("/settings", &admin).await).await;
    let padded = format!("{}{}", "n".repeat(settings::COMPANY_NAME_MAX), " ");
    for (body, field) in [
        // Three capital letters that are no ISO 4217 code were taken before.
        (json!({"currency": "AAA"}), "currency"),
        // The length is counted as sent (the document's maxLength), not after trimming.
        (json!({"name": padded}), "name"),
        (
            json!({"locale": format!("en-{}", "abcdefgh-".repeat(4).trim_end_matches('-'))}),
            "locale",
        ),
    ] {
        let problem = assert_problem(app.patch("/settings", &admin, body.clone()).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    assert_eq!(json_of(app.get("/settings", &admin).await).await, before);
    let changed = json_of(
        app.patch(
            "/settings",
            &admin,
            json!({"currency": "EUR", "timezone": "Europe/Berlin"}),
        )
        .await,
    )
    .await;
    assert_eq!(changed["currency"], "EUR");
}

async fn a_pipeline_name_counts_as_sent(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let pipelines = json_of(app.get("/pipelines", &admin).await).await;
    let id = pipelines["data"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/pipelines/{id}");
    let padded = format!("{} ", "p".repeat(100));
    let problem =
        assert_problem(app.patch(&path, &admin, json!({"name": padded})).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
    let renamed = json_of(
        app.patch(&path, &admin, json!({"name": "p".repeat(100)}))
            .await,
    )
    .await;
    assert_eq!(renamed["name"], "p".repeat(100));
}

async fn records_refuse_what_the_document_refuses(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let repeated: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{}", i % 3)).collect();
    for (body, field) in [
        // 51 tags, though only 3 distinct: the document's maxItems counts what is sent.
        (json!({"name": "Tags", "tags": repeated}), "tags"),
        // A host name is ASCII (an international one in its xn-- form).
        (json!({"name": "Web", "domain": "bücher.de"}), "domain"),
        // At most 12 digits before the point.
        (
            json!({"name": "Rich", "annual_revenue": "1000000000000", "annual_revenue_currency": "EUR"}),
            "annual_revenue",
        ),
    ] {
        let problem = assert_problem(app.post("/accounts", &admin, body.clone()).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Web", "website": "https://bücher.de"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "website", "{problem}");
    let accounts = json_of(app.get("/accounts", &admin).await).await;
    assert_eq!(
        accounts["data"].as_array().map(Vec::len),
        Some(0),
        "nothing written"
    );
    let ok = app
        .post(
            "/accounts",
            &admin,
            json!({"name": "Web", "domain": "xn--bcher-kva.de", "annual_revenue": "999999999999.99", "annual_revenue_currency": "EUR"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

both!(
    whole_number_floats_are_integers,
    settings_refuse_what_the_document_refuses,
    a_pipeline_name_counts_as_sent,
    records_refuse_what_the_document_refuses,
);
