//! E-mail sequences (issue 15 §3) through a real SMTP server the test starts
//! (`rivet_tests::smtp`) and the runner the workers run (`rivet_server::sequences::run_due`,
//! called here round by round): a sequence is checked against the company's templates; an
//! enrolled lead gets the step's e-mail rendered for it, on its timeline; a step is sent once
//! even when a runner dies between the send and the move on; waits and the send window move
//! the next step's time; a status change stops an enrollment; an SMTP server that refuses
//! is retried with the reason shown; records that cannot be enrolled are skipped with the
//! reason; another company's sequences and records are not found; who may do what; the
//! per-step figures after real sends, opens, clicks, replies and bounces; enrolling what a
//! saved view or a filter lists, in the caller's scope, and no more than the cap.

use crate::accounts::id;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app_with};
use uuid::Uuid;

async fn app(db: Db) -> TestApp {
    spawn_app_with(db, |c| c.smtp_timeout_secs = 2).await
}

pub(crate) async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body.clone()).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path} {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

pub(crate) async fn ok(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body.clone()).await;
    assert_eq!(
        response.status(),
        200,
        "POST {path} {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

/// E-mail through `sink`, a template for leads and a lead with an address.
async fn setup(app: &TestApp, admin: &Session, sink: &SmtpSink) -> (Value, Value) {
    let template = mail_setup(app, admin, sink).await;
    let lead = create(
        app,
        admin,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
    )
    .await;
    (template, lead)
}

/// E-mail through `sink` and a template for leads (`Hello {{ lead.first_name }}`).
pub(crate) async fn mail_setup(app: &TestApp, admin: &Session, sink: &SmtpSink) -> Value {
    let response = app
        .put(
            "/settings/email",
            admin,
            json!({
                "enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": "none",
                "allow_plaintext": true, "from_name": "Acme Sales",
                "from_address": "sales@acme.test",
            }),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    create(
        app,
        admin,
        "/email-templates",
        json!({
            "name": "Intro",
            "record_type": "lead",
            "subject": "Hello {{ lead.first_name }}",
            "text": "Hi {{ lead.first_name }}, {{ owner.name }} here.",
        }),
    )
    .await
}

/// A sequence whose window is always open: `steps` as given.
pub(crate) fn sequence(name: &str, steps: Value) -> Value {
    json!({
        "name": name,
        "enrolls": "lead",
        "steps": steps,
        "window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                   "start": "00:00", "end": "23:59"},
    })
}

/// A sequence of one e-mail step sending `template`.
async fn one_email(app: &TestApp, admin: &Session, template: &Value, name: &str) -> Value {
    let steps = json!([{"type": "email", "template_id": id(template)}]);
    create(app, admin, "/sequences", sequence(name, steps)).await
}

/// Enroll `record` in `seq` as `who`: what came of it.
pub(crate) async fn enroll(app: &TestApp, who: &Session, seq: &Value, record: &Value) -> Value {
    let path = format!("/sequences/{}/enrollments", id(seq));
    ok(app, who, &path, json!({"record_ids": [id(record)]})).await
}

pub(crate) async fn run(app: &TestApp) -> usize {
    rivet_server::sequences::run_due(&app.state, "test-runner", 100)
        .await
        .expect("a runner round")
}

pub(crate) async fn enrollments(app: &TestApp, who: &Session, seq: &Value) -> Vec<Value> {
    let page = json_of(
        app.get(&format!("/sequences/{}/enrollments", id(seq)), who)
            .await,
    )
    .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Make every live enrollment due now, its lease gone (a runner that died).
pub(crate) async fn make_due(app: &TestApp) {
    app.sql(
        "UPDATE sequence_enrollments SET next_step_at = created_at, locked_by = NULL, locked_until = NULL",
        vec![],
    )
    .await;
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a time: {v}"))
}

async fn a_step_is_sent_once_rendered_and_on_the_timeline(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "Welcome",
            json!([
                {"type": "email", "template_id": id(&template)},
                {"type": "wait", "business_days": 2},
                {"type": "email", "template_id": id(&template)},
            ]),
        ),
    )
    .await;
    assert_eq!(seq["steps"].as_array().unwrap().len(), 3);
    assert_eq!(
        seq["stop"]["on_status"],
        json!(["converted", "unqualified"])
    );

    let outcome = enroll(&app, &admin, &seq, &lead).await;
    assert_eq!(outcome["enrolled"], 1, "{outcome}");
    assert_eq!(outcome["results"][0]["outcome"], "enrolled");

    assert_eq!(run(&app).await, 1);
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].to, ["ann@example.com"]);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Hello Ann"));
    assert!(got[0].body().contains("Hi Ann,"), "{}", got[0].body());

    // On the lead's timeline, as an outgoing e-mail.
    let timeline = json_of(
        app.get(&format!("/leads/{}/timeline", id(&lead)), &admin)
            .await,
    )
    .await;
    assert!(
        timeline["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["subject"] == "Hello Ann" && e["data"]["direction"] == "outbound"),
        "{timeline}"
    );

    // The wait is folded in: the next e-mail (step 2) two business days on.
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "active");
    assert_eq!(e["step"], 2);
    let next = time(&e["next_step_at"]);
    assert!(
        next > chrono::Utc::now() + chrono::Duration::hours(47),
        "{e}"
    );
    assert_eq!(run(&app).await, 0, "nothing is due");

    // A runner that died after the SMTP server took step 0 but before moving on: the step is
    // run again, finds its message and does not send it a second time.
    app.sql(
        "UPDATE sequence_enrollments SET step = 0, next_step_at = created_at",
        vec![],
    )
    .await;
    assert_eq!(run(&app).await, 1);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(enrollments(&app, &admin, &seq).await[0]["step"], 2);
    // The daily count, taken before the message is claimed, is given back when the claim
    // finds the message already sent: one message, one counted.
    let rows = app
        .sql("SELECT SUM(sent) FROM email_daily_counts", vec![])
        .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 1);

    // The second e-mail when it is due; then the enrollment is finished.
    make_due(&app).await;
    assert_eq!(run(&app).await, 1);
    assert_eq!(sink.wait_for(2).await.len(), 2);
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "finished", "{e}");
    make_due(&app).await;
    assert_eq!(run(&app).await, 0);
    assert_eq!(sink.messages().len(), 2);
    let rows = app.sql("SELECT COUNT(*) FROM sequence_sends", vec![]).await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 2);
    let rows = app
        .sql(
            "SELECT COUNT(*) FROM activities WHERE kind = 'email' AND direction = 'outbound'",
            vec![],
        )
        .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 2);

    // Finished: it may be enrolled again.
    let again = enroll(&app, &admin, &seq, &lead).await;
    assert_eq!(again["enrolled"], 1);
}

async fn records_that_cannot_be_enrolled_are_skipped_with_the_reason(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let seq = one_email(&app, &admin, &template, "Skips").await;
    let no_email = create(&app, &admin, "/leads", json!({"last_name": "Nomail"})).await;
    // A lead whose address belongs to a contact who withdrew consent.
    let opted = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Opted", "email": "out@example.com"}),
    )
    .await;
    let out = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Out", "email": "out@example.com", "email_consent": true}),
    )
    .await;
    let withdrawn = app
        .patch(
            &format!("/contacts/{}", id(&out)),
            &admin,
            json!({"email_consent": false}),
        )
        .await;
    assert_eq!(withdrawn.status(), 200);
    let contact_id: Uuid = Uuid::now_v7();
    let path = format!("/sequences/{}/enrollments", id(&seq));
    ok(&app, &admin, &path, json!({"record_ids": [id(&lead)]})).await;
    let outcome = ok(
        &app,
        &admin,
        &path,
        json!({"record_ids": [id(&lead), id(&no_email), id(&opted), contact_id]}),
    )
    .await;
    let reasons: Vec<&str> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        reasons,
        [
            "already_enrolled",
            "no_email",
            "consent_withdrawn",
            "not_found"
        ],
        "{outcome}"
    );
    assert_eq!(outcome["enrolled"], 0);
    assert_eq!(outcome["skipped"], 4);

    // Bad bodies: no ids, too many, unknown fields, not a uuid.
    let problem = assert_problem(
        app.post(&path, &admin, json!({"record_ids": []})).await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["record_ids"]);
    let many: Vec<String> = (0..1001).map(|_| Uuid::now_v7().to_string()).collect();
    assert_problem(
        app.post(&path, &admin, json!({"record_ids": many})).await,
        422,
    )
    .await;
    assert_problem(
        app.post(&path, &admin, json!({"record_ids": [], "x": 1}))
            .await,
        400,
    )
    .await;
    assert_problem(
        app.post(&path, &admin, json!({"record_ids": ["nope"]}))
            .await,
        422,
    )
    .await;

    // A sequence switched off enrolls nobody.
    let mut off = seq.clone();
    for key in ["id", "created_at", "updated_at"] {
        off.as_object_mut().unwrap().remove(key);
    }
    off["active"] = json!(false);
    let response = app
        .put(&format!("/sequences/{}", id(&seq)), &admin, off)
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_problem(
        app.post(&path, &admin, json!({"record_ids": [id(&no_email)]}))
            .await,
        409,
    )
    .await;
}

async fn a_sequence_names_its_bad_templates(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, _) = setup(&app, &admin, &sink).await;
    let for_contacts = create(
        &app,
        &admin,
        "/email-templates",
        json!({"name": "C", "record_type": "contact", "subject": "Hi", "text": "Hi"}),
    )
    .await;
    let problem = assert_problem(
        app.post(
            "/sequences",
            &admin,
            sequence(
                "Bad",
                json!([
                    {"type": "email", "template_id": Uuid::now_v7()},
                    {"type": "email", "template_id": id(&for_contacts)},
                    {"type": "email", "template_id": id(&template)},
                ]),
            ),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields_of(&problem),
        ["steps[0].template_id", "steps[1].template_id"]
    );
    let problem = assert_problem(
        app.post("/sequences", &admin, sequence("Empty", json!([])))
            .await,
        422,
    )
    .await;
    assert!(fields_of(&problem).contains(&"steps".to_owned()));
}

async fn the_window_and_a_task_step_set_the_times(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    // A window that is never open now: only the day after tomorrow's weekday.
    let today = chrono::Utc::now().date_naive();
    let later = today + chrono::Duration::days(2);
    let day = later.format("%a").to_string().to_lowercase();
    let mut body = sequence(
        "Window",
        json!([
            {"type": "task", "subject": "Call them", "due_in_business_days": 1},
            {"type": "email", "template_id": id(&template)},
        ]),
    );
    body["window"] = json!({"days": [day], "start": "10:00", "end": "11:00"});
    let seq = create(&app, &admin, "/sequences", body).await;
    enroll(&app, &admin, &seq, &lead).await;
    // The task step runs at once: a task for the lead's owner about the lead.
    assert_eq!(run(&app).await, 1);
    let rows = app
        .sql(
            "SELECT COUNT(*) FROM tasks WHERE subject = 'Call them'",
            vec![],
        )
        .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 1);
    // The e-mail waits for the window: 10:00 UTC (the company's zone) that day.
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["step"], 1);
    let expected = later.and_hms_opt(10, 0, 0).unwrap().and_utc();
    assert_eq!(time(&e["next_step_at"]), expected, "{e}");
    // Due by hand but outside the window: postponed again, nothing sent.
    make_due(&app).await;
    assert_eq!(run(&app).await, 1);
    assert!(sink.messages().is_empty());
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(time(&e["next_step_at"]), expected, "{e}");
}

async fn a_status_change_stops_and_people_pause_resume_and_stop(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let store = &app.state.store;
    for consumer in [
        rivet_store::events::SEQUENCER,
        rivet_store::sequences::CONSUMER,
    ] {
        rivet_store::events::ensure_position(store, consumer)
            .await
            .unwrap();
    }
    let seq = one_email(&app, &admin, &template, "Stops").await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    let other = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Bo", "last_name": "Ek", "email": "bo@example.com"}),
    )
    .await;
    ok(
        &app,
        &admin,
        &path,
        json!({"record_ids": [id(&lead), id(&other)]}),
    )
    .await;

    // Pause: the step does not run; resume: it does.
    let list = enrollments(&app, &admin, &seq).await;
    let bo = list.iter().find(|e| e["record_id"] == other["id"]).unwrap();
    let paused = ok(&app, &admin, &format!("{path}/{}/pause", id(bo)), json!({})).await;
    assert_eq!(paused["status"], "paused");
    assert_problem(
        app.post(&format!("{path}/{}/pause", id(bo)), &admin, json!({}))
            .await,
        409,
    )
    .await;

    // Ann becomes unqualified: her enrollment stops.
    let response = app
        .patch(
            &format!("/leads/{}", id(&lead)),
            &admin,
            json!({"status": "unqualified", "status_reason": "No budget"}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    rivet_store::events::sequence(store, 1000).await.unwrap();
    let consumer = rivet_store::sequences::SequenceStopper;
    rivet_store::events::consume(store, &consumer, 1000)
        .await
        .unwrap();
    assert_eq!(run(&app).await, 0, "stopped and paused ones do not run");
    let stopped = json_of(app.get(&format!("{path}?status=stopped"), &admin).await).await;
    assert_eq!(stopped["data"][0]["record_id"], lead["id"], "{stopped}");
    assert_eq!(stopped["data"][0]["stop_reason"], "status");
    assert!(sink.messages().is_empty());

    let resumed = ok(
        &app,
        &admin,
        &format!("{path}/{}/resume", id(bo)),
        json!({}),
    )
    .await;
    assert_eq!(resumed["status"], "active");
    assert_eq!(run(&app).await, 1);
    assert_eq!(sink.wait_for(1).await[0].to, ["bo@example.com"]);

    // Finished, Bo is enrolled again; a reply logged on his record stops it.
    let again = ok(&app, &admin, &path, json!({"record_ids": [id(&other)]})).await;
    assert_eq!(again["enrolled"], 1, "{again}");
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "email", "direction": "inbound", "subject": "Re: Hello Bo",
               "links": [{"record_type": "lead", "record_id": id(&other)}]}),
    )
    .await;
    rivet_store::events::sequence(store, 1000).await.unwrap();
    rivet_store::events::consume(store, &consumer, 1000)
        .await
        .unwrap();
    let stopped = json_of(app.get(&format!("{path}?status=stopped"), &admin).await).await;
    let reasons: Vec<&str> = stopped["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["stop_reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["replied", "status"], "{stopped}");

    // Stopped by hand: 409 to stop again.
    let eid = again["results"][0]["enrollment_id"].as_str().unwrap();
    assert_problem(
        app.post(&format!("{path}/{eid}/stop"), &admin, json!({}))
            .await,
        409,
    )
    .await;
    assert_problem(
        app.post(
            &format!("{path}/{}/stop", Uuid::now_v7()),
            &admin,
            json!({}),
        )
        .await,
        404,
    )
    .await;
}

async fn a_refusing_server_is_retried_with_the_reason_shown(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::RejectRecipient).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let seq = one_email(&app, &admin, &template, "Retry").await;
    enroll(&app, &admin, &seq, &lead).await;
    assert_eq!(run(&app).await, 1);
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "active");
    assert_eq!(e["step"], 0);
    assert_eq!(e["attempts"], 1);
    let error = e["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("refused the recipient"), "{e}");
    assert!(time(&e["next_step_at"]) > chrono::Utc::now(), "{e}");
    assert_eq!(run(&app).await, 0, "not before the retry's time");

    // The server takes it now: the retry sends it once.
    sink.set_mode(Mode::Accept);
    make_due(&app).await;
    assert_eq!(run(&app).await, 1);
    assert_eq!(sink.wait_for(1).await.len(), 1);
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "finished", "{e}");
    assert_eq!(e["attempts"], 0);
    assert!(e["last_error"].is_null());
}

async fn other_companies_and_roles_are_kept_out(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let seq = one_email(&app, &admin, &template, "Ours").await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    let outcome = ok(&app, &admin, &path, json!({"record_ids": [id(&lead)]})).await;
    let eid = outcome["results"][0]["enrollment_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let other = app.other_company("Globex").await;
    assert_problem(
        app.get(&format!("/sequences/{}", id(&seq)), &other).await,
        404,
    )
    .await;
    assert_problem(app.get(&path, &other).await, 404).await;
    assert_problem(
        app.post(&path, &other, json!({"record_ids": [id(&lead)]}))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.post(&format!("{path}/{eid}/stop"), &other, json!({}))
            .await,
        404,
    )
    .await;
    // Their own sequence cannot reach our lead or our template.
    let problem = assert_problem(
        app.post(
            "/sequences",
            &other,
            sequence(
                "Theirs",
                json!([{"type": "email", "template_id": id(&template)}]),
            ),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["steps[0].template_id"]);

    // A sales rep reads sequences and enrolls the leads they may read, but does not change
    // sequences; read-only members do neither.
    let rep = app.member(&admin, "sales").await;
    assert_eq!(app.get("/sequences", &rep).await.status(), 200);
    assert_problem(
        app.post(
            "/sequences",
            &rep,
            sequence(
                "Rep's",
                json!([{"type": "email", "template_id": id(&template)}]),
            ),
        )
        .await,
        403,
    )
    .await;
    let theirs = ok(&app, &rep, &path, json!({"record_ids": [id(&lead)]})).await;
    assert_eq!(theirs["results"][0]["reason"], "not_found", "{theirs}");
    let viewer = app.member(&admin, "read_only").await;
    assert_problem(app.get(&path, &viewer).await, 403).await;
    assert_problem(
        app.post(&path, &viewer, json!({"record_ids": [id(&lead)]}))
            .await,
        403,
    )
    .await;

    // A template a sequence sends is not deleted.
    assert_problem(
        app.delete(&format!("/email-templates/{}", id(&template)), &admin)
            .await,
        409,
    )
    .await;

    // Deleting the sequence takes its enrollments with it.
    let response = app
        .delete(&format!("/sequences/{}", id(&seq)), &admin)
        .await;
    assert_eq!(response.status(), 204);
    let rows = app
        .sql("SELECT COUNT(*) FROM sequence_enrollments", vec![])
        .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 0);
}

/// The sequence's figures (`GET /sequences/{id}/stats`).
async fn stats(app: &TestApp, who: &Session, seq: &Value) -> Value {
    let response = app.get(&format!("/sequences/{}/stats", id(seq)), who).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

async fn stats_count_what_each_step_sent_and_what_became_of_it(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (_, ann) = setup(&app, &admin, &sink).await;
    let bo = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Bo", "last_name": "Ek", "email": "bo@example.com"}),
    )
    .await;
    let html = create(
        &app,
        &admin,
        "/email-templates",
        json!({
            "name": "With a link",
            "record_type": "lead",
            "subject": "Hello {{ lead.first_name }}",
            "text": "Hi {{ lead.first_name }}",
            "html": "<p>Hi {{ lead.first_name }}, our <a href=\"https://example.com/prices\">prices</a>.</p>",
        }),
    )
    .await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "Figures",
            json!([
                {"type": "email", "template_id": id(&html)},
                {"type": "wait", "business_days": 1},
                {"type": "email", "template_id": id(&html)},
            ]),
        ),
    )
    .await;
    // Before anything: every step, zeros.
    let empty = stats(&app, &admin, &seq).await;
    assert_eq!(
        empty,
        json!({
            "steps": [
                {"step": 0, "type": "email", "sent": 0, "opened": 0, "clicked": 0, "replied": 0, "bounced": 0},
                {"step": 1, "type": "wait", "sent": 0, "opened": 0, "clicked": 0, "replied": 0, "bounced": 0},
                {"step": 2, "type": "email", "sent": 0, "opened": 0, "clicked": 0, "replied": 0, "bounced": 0},
            ],
            "enrollments": {"active": 0, "paused": 0, "finished": 0, "stopped": 0},
        })
    );

    let path = format!("/sequences/{}/enrollments", id(&seq));
    ok(
        &app,
        &admin,
        &path,
        json!({"record_ids": [id(&ann), id(&bo)]}),
    )
    .await;
    assert_eq!(run(&app).await, 2);
    let mails = sink.wait_for(2).await;
    let mail_to = |to: &str| {
        mails
            .iter()
            .find(|m| m.to == [to])
            .cloned()
            .unwrap_or_else(|| panic!("a message to {to}"))
    };
    let (to_ann, to_bo) = (mail_to("ann@example.com"), mail_to("bo@example.com"));

    // Ann opens hers twice (one message opened); Bo clicks his link; through the real links.
    let fetch = |path: String| {
        let app = &app;
        async move { app.client.get(app.url(&path)).send().await.unwrap() }
    };
    let open = crate::tracking::tokens(&to_ann, 'o');
    for _ in 0..2 {
        assert_eq!(fetch(format!("/t/o/{}", open[0])).await.status(), 200);
    }
    let click = crate::tracking::tokens(&to_bo, 'c');
    let clicked = fetch(format!("/t/c/{}", click[0])).await;
    assert!(clicked.status().is_redirection() || clicked.status().is_success());

    // Ann replies, Bo's bounces: through the signed inbound endpoint.
    let (secret, company) = crate::tracking::rotate(&app, &admin).await;
    let id_of = |m: &rivet_tests::smtp::Message| m.header("Message-ID").unwrap();
    let reply = crate::tracking::reply(&id_of(&to_ann), "r1");
    let response = crate::tracking::post_inbound(&app, &company, &secret, &reply).await;
    assert_eq!(response.status(), 202);
    let bounce = crate::tracking::bounce(&id_of(&to_bo));
    let response = crate::tracking::post_inbound(&app, &company, &secret, &bounce).await;
    assert_eq!(response.status(), 202);

    let list = enrollments(&app, &admin, &seq).await;
    let bo_enrollment = list.iter().find(|e| e["record_id"] == bo["id"]).unwrap();
    ok(
        &app,
        &admin,
        &format!("{path}/{}/pause", id(bo_enrollment)),
        json!({}),
    )
    .await;

    let figures = stats(&app, &admin, &seq).await;
    assert_eq!(
        figures["steps"][0],
        json!({"step": 0, "type": "email", "sent": 2, "opened": 1, "clicked": 1, "replied": 1, "bounced": 1}),
        "{figures}"
    );
    assert_eq!(figures["steps"][2]["sent"], 0, "{figures}");
    assert_eq!(
        figures["enrollments"],
        json!({"active": 1, "paused": 1, "finished": 0, "stopped": 0})
    );

    // Members who read sequences see them; others, and other companies, do not.
    let rep = app.member(&admin, "sales").await;
    assert_eq!(stats(&app, &rep, &seq).await, figures);
    let viewer = app.member(&admin, "read_only").await;
    assert_problem(
        app.get(&format!("/sequences/{}/stats", id(&seq)), &viewer)
            .await,
        403,
    )
    .await;
    let other = app.other_company("Globex").await;
    assert_problem(
        app.get(&format!("/sequences/{}/stats", id(&seq)), &other)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/sequences/{}/stats", Uuid::now_v7()), &admin)
            .await,
        404,
    )
    .await;
}

fn reasons_by_record(outcome: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_id"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("enrolled").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn a_view_or_a_filter_enrolls_what_it_lists_for_the_caller(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, ann) = setup(&app, &admin, &sink).await;
    let seq = one_email(&app, &admin, &template, "Webinar").await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    let webinar = |last: &str, email: Option<&str>| json!({"last_name": last, "email": email, "source": "webinar"});
    let bo = create(
        &app,
        &admin,
        "/leads",
        webinar("Bo", Some("bo@example.com")),
    )
    .await;
    let cy = create(&app, &admin, "/leads", webinar("Cy", None)).await;
    let rep = app.member(&admin, "sales").await;
    let dee = create(
        &app,
        &rep,
        "/leads",
        webinar("Dee", Some("dee@example.com")),
    )
    .await;

    // A sales rep's filter lists only the leads they may read: theirs.
    let theirs = ok(&app, &rep, &path, json!({"filter": "source=webinar"})).await;
    assert_eq!(
        reasons_by_record(&theirs),
        [(id(&dee).to_owned(), "enrolled".to_owned())],
        "{theirs}"
    );
    // The admin's lists every one: enrolled, skipped without an address, already enrolled.
    let all = ok(
        &app,
        &admin,
        &path,
        json!({"filter": "?source=webinar&sort=last_name"}),
    )
    .await;
    let mut expected = vec![
        (id(&bo).to_owned(), "enrolled".to_owned()),
        (id(&cy).to_owned(), "no_email".to_owned()),
        (id(&dee).to_owned(), "already_enrolled".to_owned()),
    ];
    expected.sort();
    assert_eq!(reasons_by_record(&all), expected, "{all}");
    assert_eq!(all["enrolled"], 1);
    assert_eq!(all["skipped"], 2);

    // A saved view of leads: what it lists.
    let second = one_email(&app, &admin, &template, "Second").await;
    let second_path = format!("/sequences/{}/enrollments", id(&second));
    let view = create(
        &app,
        &admin,
        "/views",
        json!({"resource": "leads", "name": "Ann", "query": "q=Ann"}),
    )
    .await;
    let by_view = ok(&app, &admin, &second_path, json!({"view_id": id(&view)})).await;
    assert_eq!(
        reasons_by_record(&by_view),
        [(id(&ann).to_owned(), "enrolled".to_owned())],
        "{by_view}"
    );

    // Someone else's view, another company's, or a view of another list: 422 on view_id,
    // nothing enrolled.
    let before = app
        .sql("SELECT COUNT(*) FROM sequence_enrollments", vec![])
        .await[0]
        .try_get_by_index::<i64>(0)
        .unwrap();
    let problem = assert_problem(
        app.post(&second_path, &rep, json!({"view_id": id(&view)}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["view_id"]);
    let other = app.other_company("Globex").await;
    let foreign = create(
        &app,
        &other,
        "/views",
        json!({"resource": "leads", "name": "All", "query": "sort=last_name"}),
    )
    .await;
    let problem = assert_problem(
        app.post(&second_path, &admin, json!({"view_id": id(&foreign)}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["view_id"]);
    assert_problem(
        app.post(&second_path, &other, json!({"filter": "source=webinar"}))
            .await,
        404,
    )
    .await;
    let contacts_view = create(
        &app,
        &admin,
        "/views",
        json!({"resource": "contacts", "name": "Everyone", "query": "sort=last_name"}),
    )
    .await;
    let problem = assert_problem(
        app.post(&second_path, &admin, json!({"view_id": id(&contacts_view)}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["view_id"]);

    // Bad bodies: none or two of the three, a filter the list refuses, paging in a filter,
    // an unknown field.
    for (body, field) in [
        (json!({}), "record_ids"),
        (
            json!({"record_ids": [id(&bo)], "filter": "source=webinar"}),
            "record_ids",
        ),
        (json!({"filter": "colour=blue"}), "filter"),
        (json!({"filter": "source=webinar&limit=5"}), "filter"),
        (json!({"view_id": "not-an-id"}), "view_id"),
    ] {
        let problem = assert_problem(app.post(&second_path, &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
    }
    assert_problem(
        app.post(&second_path, &admin, json!({"filter": "", "x": 1}))
            .await,
        400,
    )
    .await;
    let after = app
        .sql("SELECT COUNT(*) FROM sequence_enrollments", vec![])
        .await[0]
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(after, before);
}

/// Copy lead `id` `copies` times with one `INSERT … SELECT` over a counter (what the API would
/// take minutes to create): the copies are the lead's company's, owner's and name's.
async fn copy_lead(app: &TestApp, id: &str, copies: usize) {
    let new_id = match app.db {
        Db::Sqlite => "randomblob(16)",
        Db::Postgres => "gen_random_uuid()",
    };
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         INSERT INTO leads (company_id, id, first_name, last_name, status, owner_id, tags, \
                            custom_fields, created_by, created_at, updated_at) \
         SELECT l.company_id, {new_id}, l.first_name, l.last_name, l.status, l.owner_id, \
                l.tags, l.custom_fields, l.created_by, l.created_at, l.updated_at \
         FROM leads l, n WHERE l.id = ?"
    );
    let id: Uuid = id.parse().unwrap();
    app.sql(&sql, vec![i64::try_from(copies).unwrap().into(), id.into()])
        .await;
}

/// A filter or a saved view that lists one lead more than an enrollment takes
/// (`MAX_SELECTED`) is a 422 naming it, and nothing is enrolled.
async fn a_selection_over_the_cap_is_refused_naming_the_field(db: Db) {
    use rivet_server::api::sequences::MAX_SELECTED;
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (template, lead) = setup(&app, &admin, &sink).await;
    let seq = one_email(&app, &admin, &template, "Everyone").await;
    copy_lead(&app, &id(&lead), MAX_SELECTED).await;
    let count = app.sql("SELECT COUNT(*) FROM leads", vec![]).await[0]
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(count, i64::try_from(MAX_SELECTED + 1).unwrap());
    let view = create(
        &app,
        &admin,
        "/views",
        json!({"resource": "leads", "name": "All", "query": "sort=last_name"}),
    )
    .await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    for (body, field) in [
        (json!({"filter": ""}), "filter"),
        (json!({"filter": "status=new"}), "filter"),
        (json!({"view_id": id(&view)}), "view_id"),
    ] {
        let problem = assert_problem(app.post(&path, &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("more than {MAX_SELECTED} leads")),
            "{body}: {problem}"
        );
    }
    assert!(enrollments(&app, &admin, &seq).await.is_empty());
}

/// A one-step sequence with one lead enrolled, and a runner ("dead-runner") that leased the step
/// and claimed its message under `message_id`, then nothing: the sequence, the runner's actor
/// and the claimed message.
async fn dead_runner_claims(
    app: &TestApp,
    admin: &Session,
    sink: &SmtpSink,
    message_id: &str,
) -> (Value, rivet_domain::Actor, rivet_store::email::EmailMessage) {
    let (template, lead) = setup(app, admin, sink).await;
    let seq = create(
        app,
        admin,
        "/sequences",
        sequence(
            "One step",
            json!([{"type": "email", "template_id": id(&template)}]),
        ),
    )
    .await;
    assert_eq!(enroll(app, admin, &seq, &lead).await["enrolled"], 1);
    let store = &app.state.store;
    let leased = rivet_store::sequences::claim_due(
        store,
        "dead-runner",
        10,
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(leased.len(), 1);
    let due = &leased[0];
    let actor = rivet_domain::Actor::system(due.company_id, due.enrolled_by)
        .granted(rivet_server::mail::SENDER_GRANTS);
    let new = rivet_store::email::NewMessage {
        record: rivet_domain::activities::Link {
            record_type: rivet_domain::activities::RecordType::Lead,
            record_id: due.record_id,
        },
        to: vec!["ann@example.com".into()],
        cc: Vec::new(),
        subject: "Hello Ann".into(),
        text: "Hi Ann,".into(),
        html: None,
        message_id: message_id.into(),
        idempotency_key: due.step_key(),
    };
    let rivet_store::email::Claim::Send(message) = rivet_store::email::claim(
        store,
        &actor,
        &new,
        rivet_store::email::InFlight::Leave,
        rivet_store::email::Quota {
            day: "2026-12-07",
            limit: 100,
            refused: "over the limit",
        },
    )
    .await
    .unwrap() else {
        panic!("the first claim sends");
    };
    (seq, actor, message)
}

/// A runner that died after claiming a step's e-mail but before the SMTP server answered left
/// the message `sending`: the runner that takes the step over once the lease is gone sends it
/// (its own Message-ID), records it once and finishes the enrollment: nothing is lost.
async fn a_message_left_sending_by_a_dead_runner_is_sent_by_the_next(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (seq, _, _) =
        dead_runner_claims(&app, &admin, &sink, "<claimed-by-the-dead@acme.test>").await;
    // While its lease holds, nobody else runs the step.
    assert_eq!(run(&app).await, 0);
    assert!(sink.messages().is_empty());

    // The lease gone, the next runner sends the claimed message.
    make_due(&app).await;
    assert_eq!(run(&app).await, 1);
    let got = sink.wait_for(1).await;
    assert_eq!(
        got[0].header("Message-ID").as_deref(),
        Some("<claimed-by-the-dead@acme.test>")
    );
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "finished", "{e}");
    let rows = app
        .sql("SELECT status, attempts FROM email_messages", vec![])
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get_by_index::<String>(0).unwrap(), "sent");
    assert_eq!(rows[0].try_get_by_index::<i32>(1).unwrap(), 2);
    let rows = app
        .sql(
            "SELECT COUNT(*) FROM activities WHERE kind = 'email' AND direction = 'outbound'",
            vec![],
        )
        .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 1);

    // Run again: it is sent; nothing more goes out.
    make_due(&app).await;
    assert_eq!(run(&app).await, 0);
    assert_eq!(sink.messages().len(), 1);
}

/// A runner killed after the server had the envelope and its "handed over" write, before the
/// server's answer reached it: the server may have the message, so the next runner does not
/// send it again; it counts it sent (saying so), logs it on the timeline once and moves on.
async fn a_message_handed_over_by_a_dead_runner_is_counted_sent_not_sent_again(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let (seq, actor, message) =
        dead_runner_claims(&app, &admin, &sink, "<handed-by-the-dead@acme.test>").await;
    let store = &app.state.store;
    assert!(
        rivet_store::email::mark_handed(store, &actor, &message)
            .await
            .unwrap()
    );
    let outbound = || async {
        app.sql(
            "SELECT COUNT(*) FROM activities WHERE kind = 'email' AND direction = 'outbound'",
            vec![],
        )
        .await[0]
            .try_get_by_index::<i64>(0)
            .unwrap()
    };
    assert_eq!(outbound().await, 0, "not logged yet");

    // The lease gone, the next runner finds it handed over: counted sent and logged once, not
    // sent, the step done.
    make_due(&app).await;
    assert_eq!(run(&app).await, 1);
    assert!(sink.messages().is_empty(), "not sent a second time");
    assert_eq!(outbound().await, 1);
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "finished", "{e}");
    let rows = app
        .sql(
            "SELECT m.status, a.message_id, m.reply FROM email_messages m \
             JOIN activities a ON a.id = m.activity_id",
            vec![],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get_by_index::<String>(0).unwrap(), "sent");
    assert_eq!(
        rows[0].try_get_by_index::<String>(1).unwrap(),
        "<handed-by-the-dead@acme.test>"
    );
    assert_eq!(
        rows[0].try_get_by_index::<String>(2).unwrap(),
        rivet_server::mail::HANDED_REPLY
    );

    // Logging it again changes nothing; the dead runner's own late hand-over is refused.
    let again = rivet_store::email::log_sent(store, &actor, &message)
        .await
        .unwrap();
    assert!(again.activity_id.is_some());
    assert_eq!(outbound().await, 1);
    assert!(
        !rivet_store::email::mark_handed(store, &actor, &message)
            .await
            .unwrap()
    );
}

both!(
    a_step_is_sent_once_rendered_and_on_the_timeline,
    records_that_cannot_be_enrolled_are_skipped_with_the_reason,
    a_sequence_names_its_bad_templates,
    the_window_and_a_task_step_set_the_times,
    a_status_change_stops_and_people_pause_resume_and_stop,
    a_refusing_server_is_retried_with_the_reason_shown,
    other_companies_and_roles_are_kept_out,
    stats_count_what_each_step_sent_and_what_became_of_it,
    a_view_or_a_filter_enrolls_what_it_lists_for_the_caller,
    a_selection_over_the_cap_is_refused_naming_the_field,
    a_message_left_sending_by_a_dead_runner_is_sent_by_the_next,
    a_message_handed_over_by_a_dead_runner_is_counted_sent_not_sent_again,
);
