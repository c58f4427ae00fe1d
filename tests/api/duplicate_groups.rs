//! The duplicate scan and its groups (issue 13 §2): `POST /duplicates/scan` runs as a job
//! (progress and counts through `/jobs`), groups leads, contacts and accounts by the rules of
//! the live check (accounts by normalized name and domain), replaces the previous scan's open
//! groups and leaves dismissed ones dismissed; `GET /duplicates/groups` pages through them with
//! the members the caller may read; permissions, tenancy and bad input — on SQLite and
//! PostgreSQL.

use crate::merge::create;
use rivet_server::AppState;
use rivet_server::worker::{self, WorkerOptions};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

struct Worker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    fn start(state: &AppState) -> Self {
        let (stop, rx) = watch::channel(false);
        let options = WorkerOptions {
            id: "scan-test".into(),
            concurrency: 2,
            lease: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
            backoff_base: chrono::Duration::milliseconds(50),
            shutdown_grace: Duration::from_secs(1),
        };
        let handle = worker::spawn_with(state.clone(), options, rx);
        Self { stop, handle }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(15), self.handle).await;
    }
}

/// Scan `entity` and wait for the job to succeed; its result.
async fn scan(app: &TestApp, who: &Session, entity: &str) -> Value {
    let response = app
        .post("/duplicates/scan", who, json!({"entity": entity}))
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let job = json_of(response).await;
    assert_eq!(job["kind"], "duplicates.scan");
    let id = job["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = json_of(app.get(&format!("/jobs/{id}"), who).await).await;
        if job["state"] == "succeeded" {
            assert_eq!(job["progress"]["done"], job["progress"]["total"], "{job}");
            return job["result"].clone();
        }
        assert!(
            job["state"] == "queued" || job["state"] == "running",
            "{job}"
        );
        assert!(Instant::now() < deadline, "scan never ended: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn groups(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/duplicates/groups?{query}"), who).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

/// Each group's member ids, sorted, with its rule.
fn members(page: &Value) -> Vec<(String, Vec<String>)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            (g["rule"].as_str().unwrap().to_owned(), ids)
        })
        .collect()
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    ids.sort();
    ids
}

async fn a_scan_groups_leads_and_replaces_the_previous_groups(db: Db) {
    let app = spawn_app(db).await;
    let worker = Worker::start(&app.state);
    let admin = app.admin().await;
    let a = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "A", "email": "Pat.Lee+x@gmail.com"}),
    )
    .await;
    let b = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "B", "email": "patlee@gmail.com", "phone": "+44 20 7946 0958"}),
    )
    .await;
    let c = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "C", "phone": "+44 (20) 7946-0958"}),
    )
    .await;
    let d = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "D", "email": "d@acme.test"}),
    )
    .await;
    let e = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "E", "email": "D@ACME.test"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Alone", "email": "alone@acme.test"}),
    )
    .await;

    let report = scan(&app, &admin, "leads").await;
    assert_eq!(report["groups"], 2, "{report}");
    assert_eq!(report["records"], 5, "{report}");
    let page = groups(&app, &admin, "entity=leads").await;
    assert_eq!(
        members(&page),
        [
            ("exact_email".to_owned(), sorted(&[&a, &b, &c])),
            ("exact_email".to_owned(), sorted(&[&d, &e])),
        ]
    );
    let first = &page["data"][0];
    assert_eq!(first["score"], 1.0);
    assert_eq!(first["status"], "open");
    assert_eq!(first["entity"], "leads");
    assert_eq!(first["members"][0]["last_name"], "A", "oldest first");

    // Pages of one.
    let one = groups(&app, &admin, "entity=leads&limit=1").await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let cursor = one["next_cursor"].as_str().unwrap().to_owned();
    let two = groups(
        &app,
        &admin,
        &format!("entity=leads&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(members(&two), [members(&page)[1].clone()]);
    assert!(two["next_cursor"].is_null());

    // Dismissed: out of the open list, and not found again.
    let de = page["data"][1]["id"].as_str().unwrap().to_owned();
    let response = app
        .post(
            &format!("/duplicates/groups/{de}/dismiss"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["status"], "dismissed");
    assert_eq!(
        members(&groups(&app, &admin, "entity=leads").await).len(),
        1
    );
    let dismissed = groups(&app, &admin, "entity=leads&status=dismissed").await;
    assert_eq!(members(&dismissed), [members(&page)[1].clone()]);

    // A merge takes a member out; the next scan replaces the open groups.
    let response = app
        .post(
            "/leads/merge",
            &admin,
            json!({"survivor_id": a, "loser_ids": [b], "fields": {"phone": b}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        members(&groups(&app, &admin, "entity=leads").await),
        [("exact_email".to_owned(), sorted(&[&a, &c]))],
        "the merged lead is left out"
    );
    let report = scan(&app, &admin, "leads").await;
    assert_eq!(report["groups"], 1, "{report}");
    assert_eq!(
        members(&groups(&app, &admin, "entity=leads").await),
        [("exact_phone".to_owned(), sorted(&[&a, &c]))]
    );
    assert_eq!(
        members(&groups(&app, &admin, "entity=leads&status=dismissed").await).len(),
        1
    );
    worker.stop().await;
}

async fn contacts_and_accounts_are_scanned_by_their_own_keys(db: Db) {
    let app = spawn_app(db).await;
    let worker = Worker::start(&app.state);
    let admin = app.admin().await;
    let acme = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Inc.", "domain": "www.acme-corp.com"}),
    )
    .await;
    let acme_ltd = create(&app, &admin, "/accounts", json!({"name": "ACME"})).await;
    let acme_web = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Web Shop", "domain": "shop.acme-corp.com"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Globex", "domain": "gmail.com"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Initech", "domain": "gmail.com"}),
    )
    .await;
    let jane = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Doe", "email": "jane@acme.test"}),
    )
    .await;
    let jane2 = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Doe", "email": "JANE@acme.test"}),
    )
    .await;

    let report = scan(&app, &admin, "accounts").await;
    assert_eq!(report["groups"], 1, "{report}");
    assert_eq!(
        members(&groups(&app, &admin, "entity=accounts").await),
        [(
            "exact_domain".to_owned(),
            sorted(&[&acme, &acme_ltd, &acme_web])
        )],
        "free-mail domains join nothing"
    );
    let report = scan(&app, &admin, "contacts").await;
    assert_eq!(report["groups"], 1, "{report}");
    assert_eq!(
        members(&groups(&app, &admin, "entity=contacts").await),
        [("exact_email".to_owned(), sorted(&[&jane, &jane2]))]
    );
    // Scanning one entity leaves the others' groups alone.
    assert_eq!(
        members(&groups(&app, &admin, "entity=accounts").await).len(),
        1
    );
    assert!(members(&groups(&app, &admin, "entity=leads").await).is_empty());
    worker.stop().await;
}

async fn groups_respect_permissions_scope_and_company(db: Db) {
    let app = spawn_app(db).await;
    let worker = Worker::start(&app.state);
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let reader = app
        .member_with_grants(
            &admin,
            "lead_readers",
            json!([{"resource": "leads", "action": "read", "scope": "all"},
                   {"resource": "jobs", "action": "read", "scope": "all"}]),
        )
        .await;
    let own = app
        .member_with_grants(
            &admin,
            "own_leads",
            json!([{"resource": "leads", "action": "read", "scope": "own"},
                   {"resource": "leads", "action": "create", "scope": "own"}]),
        )
        .await;
    let nobody = app
        .member_with_grants(
            &admin,
            "contact_readers",
            json!([{"resource": "contacts", "action": "read", "scope": "all"}]),
        )
        .await;
    let mine = create(
        &app,
        &own,
        "/leads",
        json!({"last_name": "Mine", "email": "x@acme.test"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Admin's", "email": "X@acme.test"}),
    )
    .await;
    let mine2 = create(
        &app,
        &own,
        "/leads",
        json!({"last_name": "Mine too", "email": "y@acme.test"}),
    )
    .await;
    let mine3 = create(
        &app,
        &own,
        "/leads",
        json!({"last_name": "Mine three", "email": "Y@acme.test"}),
    )
    .await;
    create(
        &app,
        &globex,
        "/leads",
        json!({"last_name": "Theirs", "email": "x@acme.test"}),
    )
    .await;

    assert_problem(
        app.post("/duplicates/scan", &reader, json!({"entity": "leads"}))
            .await,
        403,
    )
    .await;
    assert_eq!(scan(&app, &admin, "leads").await["groups"], 2);
    let all = groups(&app, &admin, "entity=leads").await;
    assert_eq!(members(&all).len(), 2);
    assert_eq!(
        members(&groups(&app, &reader, "entity=leads").await).len(),
        2
    );
    // Their own leads only: the group with one of theirs and one of the admin's is not shown.
    assert_eq!(
        members(&groups(&app, &own, "entity=leads").await),
        [("exact_email".to_owned(), sorted(&[&mine2, &mine3]))]
    );
    let _ = mine;
    assert_problem(
        app.get("/duplicates/groups?entity=leads", &nobody).await,
        403,
    )
    .await;
    let id = all["data"][0]["id"].as_str().unwrap().to_owned();
    assert_problem(
        app.post(
            &format!("/duplicates/groups/{id}/dismiss"),
            &reader,
            json!({}),
        )
        .await,
        403,
    )
    .await;
    // Another company neither sees nor dismisses them.
    assert!(members(&groups(&app, &globex, "entity=leads").await).is_empty());
    assert_problem(
        app.get(&format!("/duplicates/groups/{id}"), &globex).await,
        404,
    )
    .await;
    assert_problem(
        app.post(
            &format!("/duplicates/groups/{id}/dismiss"),
            &globex,
            json!({}),
        )
        .await,
        404,
    )
    .await;
    let shown = json_of(app.get(&format!("/duplicates/groups/{id}"), &admin).await).await;
    assert_eq!(shown["status"], "open");

    // Bad input.
    for body in [
        json!({"entity": "deals"}),
        json!({}),
        json!({"entity": "leads", "extra": 1}),
    ] {
        let response = app.post("/duplicates/scan", &admin, body.clone()).await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "{body}: {status}");
    }
    for query in [
        "entity=deals",
        "",
        "entity=leads&status=maybe",
        "entity=leads&limit=0",
    ] {
        let response = app
            .get(&format!("/duplicates/groups?{query}"), &admin)
            .await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "{query}: {status}");
    }
    assert_problem(app.get("/duplicates/groups/not-an-id", &admin).await, 404).await;
    assert_problem(
        app.get(
            "/duplicates/groups/0190a0b0-0000-7000-8000-000000000000",
            &admin,
        )
        .await,
        404,
    )
    .await;
    worker.stop().await;
}

both!(
    a_scan_groups_leads_and_replaces_the_previous_groups,
    contacts_and_accounts_are_scanned_by_their_own_keys,
    groups_respect_permissions_scope_and_company,
);
