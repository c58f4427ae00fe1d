//! Domain events and outbound webhooks: every mutation writes its events in its own
//! transaction (and nothing when it rolls back), `/events` and `/webhooks` are for a company's
//! administrators only, webhook URLs are checked, and a real HTTP receiver started here gets
//! signed deliveries — retried after failures and hangs, never sent to a private address without
//! the setting, never redirected — on SQLite and PostgreSQL.

use crate::accounts::{create_account, id};
use rivet_server::dispatcher::{self, DispatchOptions, EVENT_ID_HEADER, SIGNATURE_HEADER};
use rivet_tests::receiver::{Behaviour, Receiver};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app, spawn_app_with,
};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running dispatcher with short polls, timeouts and backoffs, so tests take seconds.
struct Dispatcher {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

fn fast(allow_private: bool) -> DispatchOptions {
    DispatchOptions {
        id: format!("test-{}", uuid::Uuid::new_v4().simple()),
        poll_interval: Duration::from_millis(20),
        coalesce: Duration::from_millis(5),
        batch: 500,
        send_batch: 64,
        lease: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
        retry_base: Duration::from_millis(50),
        allow_private,
    }
}

impl Dispatcher {
    fn start(app: &TestApp, options: DispatchOptions) -> Self {
        let (stop, rx) = watch::channel(false);
        let handle = dispatcher::spawn(app.state.clone(), options, rx);
        Self { stop, handle }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }
}

/// The app with `RIVET_WEBHOOK_ALLOW_PRIVATE=true`, so a receiver on 127.0.0.1 can be saved.
async fn app_allowing_private(db: Db) -> TestApp {
    spawn_app_with(db, |c| c.webhook_allow_private = true).await
}

async fn events(app: &TestApp, who: &Session, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/events?limit=500&{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /events?{query}");
    json_of(response).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The event types of one record, oldest first.
async fn types_of(app: &TestApp, who: &Session, record_id: &str) -> Vec<String> {
    let mut list = events(app, who, &format!("record_id={record_id}")).await;
    list.reverse();
    list.iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn created(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn create_webhook(app: &TestApp, who: &Session, url: &str, types: &[&str]) -> Value {
    created(
        app,
        who,
        "/webhooks",
        json!({"url": url, "event_types": types}),
    )
    .await
}

async fn deliveries(app: &TestApp, who: &Session, webhook: &Value) -> Vec<Value> {
    let response = app
        .get(&format!("/webhooks/{}/deliveries", id(webhook)), who)
        .await;
    assert_eq!(response.status(), 200);
    json_of(response).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Wait until `check` holds for the webhook's delivery log.
async fn wait_for_log(
    app: &TestApp,
    who: &Session,
    webhook: &Value,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = deliveries(app, who, webhook).await;
        if check(&log) {
            return log;
        }
        assert!(Instant::now() < deadline, "{what}; the log is {log:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn every_mutation_writes_its_typed_events(db: Db) {
    let numbered_at_insert = matches!(db, Db::Sqlite);
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    // user.signed_in: the admin's sign-in above.
    let signed_in = events(&app, &admin, "type=user.signed_in").await;
    assert!(
        signed_in
            .iter()
            .any(|e| e["record_id"] == admin.user_id.to_string()
                && e["actor_user_id"] == admin.user_id.to_string()
                && e["record_type"] == "user"),
        "{signed_in:?}"
    );

    let lead = created(&app, &admin, "/leads", json!({"last_name": "Doe"})).await;
    ok(app
        .patch(
            &format!("/leads/{}", id(&lead)),
            &admin,
            json!({"last_name": "Dough"}),
        )
        .await)
    .await;
    app.delete(&format!("/leads/{}", id(&lead)), &admin).await;
    assert_eq!(
        types_of(&app, &admin, &id(&lead)).await,
        ["lead.created", "lead.updated", "lead.deleted"]
    );
    let updated = &events(&app, &admin, "type=lead.updated").await[0];
    assert_eq!(
        updated["data"]["changes"]["last_name"],
        json!({"before": "Doe", "after": "Dough"})
    );
    assert_eq!(updated["record_type"], "lead");
    assert_eq!(updated["actor_user_id"], admin.user_id.to_string());
    assert!(updated["created_at"].is_string());

    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    assert_eq!(
        types_of(&app, &admin, &id(&account)).await,
        ["account.created"]
    );
    let contact = created(&app, &admin, "/contacts", json!({"last_name": "Roe"})).await;
    assert_eq!(
        types_of(&app, &admin, &id(&contact)).await,
        ["contact.created"]
    );

    let deal = created(&app, &admin, "/deals", json!({"name": "Big one"})).await;
    let pipeline = json_of(app.get("/pipelines", &admin).await).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .cloned()
        .unwrap();
    let stage = |name: &str| {
        pipeline["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["id"].clone())
            .unwrap()
    };
    let deal_path = format!("/deals/{}", id(&deal));
    ok(app
        .patch(&deal_path, &admin, json!({"stage_id": stage("Proposal")}))
        .await)
    .await;
    ok(app
        .patch(&deal_path, &admin, json!({"stage_id": stage("Closed won")}))
        .await)
    .await;
    assert_eq!(
        types_of(&app, &admin, &id(&deal)).await,
        [
            "deal.created",
            "deal.updated",
            "deal.stage_changed",
            "deal.updated",
            "deal.stage_changed",
            "deal.won"
        ]
    );
    // A change's events are written by one statement; on SQLite they are numbered as they are
    // inserted: each its own number, in the order written.
    let mut seqs: Vec<Option<i64>> = events(&app, &admin, &format!("record_id={}", id(&deal)))
        .await
        .iter()
        .map(|e| e["seq"].as_i64())
        .collect();
    seqs.reverse();
    if numbered_at_insert {
        assert!(
            seqs.windows(2)
                .all(|w| matches!(w, [Some(a), Some(b)] if a < b)),
            "{seqs:?}"
        );
    }
    let moved = &events(
        &app,
        &admin,
        &format!("record_id={}&type=deal.stage_changed", id(&deal)),
    )
    .await[1];
    assert_eq!(moved["data"]["to_stage_id"], stage("Proposal"));
    let lost = created(&app, &admin, "/deals", json!({"name": "Gone"})).await;
    ok(app
        .patch(
            &format!("/deals/{}", id(&lost)),
            &admin,
            json!({"stage_id": stage("Closed lost"), "close_reason": "Price"}),
        )
        .await)
    .await;
    assert!(
        types_of(&app, &admin, &id(&lost))
            .await
            .contains(&"deal.lost".to_owned())
    );

    let task = created(&app, &admin, "/tasks", json!({"subject": "Call"})).await;
    ok(app
        .post(&format!("/tasks/{}/complete", id(&task)), &admin, json!({}))
        .await)
    .await;
    assert_eq!(
        types_of(&app, &admin, &id(&task)).await,
        ["task.created", "task.updated", "task.completed"]
    );

    let activity = created(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "Intro",
               "links": [{"record_type": "contact", "record_id": id(&contact)}]}),
    )
    .await;
    assert_eq!(
        types_of(&app, &admin, &id(&activity)).await,
        ["activity.created", "activity.logged"]
    );

    // Filters: by record type and by time.
    let deals_only = events(&app, &admin, "record_type=deal").await;
    assert!(deals_only.iter().all(|e| e["record_type"] == "deal"));
    assert!(
        events(&app, &admin, "from=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );
}

both!(every_mutation_writes_its_typed_events);

/// An event is part of its change's transaction: rolled back with it, committed with it.
async fn an_event_rolls_back_with_its_change(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let record = json!({"last_name": "Ghost"});
    let tx = app.state.store.write_system().await.unwrap();
    tx.audit_in(
        app.company_id,
        "leads",
        "ghost-1",
        "create",
        None,
        Some(&record),
    )
    .await
    .unwrap();
    drop(tx);
    assert!(types_of(&app, &admin, "ghost-1").await.is_empty());
    let tx = app.state.store.write_system().await.unwrap();
    tx.audit_in(
        app.company_id,
        "leads",
        "ghost-2",
        "create",
        None,
        Some(&record),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(types_of(&app, &admin, "ghost-2").await, ["lead.created"]);
    // A refused change writes nothing either.
    let before = events(&app, &admin, "").await.len();
    assert_problem(
        app.post("/leads", &admin, json!({"email": "nope"})).await,
        422,
    )
    .await;
    assert_eq!(events(&app, &admin, "").await.len(), before);
}

both!(an_event_rolls_back_with_its_change);

/// Run a statement on the system connection (setting up what a test needs).
async fn run(app: &TestApp, sql: &str) {
    use rivet_store::sea_orm::ConnectionTrait;
    app.state
        .store
        .system()
        .execute_unprepared(sql)
        .await
        .expect(sql);
}

/// The daily maintenance removes events past the retention once every consumer has applied
/// them, and settled webhook deliveries past it; numbering goes on after the highest number.
async fn old_events_are_removed_once_every_consumer_has_them(db: Db) {
    use crate::jobs::count;
    use rivet_store::{events as store_events, maintenance};
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    for consumer in [store_events::SEQUENCER, "test.consumer"] {
        store_events::ensure_position(store, consumer)
            .await
            .unwrap();
    }
    let old = created(&app, &admin, "/leads", json!({"last_name": "Old"})).await;
    let new = created(&app, &admin, "/leads", json!({"last_name": "New"})).await;
    store_events::sequence(store, 1000).await.unwrap();
    let of = |lead: &Value| {
        format!(
            "SELECT COUNT(*) FROM outbox WHERE record_id = '{}'",
            id(lead)
        )
    };
    run(
        &app,
        &format!(
            "UPDATE outbox SET created_at = '2000-01-01T00:00:00+00:00' WHERE record_id = '{}'",
            id(&old)
        ),
    )
    .await;
    // A delivery of an old event that was delivered, and one still pending, both old.
    let hook = create_webhook(
        &app,
        &admin,
        "https://93.184.216.34/hook",
        &["lead.created"],
    )
    .await;
    for _ in 0..2 {
        ok(app
            .post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
            .await)
        .await;
    }
    // (By SQL alone: ids are stored as blobs on SQLite.)
    run(
        &app,
        "UPDATE webhook_deliveries SET updated_at = '2000-01-01T00:00:00+00:00'",
    )
    .await;
    run(
        &app,
        "UPDATE webhook_deliveries SET state = 'delivered' \
         WHERE id = (SELECT id FROM webhook_deliveries ORDER BY id LIMIT 1)",
    )
    .await;

    // A consumer that has not applied the old event keeps it.
    let report = maintenance::prune(store).await.unwrap();
    assert_eq!(report.events, 0);
    assert_eq!(count(&app, &of(&old)).await, 1);
    assert_eq!(report.webhook_deliveries, 1);
    assert_eq!(
        deliveries(&app, &admin, &hook).await.len(),
        1,
        "the pending one stays"
    );

    // Once it has applied everything, the old event goes and the new one stays.
    run(
        &app,
        "UPDATE event_positions SET position = (SELECT MAX(seq) FROM outbox) \
         WHERE name <> 'sequencer'",
    )
    .await;
    let highest = count(&app, "SELECT MAX(seq) FROM outbox").await;
    let report = maintenance::prune(store).await.unwrap();
    assert_eq!(report.events, 1);
    assert_eq!(count(&app, &of(&old)).await, 0);
    assert_eq!(count(&app, &of(&new)).await, 1);
    assert!(types_of(&app, &admin, &id(&old)).await.is_empty());
    assert_eq!(types_of(&app, &admin, &id(&new)).await, ["lead.created"]);

    // Any applied event past the retention goes.
    run(
        &app,
        &format!(
            "UPDATE outbox SET created_at = '2001-01-01T00:00:00+00:00' WHERE record_id = '{}'",
            id(&new)
        ),
    )
    .await;
    run(
        &app,
        "UPDATE event_positions SET position = (SELECT MAX(seq) FROM outbox) \
         WHERE name <> 'sequencer'",
    )
    .await;
    let report = maintenance::prune(store).await.unwrap();
    assert_eq!(report.events, 1);
    assert_eq!(count(&app, &of(&new)).await, 0);
    // Numbers go on after the highest given out, not from the start again.
    let later = created(&app, &admin, "/leads", json!({"last_name": "Later"})).await;
    store_events::sequence(store, 1000).await.unwrap();
    let seq = count(
        &app,
        &format!("SELECT seq FROM outbox WHERE record_id = '{}'", id(&later)),
    )
    .await;
    assert!(seq > highest, "{seq} after {highest}");
}

both!(old_events_are_removed_once_every_consumer_has_them);

async fn events_and_webhooks_are_for_a_companys_admins_only(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let hook = create_webhook(&app, &admin, "http://127.0.0.1:9/hook", &["*"]).await;
    let lead = created(&app, &admin, "/leads", json!({"last_name": "Mine"})).await;
    for role in ["sales", "manager", "read_only"] {
        let member = app.member(&admin, role).await;
        assert_problem(app.get("/events", &member).await, 403).await;
        assert_problem(app.get("/webhooks", &member).await, 403).await;
        assert_problem(
            app.post(
                "/webhooks",
                &member,
                json!({"url": "https://example.com", "event_types": ["*"]}),
            )
            .await,
            403,
        )
        .await;
    }
    let other = app.other_company("Globex").await;
    let path = format!("/webhooks/{}", id(&hook));
    assert_problem(app.get(&path, &other).await, 404).await;
    assert_problem(
        app.patch(&path, &other, json!({"active": false})).await,
        404,
    )
    .await;
    assert_problem(app.delete(&path, &other).await, 404).await;
    assert_problem(app.get(&format!("{path}/deliveries"), &other).await, 404).await;
    assert_problem(
        app.post(&format!("{path}/test"), &other, json!({})).await,
        404,
    )
    .await;
    let theirs = json_of(app.get("/webhooks", &other).await).await;
    assert_eq!(theirs["data"], json!([]));
    assert!(
        events(&app, &other, &format!("record_id={}", id(&lead)))
            .await
            .is_empty()
    );
    assert!(
        events(&app, &other, "")
            .await
            .iter()
            .all(|e| e["record_id"] != admin.user_id.to_string())
    );
    // Still there for its owner.
    assert_eq!(
        json_of(app.get(&path, &admin).await).await["id"],
        hook["id"]
    );
}

both!(events_and_webhooks_are_for_a_companys_admins_only);

async fn a_webhook_is_created_changed_and_deleted_and_its_secret_shown_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let hook = create_webhook(
        &app,
        &admin,
        "https://93.184.216.34/hooks/rivet",
        &["lead.created", "deal.won", "lead.created"],
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 30);
    assert_eq!(hook["event_types"], json!(["lead.created", "deal.won"]));
    assert_eq!(hook["active"], true);
    let path = format!("/webhooks/{}", id(&hook));
    let shown = json_of(app.get(&path, &admin).await).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    let listed = json_of(app.get("/webhooks", &admin).await).await;
    assert!(!listed.to_string().contains(secret));
    let changed = ok(app
        .patch(
            &path,
            &admin,
            json!({"active": false, "description": "CRM sync", "event_types": ["*"]}),
        )
        .await)
    .await;
    assert_eq!(changed["active"], false);
    assert_eq!(changed["description"], "CRM sync");
    assert_eq!(changed["url"], "https://93.184.216.34/hooks/rivet");
    let audit = json_of(
        app.get(
            &format!("/audit?resource=webhooks&resource_id={}", id(&hook)),
            &admin,
        )
        .await,
    )
    .await;
    assert!(
        !audit.to_string().contains(secret),
        "the audit trail never sees the secret"
    );
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
}

both!(a_webhook_is_created_changed_and_deleted_and_its_secret_shown_once);

async fn bad_webhook_input_is_422_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let cases = [
        (
            json!({"url": "ftp://example.com/x", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "not a url", "event_types": ["*"]}),
            vec!["url"],
        ),
        (json!({"url": "", "event_types": ["*"]}), vec!["url"]),
        (json!({"url": long, "event_types": ["*"]}), vec!["url"]),
        (
            json!({"url": "http://127.0.0.1:8080/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://10.1.2.3/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://[::1]/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://[fe80::1]/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://100.64.0.1/", "event_types": ["*"]}),
            vec!["url"],
        ),
        // A name that resolves to loopback is refused as well.
        (
            json!({"url": "http://localhost:9000/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "https://example.com/", "event_types": []}),
            vec!["event_types"],
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["lead.created", "lead.exploded"]}),
            vec!["event_types[1]"],
        ),
        (
            json!({"url": "gopher://x", "event_types": ["nope"], "description": "d".repeat(501)}),
            vec!["url", "event_types[0]", "description"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(app.post("/webhooks", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    let listed = json_of(app.get("/webhooks", &admin).await).await;
    assert_eq!(listed["data"], json!([]), "nothing half-written");
    // A change is checked the same way.
    let hook = create_webhook(&app, &admin, "https://93.184.216.34/", &["*"]).await;
    let problem = assert_problem(
        app.patch(
            &format!("/webhooks/{}", id(&hook)),
            &admin,
            json!({"url": "http://192.168.1.1/"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["url"]);
    assert_problem(
        app.post("/webhooks", &admin, json!({"url": "https://example.com/"}))
            .await,
        422,
    )
    .await;
    assert_problem(
        app.post(
            "/webhooks",
            &admin,
            json!({"url": "https://example.com/", "event_types": ["*"], "secret": "mine"}),
        )
        .await,
        400,
    )
    .await;
}

both!(bad_webhook_input_is_422_naming_the_field);

async fn a_real_receiver_gets_signed_deliveries_in_order(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::Ok {
        delay: Duration::ZERO,
    })
    .await;
    let hook = create_webhook(
        &app,
        &admin,
        &receiver.url("/hook"),
        &["lead.created", "lead.updated"],
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let dispatcher = Dispatcher::start(&app, fast(true));
    let lead = created(&app, &admin, "/leads", json!({"last_name": "Doe"})).await;
    for name in ["Dough", "Dow", "Dao"] {
        ok(app
            .patch(
                &format!("/leads/{}", id(&lead)),
                &admin,
                json!({"last_name": name}),
            )
            .await)
        .await;
    }
    // Not subscribed: never delivered.
    created(&app, &admin, "/accounts", json!({"name": "Quiet"})).await;
    let got = receiver.wait_for(4, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = if receiver.count() > got.len() {
        receiver.received()
    } else {
        got
    };
    assert_eq!(got.len(), 4, "only the subscribed events");
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "lead.created",
            "lead.updated",
            "lead.updated",
            "lead.updated"
        ],
        "a record's events arrive in order"
    );
    let names: Vec<Value> = got[1..]
        .iter()
        .map(|r| r.json()["data"]["record"]["last_name"].clone())
        .collect();
    assert_eq!(names, [json!("Dough"), json!("Dow"), json!("Dao")]);
    for request in &got {
        let signature = request.header(SIGNATURE_HEADER).expect("signed");
        assert!(
            rivet_domain::events::verify_signature(secret.as_bytes(), &signature, &request.body),
            "the HMAC verifies: {signature}"
        );
        let t: i64 = signature[2..signature.find(',').unwrap()].parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - t).abs() < 60);
        let body = request.json();
        assert_eq!(
            request.header(EVENT_ID_HEADER),
            body["id"].as_str().map(str::to_owned)
        );
        assert_eq!(body["record_id"], lead["id"]);
        assert_eq!(body["company_id"], app.company_id.to_string());
        assert_eq!(body["actor"]["user_id"], admin.user_id.to_string());
        assert_eq!(
            request.header("content-type").as_deref(),
            Some("application/json")
        );
    }
    assert!(!rivet_domain::events::verify_signature(
        b"whsec_wrong",
        &got[0].header(SIGNATURE_HEADER).unwrap(),
        &got[0].body
    ));
    let log = wait_for_log(&app, &admin, &hook, "all delivered", |log| {
        log.len() == 4 && log.iter().all(|d| d["state"] == "delivered")
    })
    .await;
    assert!(
        log.iter()
            .all(|d| d["response_status"] == 200 && d["attempts"] == 1)
    );
    // The test button sends a `webhook.test` event.
    let test = app
        .post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
        .await;
    assert_eq!(test.status(), 202);
    let got = receiver.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(got[4].json()["type"], "webhook.test");
    assert!(rivet_domain::events::verify_signature(
        secret.as_bytes(),
        &got[4].header(SIGNATURE_HEADER).unwrap(),
        &got[4].body
    ));
    // Lag and delivery counts are in /metrics.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    if !metrics.contains("metrics are not enabled") {
        assert!(
            metrics.contains("rivet_events_pending{consumer=\"webhooks\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("rivet_events_delivered_total{consumer=\"webhooks\"}"),
            "{metrics}"
        );
    }
    dispatcher.stop().await;
}

both!(a_real_receiver_gets_signed_deliveries_in_order);

async fn a_failing_receiver_is_retried_until_it_answers(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::FailFirst(2)).await;
    let hook = create_webhook(&app, &admin, &receiver.url("/"), &["lead.created"]).await;
    // Pauses long enough that polling does not blur them.
    let mut options = fast(true);
    options.retry_base = Duration::from_millis(300);
    let dispatcher = Dispatcher::start(&app, options);
    created(&app, &admin, "/leads", json!({"last_name": "Retry"})).await;
    let log = wait_for_log(
        &app,
        &admin,
        &hook,
        "delivered on the third attempt",
        |log| log.first().is_some_and(|d| d["state"] == "delivered"),
    )
    .await;
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["response_status"], 200);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let ids: Vec<_> = got.iter().map(|r| r.header(EVENT_ID_HEADER)).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "the same event each time");
    // Exponential: the second wait is longer than the first.
    let first = got[1].at - got[0].at;
    let second = got[2].at - got[1].at;
    assert!(first >= Duration::from_millis(300), "{first:?}");
    assert!(second >= Duration::from_millis(600), "{second:?}");
    let hook = json_of(app.get(&format!("/webhooks/{}", id(&hook)), &admin).await).await;
    assert_eq!(
        hook["consecutive_failures"], 0,
        "a success resets the count"
    );
    dispatcher.stop().await;
}

both!(a_failing_receiver_is_retried_until_it_answers);

async fn a_hanging_receiver_is_cut_off_by_the_timeout_and_retried(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::HangFirst {
        n: 1,
        hang: Duration::from_secs(30),
    })
    .await;
    let hook = create_webhook(&app, &admin, &receiver.url("/"), &["*"]).await;
    let dispatcher = Dispatcher::start(&app, fast(true));
    let started = Instant::now();
    ok(app
        .post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
        .await)
    .await;
    let log = wait_for_log(&app, &admin, &hook, "delivered after the hang", |log| {
        log.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the 30 s hang was cut off"
    );
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(receiver.count(), 2);
    dispatcher.stop().await;

    // While it hangs, the log says why.
    let receiver = Receiver::start(Behaviour::HangFirst {
        n: 100,
        hang: Duration::from_secs(30),
    })
    .await;
    let hook = create_webhook(&app, &admin, &receiver.url("/"), &["*"]).await;
    let dispatcher = Dispatcher::start(&app, fast(true));
    app.post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
        .await;
    let log = wait_for_log(&app, &admin, &hook, "a timeout is logged", |log| {
        log.first().is_some_and(|d| d["last_error"].is_string())
    })
    .await;
    assert!(
        log[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer within 1 s"),
        "{log:?}"
    );
    assert_eq!(log[0]["state"], "pending");
    dispatcher.stop().await;
}

both!(a_hanging_receiver_is_cut_off_by_the_timeout_and_retried);

/// Saved while private addresses were allowed, then sent by a dispatcher that does not allow
/// them: refused at delivery, by literal and by resolved name, and the log says why.
async fn private_addresses_are_refused_at_delivery_time(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::Ok {
        delay: Duration::ZERO,
    })
    .await;
    let literal = create_webhook(&app, &admin, &receiver.url("/"), &["*"]).await;
    let named = create_webhook(
        &app,
        &admin,
        &format!("http://localhost:{}/", receiver.addr.port()),
        &["*"],
    )
    .await;
    let dispatcher = Dispatcher::start(&app, fast(false));
    for hook in [&literal, &named] {
        app.post(&format!("/webhooks/{}/test", id(hook)), &admin, json!({}))
            .await;
    }
    let log = wait_for_log(&app, &admin, &literal, "refused by literal", |log| {
        log.first().is_some_and(|d| d["last_error"].is_string())
    })
    .await;
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("loopback"),
        "{error}"
    );
    let log = wait_for_log(&app, &admin, &named, "refused by name", |log| {
        log.first().is_some_and(|d| d["last_error"].is_string())
    })
    .await;
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("localhost resolves to") && error.contains("RIVET_WEBHOOK_ALLOW_PRIVATE"),
        "{error}"
    );
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(receiver.count(), 0, "nothing reached the private address");
    dispatcher.stop().await;
}

both!(private_addresses_are_refused_at_delivery_time);

async fn redirects_are_not_followed(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let inside = Receiver::start(Behaviour::Ok {
        delay: Duration::ZERO,
    })
    .await;
    let redirector = Receiver::start(Behaviour::Redirect(inside.url("/metadata"))).await;
    let hook = create_webhook(&app, &admin, &redirector.url("/"), &["*"]).await;
    let dispatcher = Dispatcher::start(&app, fast(true));
    app.post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
        .await;
    let log = wait_for_log(&app, &admin, &hook, "the redirect is logged", |log| {
        log.first().is_some_and(|d| d["response_status"] == 302)
    })
    .await;
    assert!(
        log[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{log:?}"
    );
    assert_eq!(log[0]["state"], "pending");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inside.count(), 0, "the redirect target was never called");
    assert!(redirector.count() >= 1);
    dispatcher.stop().await;
}

both!(redirects_are_not_followed);

async fn a_webhook_failing_ten_times_in_a_row_is_turned_off(db: Db) {
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let hook = create_webhook(&app, &admin, &receiver.url("/"), &["*"]).await;
    let mut options = fast(true);
    options.retry_base = Duration::from_millis(5);
    let dispatcher = Dispatcher::start(&app, options);
    app.post(&format!("/webhooks/{}/test", id(&hook)), &admin, json!({}))
        .await;
    let path = format!("/webhooks/{}", id(&hook));
    let deadline = Instant::now() + Duration::from_secs(60);
    let turned_off = loop {
        let current = json_of(app.get(&path, &admin).await).await;
        if current["active"] == false {
            break current;
        }
        assert!(Instant::now() < deadline, "never turned off: {current}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(turned_off["consecutive_failures"], 10);
    assert!(
        turned_off["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("10 failed deliveries"),
        "{turned_off}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.count(),
        10,
        "nothing is sent to a webhook that is off"
    );
    let audit = json_of(
        app.get(
            &format!(
                "/audit?resource=webhooks&resource_id={}&action=disable",
                id(&hook)
            ),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1);
    // Turned on again, it starts from zero.
    let on = ok(app.patch(&path, &admin, json!({"active": true})).await).await;
    assert_eq!(on["consecutive_failures"], 0);
    assert!(on["disabled_reason"].is_null());
    dispatcher.stop().await;
}

both!(a_webhook_failing_ten_times_in_a_row_is_turned_off);

/// Polling with nothing to do only reads: while another transaction holds SQLite's write lock
/// (or, on PostgreSQL, locks the dispatcher's tables against every writer and row lock), an idle
/// dispatcher's steps — numbering, the webhooks consumer, the sender's claim — answer at once.
async fn an_idle_dispatcher_takes_no_write_lock(db: Db) {
    use rivet_store::sea_orm::ConnectionTrait;
    use rivet_store::{events as store_events, webhooks};
    let app = app_allowing_private(db).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Behaviour::Ok {
        delay: Duration::ZERO,
    })
    .await;
    create_webhook(&app, &admin, &receiver.url("/hook"), &["lead.created"]).await;
    created(&app, &admin, "/leads", json!({"last_name": "Idle"})).await;
    let dispatcher = Dispatcher::start(&app, fast(true));
    receiver.wait_for(1, Duration::from_secs(20)).await;
    dispatcher.stop().await;

    let store = &app.state.store;
    let holder = store.write_system().await.unwrap();
    if db == Db::Postgres {
        holder
            .conn()
            .execute_unprepared(
                "LOCK TABLE outbox, event_positions, webhook_deliveries IN EXCLUSIVE MODE",
            )
            .await
            .unwrap();
    }
    // Below SQLite's 10 s busy timeout (a step that wanted the write lock would still be
    // waiting), above what a plain read takes on a loaded machine running the whole suite.
    let at_once = Duration::from_secs(8);
    let numbered = tokio::time::timeout(at_once, store_events::sequence(store, 500))
        .await
        .expect("numbering nothing waited for the write lock")
        .unwrap();
    assert_eq!(numbered, 0);
    let applied = tokio::time::timeout(
        at_once,
        store_events::consume(store, &webhooks::WebhookConsumer, 500),
    )
    .await
    .expect("consuming nothing waited for the write lock")
    .unwrap();
    assert_eq!(applied, Some(0));
    let claimed = tokio::time::timeout(
        at_once,
        webhooks::claim_due(store, "idle-test", Duration::from_secs(5), 64),
    )
    .await
    .expect("claiming nothing waited for the write lock")
    .unwrap();
    assert!(claimed.is_empty());
    drop(holder);
    // The lock released, work is still found: a new event is numbered (on SQLite as it is
    // written), applied and claimed.
    created(&app, &admin, "/leads", json!({"last_name": "Busy"})).await;
    store_events::sequence(store, 500).await.unwrap();
    assert!(
        store_events::consume(store, &webhooks::WebhookConsumer, 500)
            .await
            .unwrap()
            .is_some_and(|n| n >= 1)
    );
    let claimed = webhooks::claim_due(store, "idle-test", Duration::from_secs(5), 64)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
}

both!(an_idle_dispatcher_takes_no_write_lock);

/// Under a stream of commits the dispatcher waits out `coalesce` between rounds, so one round
/// serves many commits; a commit after a quiet spell is served at once.
async fn dispatch_rounds_are_coalesced(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let pending = || async {
        rivet_store::events::lag(store)
            .await
            .unwrap()
            .iter()
            .find(|l| l.consumer == rivet_store::webhooks::CONSUMER)
            .map_or(i64::MAX, |l| l.pending)
    };
    let wait_until_consumed = |within: Duration| async move {
        let deadline = Instant::now() + within;
        while pending().await > 0 {
            assert!(Instant::now() < deadline, "not consumed within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let coalesce = Duration::from_secs(2);
    let dispatcher = Dispatcher::start(
        &app,
        DispatchOptions {
            poll_interval: Duration::from_secs(30),
            coalesce,
            ..fast(false)
        },
    );
    // Whatever the start-up wrote, consumed; then a quiet spell: the round after the one that
    // consumed it (`coalesce` later) finds nothing, and `coalesce` after that one the next
    // commit is served at once.
    wait_until_consumed(Duration::from_secs(20)).await;
    tokio::time::sleep(coalesce * 2 + Duration::from_millis(500)).await;

    created(&app, &admin, "/leads", json!({"last_name": "Quiet"})).await;
    let first = Instant::now();
    wait_until_consumed(coalesce * 3 / 4).await;
    created(&app, &admin, "/leads", json!({"last_name": "Soon after"})).await;
    tokio::time::sleep(coalesce / 2).await;
    assert!(
        pending().await > 0 || first.elapsed() >= coalesce,
        "a round ran within {coalesce:?} of the last"
    );
    wait_until_consumed(coalesce + Duration::from_secs(5)).await;
    dispatcher.stop().await;
}

both!(dispatch_rounds_are_coalesced);
