//! Workflow rules' message and sequence actions (issue 15 §3–§5), through a real SMTP server
//! (`rivet_tests::smtp`) and a local fake of the WhatsApp Graph API (`rivet_tests::graph`):
//! `send_email_template` e-mails a new lead once — rendered, on its timeline — and a job run
//! again sends nothing more; a lead who opted out gets nothing and the run log says why;
//! `send_whatsapp_template` reaches the Graph API once with the template and lands on the
//! timeline, and a lead without consent is not messaged, the reason logged; a sequence's
//! `whatsapp` step sends once per enrollment step and ends the enrollment of a record without
//! consent, and a sequence of WhatsApp messages only enrolls records by their phone number;
//! `enroll_in_sequence` and `remove_from_sequence` change enrollments; the dry run
//! says to whom a message would go; bad actions are 422s naming the place.

use crate::accounts::id;
use crate::sequences::{create, enroll, enrollments, mail_setup, make_due, ok, run, sequence};
use crate::whatsapp::{NUMBER_ID, SECRET, configure, whatsapp_activities};
use crate::workflows::{create_lead, create_rule, runs_of, wait_for_runs};
use rivet_domain::{Action, Actor, Resource};
use rivet_tests::graph::Graph;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app_with};
use std::time::{Duration, Instant};

async fn app(db: Db) -> TestApp {
    spawn_app_with(db, |c| {
        c.smtp_timeout_secs = 2;
        c.webhook_allow_private = true;
    })
    .await
}

/// A rule on `lead.created` doing `actions`.
fn on_new_leads(name: &str, actions: Value) -> Value {
    json!({
        "name": name,
        "record_type": "lead",
        "trigger": {"kind": "event", "event": "lead.created"},
        "actions": actions,
    })
}

/// The job a run's action queued, once it has settled (up to 15 s): the job.
async fn settled_job(app: &TestApp, admin: &Session, run: &Value) -> rivet_store::jobs::Job {
    let job_id: uuid::Uuid = run["actions"][0]["result"]["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a job id in {run}"))
        .parse()
        .unwrap();
    let actor =
        Actor::system(admin.company_id, admin.user_id).granted(&[(Resource::Jobs, Action::Read)]);
    let started = Instant::now();
    loop {
        let job = rivet_store::jobs::get(&app.state.store, &actor, job_id)
            .await
            .unwrap();
        if job.state.as_str() == "succeeded" || started.elapsed() > Duration::from_secs(15) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Run `job`'s handler once more, as a worker that took it again after a crash would.
async fn run_again(app: &TestApp, job: &rivet_store::jobs::Job) -> Value {
    rivet_server::worker::run_job(&app.state, job, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("the job ran again: {e}"))
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "waited for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn an_email_template_action_sends_once_and_says_why_not(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_setup(&app, &admin, &sink).await;
    let rule = create_rule(
        &app,
        &admin,
        on_new_leads(
            "Welcome new leads",
            json!([{"kind": "send_email_template", "template_id": id(&template)}]),
        ),
    )
    .await;
    let rule_id = id(&rule);
    assert_eq!(rule["actions"][0]["template_id"], id(&template));
    let _workers = app.start_workers();

    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Bea", "last_name": "Park", "email": "Bea@Example.com"}),
    )
    .await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["bea@example.com"]);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Hello Bea"));
    assert!(got[0].body().contains("Hi Bea,"), "{}", got[0].body());
    let runs = wait_for_runs(&app, &admin, &rule_id, 1).await;
    assert_eq!(runs[0]["status"], "ok", "{}", runs[0]);
    let job = settled_job(&app, &admin, &runs[0]).await;
    assert_eq!(job.state.as_str(), "succeeded", "{job:?}");

    // On the lead's timeline as an outgoing e-mail.
    let timeline = json_of(app.get(&format!("/leads/{lead}/timeline"), &admin).await).await;
    assert!(
        timeline["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["subject"] == "Hello Bea" && e["data"]["direction"] == "outbound"),
        "{timeline}"
    );

    // The job run again (a worker that died before settling it): nothing more is sent.
    let again = run_again(&app, &job).await;
    assert_eq!(again["sent"], true, "{again}");
    assert!(again["note"].as_str().unwrap().contains("not sent again"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);

    // A lead whose address unsubscribed: no job, no e-mail, the log says why.
    app.sql(
        "INSERT INTO email_suppressions (company_id, email, source, created_at) VALUES (?, ?, 'unsubscribe', ?)",
        vec![
            admin.company_id.uuid().into(),
            "cy@example.com".into(),
            chrono::Utc::now().into(),
        ],
    )
    .await;
    let opted = create_lead(
        &app,
        &admin,
        json!({"first_name": "Cy", "last_name": "Oh", "email": "cy@example.com"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, &rule_id, 2).await;
    assert_eq!(runs[0]["record_id"], opted.as_str());
    let result = &runs[0]["actions"][0]["result"];
    assert_eq!(result["sent"], false, "{}", runs[0]);
    assert!(
        result["reason"].as_str().unwrap().contains("opted out"),
        "{result}"
    );
    assert!(result.get("job_id").is_none());
    // No address at all: the same, with its reason.
    let bare = create_lead(&app, &admin, json!({"last_name": "Nomail"})).await;
    let runs = wait_for_runs(&app, &admin, &rule_id, 3).await;
    assert_eq!(runs[0]["record_id"], bare.as_str());
    assert!(
        runs[0]["actions"][0]["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("no e-mail address"),
        "{}",
        runs[0]
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1);

    // The dry run says to whom it would go, or why not, and sends nothing.
    for (record, would) in [(&lead, true), (&opted, false)] {
        let dry = json_of(
            app.post(
                &format!("/workflows/{rule_id}/test"),
                &admin,
                json!({"record_id": record}),
            )
            .await,
        )
        .await;
        assert_eq!(dry["actions"][0]["status"], "would_run", "{dry}");
        assert_eq!(dry["actions"][0]["result"]["would_send"], would, "{dry}");
    }
    assert_eq!(sink.messages().len(), 1);
}

/// WhatsApp through `graph` and a lead with a number, with or without consent.
async fn whatsapp_lead(app: &TestApp, admin: &Session, name: &str, consent: bool) -> String {
    create_lead(
        app,
        admin,
        json!({"first_name": name, "last_name": "Lee", "phone": "+447911123456",
               "email": format!("{}@example.com", name.to_lowercase()),
               "whatsapp_consent": consent}),
    )
    .await
}

async fn a_whatsapp_template_action_sends_once_with_consent(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let graph = Graph::start().await;
    configure(&app, &admin, &graph, NUMBER_ID, SECRET).await;
    let rule = create_rule(
        &app,
        &admin,
        on_new_leads(
            "Greet on WhatsApp",
            json!([{"kind": "send_whatsapp_template", "template": "welcome",
                    "language": "en_US", "parameters": ["friend"]}]),
        ),
    )
    .await;
    let rule_id = id(&rule);
    assert_eq!(rule["actions"][0]["template"], "welcome");
    let _workers = app.start_workers();

    let lead = whatsapp_lead(&app, &admin, "Ann", true).await;
    wait_until("the Graph API's send", async || graph.sent().len() == 1).await;
    let sent = &graph.sent()[0];
    assert_eq!(sent.phone_number_id, NUMBER_ID);
    assert_eq!(sent.body["to"], "447911123456");
    assert_eq!(sent.body["template"]["name"], "welcome");
    assert_eq!(sent.body["template"]["language"]["code"], "en_US");
    let runs = wait_for_runs(&app, &admin, &rule_id, 1).await;
    let job = settled_job(&app, &admin, &runs[0]).await;
    assert_eq!(job.state.as_str(), "succeeded", "{job:?}");
    assert_eq!(whatsapp_activities(&app, "outbound").await, 1);
    let conversation = json_of(app.get(&format!("/leads/{lead}/whatsapp"), &admin).await).await;
    assert_eq!(
        conversation["data"][0]["template_name"], "welcome",
        "{conversation}"
    );
    assert_eq!(conversation["data"][0]["status"], "queued");

    // Run again: the claim is found, the Graph API is not called a second time.
    let again = run_again(&app, &job).await;
    assert_eq!(again["sent"], true, "{again}");
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(whatsapp_activities(&app, "outbound").await, 1);

    // No consent: not sent, the reason in the log.
    let refused = whatsapp_lead(&app, &admin, "Bo", false).await;
    let runs = wait_for_runs(&app, &admin, &rule_id, 2).await;
    assert_eq!(runs[0]["record_id"], refused.as_str());
    let result = &runs[0]["actions"][0]["result"];
    assert_eq!(result["sent"], false, "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("WhatsApp"),
        "{result}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(graph.sent().len(), 1);
}

async fn a_whatsapp_sequence_step_sends_once_and_stops_without_consent(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let graph = Graph::start().await;
    configure(&app, &admin, &graph, NUMBER_ID, SECRET).await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_setup(&app, &admin, &sink).await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "WhatsApp first",
            json!([
                {"type": "whatsapp", "template": "hello_there", "language": "en"},
                {"type": "wait", "business_days": 3},
                {"type": "email", "template_id": id(&template)},
            ]),
        ),
    )
    .await;
    assert_eq!(seq["steps"][0]["type"], "whatsapp");
    let lead = json!({"id": whatsapp_lead(&app, &admin, "Ann", true).await});
    assert_eq!(enroll(&app, &admin, &seq, &lead).await["enrolled"], 1);
    assert_eq!(run(&app).await, 1);
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(graph.sent()[0].body["template"]["name"], "hello_there");
    assert_eq!(whatsapp_activities(&app, "outbound").await, 1);
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["status"], "active", "{e}");
    assert_eq!(e["step"], 2);

    // A runner that died after the Graph API took it: the step runs again and sends nothing.
    app.sql(
        "UPDATE sequence_enrollments SET step = 0, next_step_at = created_at",
        vec![],
    )
    .await;
    assert_eq!(run(&app).await, 1);
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(enrollments(&app, &admin, &seq).await[0]["step"], 2);

    // Without consent the enrollment ends with the reason.
    let bo = json!({"id": whatsapp_lead(&app, &admin, "Bo", false).await});
    assert_eq!(enroll(&app, &admin, &seq, &bo).await["enrolled"], 1);
    make_due(&app).await;
    app.sql(
        "UPDATE sequence_enrollments SET step = 0 WHERE record_id = ?",
        vec![id(&bo).parse::<uuid::Uuid>().unwrap().into()],
    )
    .await;
    run(&app).await;
    let stopped: Vec<Value> = enrollments(&app, &admin, &seq)
        .await
        .into_iter()
        .filter(|e| e["record_id"] == bo["id"])
        .collect();
    assert_eq!(stopped[0]["status"], "stopped", "{stopped:?}");
    assert_eq!(stopped[0]["stop_reason"], "no_whatsapp_consent");
    assert_eq!(graph.sent().len(), 1);

    // A bad WhatsApp step is a 422 naming its place.
    let problem = assert_problem(
        app.post(
            "/sequences",
            &admin,
            sequence(
                "Bad",
                json!([{"type": "whatsapp", "template": "Not A Name", "language": "english"},
                       {"type": "email", "template_id": id(&template)}]),
            ),
        )
        .await,
        422,
    )
    .await;
    let fields = fields_of(&problem);
    assert!(
        fields.contains(&"steps[0].template".to_owned()),
        "{problem}"
    );
    assert!(
        fields.contains(&"steps[0].language".to_owned()),
        "{problem}"
    );
}

/// A sequence whose messages are all WhatsApp ones needs no e-mail: it enrolls the records
/// with a phone number (none needs an address) and skips those without, saying so; its step
/// goes out through the Graph API. One that sends nothing at all is refused.
async fn a_whatsapp_only_sequence_enrolls_records_with_a_phone(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let graph = Graph::start().await;
    configure(&app, &admin, &graph, NUMBER_ID, SECRET).await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "WhatsApp only",
            json!([
                {"type": "whatsapp", "template": "hello_there", "language": "en"},
                {"type": "wait", "business_days": 1},
                {"type": "task", "subject": "Call them", "due_in_business_days": 1},
            ]),
        ),
    )
    .await;
    let ann = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "phone": "+447911123456",
               "whatsapp_consent": true}),
    )
    .await;
    let bo = create_lead(
        &app,
        &admin,
        json!({"first_name": "Bo", "last_name": "Lee", "email": "bo@example.com"}),
    )
    .await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    let outcome = ok(&app, &admin, &path, json!({"record_ids": [&ann, &bo]})).await;
    assert_eq!(outcome["enrolled"], 1, "{outcome}");
    let reasons: Vec<(String, Value)> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_id"].as_str().unwrap().to_owned(),
                r["reason"].clone(),
            )
        })
        .collect();
    assert!(reasons.contains(&(ann.clone(), Value::Null)), "{outcome}");
    assert!(
        reasons.contains(&(bo.clone(), json!("no_phone"))),
        "{outcome}"
    );
    assert_eq!(run(&app).await, 1);
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(graph.sent()[0].body["template"]["name"], "hello_there");
    let e = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(e["record_id"], ann.as_str(), "{e}");
    assert_eq!(e["status"], "active", "{e}");
    assert_eq!(e["step"], 2, "{e}");

    // A sequence with an e-mail step still needs the address: Ann has none.
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_setup(&app, &admin, &sink).await;
    let mixed = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "Both",
            json!([{"type": "whatsapp", "template": "hello_there", "language": "en"},
                   {"type": "email", "template_id": id(&template)}]),
        ),
    )
    .await;
    let path = format!("/sequences/{}/enrollments", id(&mixed));
    let outcome = ok(&app, &admin, &path, json!({"record_ids": [&ann]})).await;
    assert_eq!(outcome["results"][0]["reason"], "no_email", "{outcome}");

    // Waits and tasks alone send nothing: refused, naming the steps.
    let problem = assert_problem(
        app.post(
            "/sequences",
            &admin,
            sequence(
                "Tasks only",
                json!([{"type": "task", "subject": "Call them"},
                       {"type": "wait", "business_days": 2}]),
            ),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["steps"], "{problem}");
}

async fn enroll_and_remove_actions_change_enrollments(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_setup(&app, &admin, &sink).await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "Nurture",
            json!([{"type": "wait", "business_days": 5},
                   {"type": "email", "template_id": id(&template)}]),
        ),
    )
    .await;
    let enroll_rule = create_rule(
        &app,
        &admin,
        on_new_leads(
            "Nurture new leads",
            json!([{"kind": "enroll_in_sequence", "sequence_id": id(&seq)}]),
        ),
    )
    .await;
    let remove_rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Stop nurturing contacted leads",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.updated", "changed": ["status"]},
            "conditions": [{"op": "equals", "field": "status", "value": "contacted"}],
            "actions": [{"kind": "remove_from_sequence", "sequence_id": id(&seq)}],
        }),
    )
    .await;
    let _workers = app.start_workers();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, &id(&enroll_rule), 1).await;
    assert_eq!(runs[0]["status"], "ok", "{}", runs[0]);
    assert_eq!(runs[0]["actions"][0]["result"]["enrolled"], true);
    let live = enrollments(&app, &admin, &seq).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["record_id"], lead.as_str());
    assert_eq!(live[0]["status"], "active");

    let response = app
        .patch(
            &format!("/leads/{lead}"),
            &admin,
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let runs = wait_for_runs(&app, &admin, &id(&remove_rule), 1).await;
    assert_eq!(runs[0]["status"], "ok", "{}", runs[0]);
    assert_eq!(runs[0]["actions"][0]["result"]["removed"], true);
    let ended = &enrollments(&app, &admin, &seq).await[0];
    assert_eq!(ended["status"], "stopped", "{ended}");
    assert_eq!(ended["stop_reason"], "removed_by_rule");
    assert!(runs_of(&app, &admin, &id(&enroll_rule)).await.len() == 1);
}

async fn bad_message_and_sequence_actions_are_422s_naming_the_place(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let other = app.other_company("Other").await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_setup(&app, &admin, &sink).await;
    let theirs = mail_setup(&app, &other, &sink).await;
    let for_contacts = create(
        &app,
        &admin,
        "/email-templates",
        json!({"name": "Contact intro", "record_type": "contact",
               "subject": "Hi {{ contact.first_name }}", "text": "Hello"}),
    )
    .await;
    let seq = create(
        &app,
        &admin,
        "/sequences",
        sequence(
            "Leads",
            json!([{"type": "email", "template_id": id(&template)}]),
        ),
    )
    .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let rule_on = |record: &str, action: Value| {
        let event = format!("{record}.created");
        json!({"name": "Bad", "record_type": record,
               "trigger": {"kind": "event", "event": event}, "actions": [action]})
    };
    let cases = [
        (
            rule_on(
                "lead",
                json!({"kind": "send_email_template", "template_id": unknown}),
            ),
            "actions[0].template_id",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "send_email_template", "template_id": id(&theirs)}),
            ),
            "actions[0].template_id",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "send_email_template", "template_id": id(&for_contacts)}),
            ),
            "actions[0].template_id",
        ),
        (
            rule_on("lead", json!({"kind": "send_email_template"})),
            "actions[0].template_id",
        ),
        (
            rule_on(
                "account",
                json!({"kind": "send_email_template", "template_id": id(&template)}),
            ),
            "actions[0].kind",
        ),
        (
            rule_on(
                "task",
                json!({"kind": "send_email_template", "template_id": id(&template)}),
            ),
            "actions[0].kind",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "enroll_in_sequence", "sequence_id": unknown}),
            ),
            "actions[0].sequence_id",
        ),
        (
            rule_on(
                "contact",
                json!({"kind": "enroll_in_sequence", "sequence_id": id(&seq)}),
            ),
            "actions[0].sequence_id",
        ),
        (
            rule_on(
                "deal",
                json!({"kind": "remove_from_sequence", "sequence_id": id(&seq)}),
            ),
            "actions[0].kind",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "send_whatsapp_template", "template": "Bad Name", "language": "en"}),
            ),
            "actions[0].template",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "send_whatsapp_template", "template": "ok"}),
            ),
            "actions[0].language",
        ),
        (
            rule_on(
                "deal",
                json!({"kind": "send_whatsapp_template", "template": "ok", "language": "en"}),
            ),
            "actions[0].kind",
        ),
        (
            rule_on(
                "lead",
                json!({"kind": "add_tag", "tag": "x", "template_id": id(&template)}),
            ),
            "actions[0].template_id",
        ),
    ];
    for (rule, field) in cases {
        let problem = assert_problem(app.post("/workflows", &admin, rule.clone()).await, 422).await;
        assert!(
            fields_of(&problem).contains(&field.to_owned()),
            "{field} for {rule}: {problem}"
        );
    }
    // An unknown property of an action is a 400; nothing was saved.
    let unknown_field = rule_on(
        "lead",
        json!({"kind": "send_email_template",
        "template_id": id(&template), "cc": "x@example.com"}),
    );
    assert_problem(app.post("/workflows", &admin, unknown_field).await, 400).await;
    let list = json_of(app.get("/workflows", &admin).await).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
}

both!(
    an_email_template_action_sends_once_and_says_why_not,
    a_whatsapp_template_action_sends_once_with_consent,
    a_whatsapp_sequence_step_sends_once_and_stops_without_consent,
    a_whatsapp_only_sequence_enrolls_records_with_a_phone,
    enroll_and_remove_actions_change_enrollments,
    bad_message_and_sequence_actions_are_422s_naming_the_place,
);
