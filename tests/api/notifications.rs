//! In-app notifications: a scoring threshold that says so tells the lead's owner once per
//! crossing — from a request and from a rescore, never from an import — and a new company's
//! MQL and SQL say so; a member lists, counts and marks only their own notifications, whatever
//! their role; another member's or company's are not found; bad input is a problem.

use crate::scoring::{create_lead, put_scoring, score_by_title, wait_for_job};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, ids_of, json_of, spawn_app};
use std::time::{Duration, Instant};

/// Every notification of `who`, newest first.
async fn notifications_of(app: &TestApp, who: &Session) -> Vec<Value> {
    let page = json_of(app.get("/notifications?limit=500", who).await).await;
    page["data"].as_array().unwrap().clone()
}

async fn unread_of(app: &TestApp, who: &Session) -> i64 {
    let response = app.get("/notifications/unread-count", who).await;
    assert_eq!(response.status(), 200);
    json_of(response).await["unread"].as_i64().unwrap()
}

/// Scores by title (`s<n>` scores n) with `thresholds`.
async fn thresholds(app: &TestApp, admin: &Session, thresholds: Value) -> Value {
    score_by_title(app, admin).await;
    let mut settings = json_of(app.get("/scoring/settings", admin).await).await["settings"].clone();
    settings["thresholds"] = thresholds;
    put_scoring(app, admin, settings).await
}

async fn retitle(app: &TestApp, who: &Session, lead: &str, title: &str) {
    let response = app
        .patch(&format!("/leads/{lead}"), who, json!({"title": title}))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

async fn a_threshold_that_notifies_tells_the_lead_owner_once_per_crossing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    thresholds(
        &app,
        &admin,
        json!([{"name": "MQL", "score": 50, "notify_owner": true},
               {"name": "SQL", "score": 75}]),
    )
    .await;
    let settings = json_of(app.get("/scoring/settings", &admin).await).await;
    assert_eq!(settings["settings"]["thresholds"][0]["notify_owner"], true);
    assert_eq!(settings["settings"]["thresholds"][1]["notify_owner"], false);

    // Created by the admin for the rep at 55: the rep, not the admin, is told.
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "title": "s55", "owner_id": rep.user_id}),
    )
    .await;
    let id = lead["id"].as_str().unwrap().to_owned();
    assert!(notifications_of(&app, &admin).await.is_empty());
    let told = notifications_of(&app, &rep).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let n = &told[0];
    assert_eq!(n["title"], "Lead Ann Lee reached MQL (score 55)");
    assert_eq!(n["kind"], "lead.score_threshold_crossed");
    assert_eq!(n["link"], format!("/leads/{id}"));
    assert_eq!(
        (&n["record_type"], &n["record_id"]),
        (&json!("lead"), &json!(id))
    );
    assert_eq!(n["read_at"], Value::Null);
    assert!(n["body"].as_str().unwrap().contains("MQL at 50"), "{n}");
    assert_eq!(unread_of(&app, &rep).await, 1);

    // Moving within the band, or over a threshold that does not notify: nothing more.
    retitle(&app, &rep, &id, "s60").await;
    retitle(&app, &rep, &id, "s80").await;
    assert_eq!(notifications_of(&app, &rep).await.len(), 1);
    // Down under MQL and up again: a second crossing, a second notification.
    retitle(&app, &rep, &id, "s40").await;
    assert_eq!(notifications_of(&app, &rep).await.len(), 1);
    retitle(&app, &rep, &id, "s65").await;
    let told = notifications_of(&app, &rep).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0]["title"], "Lead Ann Lee reached MQL (score 65)");

    // Without the flag (as stored before thresholds could notify), nobody is told.
    thresholds(&app, &admin, json!([{"name": "MQL", "score": 50}])).await;
    create_lead(
        &app,
        &admin,
        json!({"last_name": "Quiet", "title": "s90", "owner_id": rep.user_id}),
    )
    .await;
    assert_eq!(notifications_of(&app, &rep).await.len(), 2);
    assert_eq!(unread_of(&app, &admin).await, 0);
}

async fn a_rescore_that_lifts_a_lead_over_a_threshold_notifies_its_owner(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let settings = thresholds(
        &app,
        &admin,
        json!([{"name": "MQL", "score": 50, "notify_owner": true}]),
    )
    .await;
    let lead = create_lead(
        &app,
        &admin,
        json!({"company_name": "Lifted Ltd", "title": "s40", "owner_id": rep.user_id}),
    )
    .await;
    assert_eq!(lead["total_score"], 40);
    assert!(notifications_of(&app, &rep).await.is_empty());

    // The rule the lead matches is now worth 60: the settings' rescore job lifts it over MQL.
    let mut changed = settings["settings"].clone();
    for rule in changed["fit_rules"].as_array_mut().unwrap() {
        if rule["name"] == "s40" {
            rule["points"] = json!(60);
        }
    }
    let _workers = app.start_workers();
    let saved = put_scoring(&app, &admin, changed).await;
    wait_for_job(&app, &admin, saved["rescore_job_id"].as_str().unwrap()).await;
    let now = json_of(
        app.get(&format!("/leads/{}", lead["id"].as_str().unwrap()), &admin)
            .await,
    )
    .await;
    assert_eq!(now["total_score"], 60);
    // The jobs the earlier changes queued may run after it, and find nothing to change.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = json_of(app.get("/jobs?kind=scoring.rescore", &admin).await).await;
        let states: Vec<&str> = jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["state"].as_str().unwrap())
            .collect();
        if states.len() >= 3 && states.iter().all(|s| *s == "succeeded") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rescore jobs never ran: {jobs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let told = notifications_of(&app, &rep).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["title"], "Lead Lifted Ltd reached MQL (score 60)");
}

async fn an_import_tells_nobody_of_each_row(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    thresholds(
        &app,
        &admin,
        json!([{"name": "MQL", "score": 50, "notify_owner": true}]),
    )
    .await;
    let csv = "first_name,last_name,title\nAnn,Lee,s55\nBob,Ray,s90\n";
    let form = Form::new().text("entity", "leads").part(
        "file",
        Part::bytes(csv.as_bytes().to_vec()).file_name("leads.csv"),
    );
    let response = app
        .api(Method::POST, "/imports", Some(&admin))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let id = json_of(response).await["id"].as_str().unwrap().to_owned();
    let _workers = app.start_workers();
    let run = app
        .post(&format!("/imports/{id}/run"), &admin, json!({}))
        .await;
    assert_eq!(run.status(), 202, "{:?}", run.text().await);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let import = json_of(app.get(&format!("/imports/{id}"), &admin).await).await;
        if import["status"] == "completed" {
            assert_eq!(import["created"], 2, "{import}");
            break;
        }
        assert!(Instant::now() < deadline, "the import never ran: {import}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leads = json_of(app.get(&format!("/leads?import_id={id}"), &admin).await).await;
    let scores: Vec<&Value> = leads["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["total_score"])
        .collect();
    assert!(
        scores.contains(&&json!(90)),
        "the rows crossed MQL: {leads}"
    );
    assert!(notifications_of(&app, &admin).await.is_empty());
    // The next lead made by hand is news again.
    create_lead(&app, &admin, json!({"last_name": "Hand", "title": "s60"})).await;
    assert_eq!(notifications_of(&app, &admin).await.len(), 1);
}

/// Three leads rich enough to cross the default MQL (a total of 50), owned by `owner`:
/// the notifications' ids, newest first.
async fn three_mqls(app: &TestApp, admin: &Session, owner: &Session) -> Vec<String> {
    for name in ["One", "Two", "Three"] {
        let lead = create_lead(
            app,
            admin,
            json!({"first_name": name, "last_name": "Rich", "email": format!("{name}@acme-corp.io"),
                   "title": "CTO", "company_name": "Acme", "industry": "Software",
                   "employee_count": 500, "annual_revenue": "2000000",
                   "annual_revenue_currency": "EUR", "owner_id": owner.user_id}),
        )
        .await;
        assert_eq!(lead["total_score"], 50, "{lead}");
    }
    let all = notifications_of(app, owner).await;
    let titles: Vec<&str> = all.iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Lead Three Rich reached MQL (score 50)",
            "Lead Two Rich reached MQL (score 50)",
            "Lead One Rich reached MQL (score 50)"
        ],
        "a new company's MQL tells the owner; newest first"
    );
    all.iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn members_list_count_and_mark_only_their_own_notifications(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    // Any role has an inbox: read-only members too.
    let reader = app.member(&admin, "read_only").await;
    let ids = three_mqls(&app, &admin, &reader).await;
    assert_eq!(unread_of(&app, &reader).await, 3);

    // Paged by cursor, newest first.
    let first = json_of(app.get("/notifications?limit=2", &reader).await).await;
    assert_eq!(ids_of(&first), ids[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(
        app.get(&format!("/notifications?limit=2&cursor={cursor}"), &reader)
            .await,
    )
    .await;
    assert_eq!(ids_of(&second), ids[2..]);
    assert_eq!(second["next_cursor"], Value::Null);

    // One read: the count drops, the unread list leaves it out; reading it again keeps its time.
    let response = app
        .post(
            &format!("/notifications/{}/read", ids[1]),
            &reader,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let read = json_of(response).await;
    assert_eq!(read["id"], json!(ids[1]));
    let read_at = read["read_at"].clone();
    assert!(read_at.is_string(), "{read}");
    let again = json_of(
        app.post(
            &format!("/notifications/{}/read", ids[1]),
            &reader,
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(again["read_at"], read_at);
    assert_eq!(unread_of(&app, &reader).await, 2);
    let unread = json_of(app.get("/notifications?unread=true", &reader).await).await;
    assert_eq!(ids_of(&unread), [ids[0].clone(), ids[2].clone()]);
    let all = json_of(app.get("/notifications?unread=false", &reader).await).await;
    assert_eq!(ids_of(&all), ids);

    // Another member and another company see none of them and mark none.
    let other = app.other_company("Elsewhere").await;
    for who in [&admin, &other] {
        assert!(notifications_of(&app, who).await.is_empty());
        assert_eq!(unread_of(&app, who).await, 0);
        let problem = assert_problem(
            app.post(&format!("/notifications/{}/read", ids[0]), who, json!({}))
                .await,
            404,
        )
        .await;
        assert_eq!(problem["status"], 404);
        let marked = json_of(app.post("/notifications/read-all", who, json!({})).await).await;
        assert_eq!(marked["marked"], 0);
    }
    assert_eq!(unread_of(&app, &reader).await, 2, "still unread");

    // All read at once.
    let marked = json_of(
        app.post("/notifications/read-all", &reader, json!({}))
            .await,
    )
    .await;
    assert_eq!(marked["marked"], 2);
    assert_eq!(unread_of(&app, &reader).await, 0);
    let unread = json_of(app.get("/notifications?unread=true", &reader).await).await;
    assert!(ids_of(&unread).is_empty());
    let all = notifications_of(&app, &reader).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|n| n["read_at"].is_string()));
    let kept = all.iter().find(|n| n["id"] == json!(ids[1])).unwrap();
    assert_eq!(kept["read_at"], read_at, "read-all keeps earlier reads");

    // Bad input is a problem; nobody signed in is a 401.
    for path in [
        "/notifications?unread=maybe",
        "/notifications?limit=0",
        "/notifications?limit=501",
        "/notifications?cursor=nope",
        "/notifications?colour=red",
    ] {
        assert_problem(app.get(path, &reader).await, 400).await;
    }
    assert_problem(
        app.post("/notifications/not-an-id/read", &reader, json!({}))
            .await,
        404,
    )
    .await;
    let anonymous = app
        .api(Method::GET, "/notifications/unread-count", None)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
}

both!(
    a_threshold_that_notifies_tells_the_lead_owner_once_per_crossing,
    a_rescore_that_lifts_a_lead_over_a_threshold_notifies_its_owner,
    an_import_tells_nobody_of_each_row,
    members_list_count_and_mark_only_their_own_notifications,
);
