//! Timelines: one record's activities, tasks, stage changes and notable changes merged newest
//! first and keyset-paged; an account's gathers its contacts' and deals'; scopes and tenancy
//! hold — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{create_account, id};
use crate::activities::create_activity;
use crate::tasks::create_task;

pub(crate) async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn timeline(app: &TestApp, who: &Session, path: &str) -> Value {
    let response = app.get(path, who).await;
    assert_eq!(
        response.status(),
        200,
        "GET {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn kinds_and_titles(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn link(record_type: &str, record: &Value) -> Value {
    json!({"record_type": record_type, "record_id": id(record)})
}

async fn stage(app: &TestApp, who: &Session, name: &str) -> String {
    let page = json_of(app.get("/pipelines", who).await).await;
    let pipeline = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .unwrap()
        .clone();
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_owned()
}

async fn a_deals_timeline_merges_activities_tasks_stage_changes_and_notable_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Big deal", "amount": "1000.00", "currency": "EUR"}),
    )
    .await;
    let path = format!("/deals/{}", id(&deal));
    let proposal = stage(&app, &admin, "Proposal").await;
    let response = app
        .patch(&path, &admin, json!({"stage_id": proposal}))
        .await;
    assert_eq!(response.status(), 200);
    let response = app.patch(&path, &admin, json!({"amount": "2500.00"})).await;
    assert_eq!(response.status(), 200);
    // A change nobody needs on the timeline (it is in the history).
    let response = app
        .patch(&path, &admin, json!({"next_step": "Call back"}))
        .await;
    assert_eq!(response.status(), 200);
    create_activity(
        &app,
        &admin,
        json!({"kind": "call", "subject": "Discovery call", "links": [link("deal", &deal)]}),
    )
    .await;
    create_task(
        &app,
        &admin,
        json!({"subject": "Send proposal", "related_type": "deal", "related_id": id(&deal)}),
    )
    .await;

    let page = timeline(&app, &admin, &format!("{path}/timeline")).await;
    let entries = kinds_and_titles(&page);
    assert_eq!(
        entries,
        [
            ("task".to_owned(), "Send proposal".to_owned()),
            ("activity".to_owned(), "Discovery call".to_owned()),
            ("event".to_owned(), "Amount: 1000.00 → 2500.00".to_owned()),
            (
                "stage_change".to_owned(),
                "Stage: Qualification → Proposal".to_owned()
            ),
            // Written in one transaction, the creation's audit row after the first stage.
            ("event".to_owned(), "Deal created".to_owned()),
            ("stage_change".to_owned(), "Stage: Qualification".to_owned()),
        ],
        "{page:#}"
    );
    assert!(page["next_cursor"].is_null());
    let first = &page["data"][0];
    assert_eq!(first["record_type"], "deal");
    assert_eq!(first["record_id"], deal["id"]);
    assert_eq!(first["data"]["subject"], "Send proposal");

    // Pages of two walk the same entries in the same order, none twice.
    let mut walked = Vec::new();
    let mut next = format!("{path}/timeline?limit=2");
    loop {
        let page = timeline(&app, &admin, &next).await;
        assert!(page["data"].as_array().unwrap().len() <= 2);
        walked.extend(kinds_and_titles(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}/timeline?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, entries);
}

async fn an_accounts_timeline_gathers_its_contacts_and_deals(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let other = create_account(&app, &admin, json!({"name": "Globex"})).await;
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Doe", "account_id": id(&account)}),
    )
    .await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Acme renewal", "account_id": id(&account)}),
    )
    .await;
    let elsewhere = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Globex pilot", "account_id": id(&other)}),
    )
    .await;
    create_activity(
        &app,
        &admin,
        json!({"kind": "note", "subject": "Met Doe", "links": [link("contact", &contact)]}),
    )
    .await;
    create_activity(
        &app,
        &admin,
        json!({"kind": "note", "subject": "Globex note", "links": [link("deal", &elsewhere)]}),
    )
    .await;

    let page = timeline(
        &app,
        &admin,
        &format!("/accounts/{}/timeline", id(&account)),
    )
    .await;
    let titles: Vec<String> = kinds_and_titles(&page)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert!(titles.contains(&"Met Doe".to_owned()), "{titles:?}");
    assert!(titles.contains(&"Contact created".to_owned()), "{titles:?}");
    assert!(titles.contains(&"Deal created".to_owned()), "{titles:?}");
    assert!(titles.contains(&"Account created".to_owned()), "{titles:?}");
    assert!(!titles.contains(&"Globex note".to_owned()), "{titles:?}");
    let from_deal = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Deal created")
        .unwrap();
    assert_eq!(from_deal["record_id"], deal["id"]);
    // The contact's own timeline has its note, not the account's creation.
    let page = timeline(
        &app,
        &admin,
        &format!("/contacts/{}/timeline", id(&contact)),
    )
    .await;
    let titles: Vec<String> = kinds_and_titles(&page)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(titles, ["Met Doe", "Contact created"]);
}

async fn a_lead_status_change_is_on_its_timeline_and_a_phone_fix_is_not(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Doe", "phone": "+1 555 0100"}),
    )
    .await;
    let path = format!("/leads/{}", id(&lead));
    assert_eq!(
        app.patch(&path, &admin, json!({"phone": "+1 555 0101"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.patch(&path, &admin, json!({"status": "contacted"}))
            .await
            .status(),
        200
    );
    let page = timeline(&app, &admin, &format!("{path}/timeline")).await;
    let titles: Vec<String> = kinds_and_titles(&page)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(titles, ["Status: new → contacted", "Lead created"]);
}

async fn timelines_respect_scope_tenancy_and_bad_input(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Admin's"})).await;
    let mine = create(&app, &rep, "/leads", json!({"last_name": "Rep's"})).await;
    // The admin's call on the rep's lead: the rep sees the lead but not others' activities.
    create_activity(
        &app,
        &admin,
        json!({"kind": "call", "subject": "Admin call", "links": [link("lead", &mine)]}),
    )
    .await;
    create_activity(
        &app,
        &rep,
        json!({"kind": "call", "subject": "Rep call", "links": [link("lead", &mine)]}),
    )
    .await;
    let page = timeline(&app, &rep, &format!("/leads/{}/timeline", id(&mine))).await;
    let titles: Vec<String> = kinds_and_titles(&page)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(titles, ["Rep call", "Lead created"]);
    let page = timeline(&app, &admin, &format!("/leads/{}/timeline", id(&mine))).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);

    // Someone else's lead is not found for the rep, nor for another company.
    assert_problem(
        app.get(&format!("/leads/{}/timeline", id(&lead)), &rep)
            .await,
        404,
    )
    .await;
    let globex = app.other_company("Globex").await;
    assert_problem(
        app.get(&format!("/leads/{}/timeline", id(&lead)), &globex)
            .await,
        404,
    )
    .await;
    // Bad input.
    assert_problem(app.get("/leads/not-an-id/timeline", &admin).await, 404).await;
    assert_problem(
        app.get(&format!("/leads/{}/timeline?limit=0", id(&lead)), &admin)
            .await,
        400,
    )
    .await;
    assert_problem(
        app.get(
            &format!("/leads/{}/timeline?cursor=garbage", id(&lead)),
            &admin,
        )
        .await,
        400,
    )
    .await;
}

both!(a_deals_timeline_merges_activities_tasks_stage_changes_and_notable_changes);
both!(an_accounts_timeline_gathers_its_contacts_and_deals);
both!(a_lead_status_change_is_on_its_timeline_and_a_phone_fix_is_not);
both!(timelines_respect_scope_tenancy_and_bad_input);

/// An account with more related records than SQLite allows terms in one expression (1,000
/// deep): its timeline still reads, with the newest contact's creation on top.
async fn an_account_with_a_thousand_contacts_and_deals_has_a_timeline(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Crowded"})).await;
    for n in 0..520 {
        create(
            &app,
            &admin,
            "/contacts",
            json!({"last_name": format!("Member {n}"), "account_id": id(&account)}),
        )
        .await;
        create(
            &app,
            &admin,
            "/deals",
            json!({"name": format!("Deal {n}"), "account_id": id(&account)}),
        )
        .await;
    }
    let page = timeline(
        &app,
        &admin,
        &format!("/accounts/{}/timeline?limit=5", id(&account)),
    )
    .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5), "{page}");
    assert!(page["next_cursor"].is_string(), "{page}");
}
both!(an_account_with_a_thousand_contacts_and_deals_has_a_timeline);
