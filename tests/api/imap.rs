//! IMAP polling (issue 15 §3 Tracking) against a real IMAP server the test starts (Dovecot,
//! `rivet_tests::imap`) and a real SMTP server (`rivet_tests::smtp`): the settings are sealed,
//! validated and kept apart from the SMTP ones; a reply found in the mailbox becomes an inbound
//! email activity and `email.replied` and stops the sequence it answers; a bounce marks its
//! message; each message is taken once however often it is read; the test sign-in and a poll
//! say what went wrong in plain words (502); the workers poll an enabled mailbox on schedule;
//! one company's mailbox never touches another's records.

use crate::accounts::id;
use crate::tracking::{bounce, count, events, reply};
use rivet_tests::imap::Dovecot;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Message, Mode, SmtpSink};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app_with};
use std::time::{Duration, Instant};

const USER: &str = "replies@acme.test";
const PASSWORD: &str = "mailbox-pw-1";

async fn app(db: Db) -> TestApp {
    spawn_app_with(db, |c| c.smtp_timeout_secs = 2).await
}

async fn ok(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body.clone()).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "POST {path} {body}: {status} {text}");
    rivet_tests::serde_json::from_str(&text).unwrap()
}

/// SMTP through `sink`, from sales@acme.test.
async fn smtp(app: &TestApp, admin: &Session, sink: &SmtpSink) {
    let response = app
        .put(
            "/settings/email",
            admin,
            json!({
                "enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": "none",
                "allow_plaintext": true, "from_address": "sales@acme.test",
            }),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

fn imap_settings(port: u16, user: &str, password: &str) -> Value {
    json!({
        "enabled": true, "host": "127.0.0.1", "port": port, "tls": "none",
        "allow_plaintext": true, "username": user, "password": password,
        "poll_minutes": 1,
    })
}

/// The IMAP settings of `who`'s company: `user` on `dovecot`.
async fn imap(app: &TestApp, who: &Session, dovecot: &Dovecot, user: &str) -> Value {
    let response = app
        .put(
            "/settings/email/imap",
            who,
            imap_settings(dovecot.port, user, PASSWORD),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

async fn lead(app: &TestApp, who: &Session, first: &str, email: &str) -> Value {
    let response = app
        .post(
            "/leads",
            who,
            json!({"first_name": first, "last_name": "Lee", "email": email}),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

/// Send a one-off e-mail from `lead`: what the sink got.
async fn send(app: &TestApp, who: &Session, sink: &SmtpSink, lead: &Value) -> Message {
    let before = sink.messages().len();
    let response = app
        .post(
            &format!("/leads/{}/emails", id(lead)),
            who,
            json!({"subject": "Hello", "text": "Shall we talk?"}),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    sink.wait_for(before + 1).await[before].clone()
}

async fn inbound_activities(app: &TestApp, lead: &Value) -> i64 {
    let rows = app
        .sql(
            "SELECT COUNT(*) FROM activities a JOIN activity_links l ON l.activity_id = a.id \
             WHERE a.direction = 'inbound' AND l.record_id = ?",
            vec![id(lead).parse::<uuid::Uuid>().unwrap().into()],
        )
        .await;
    rows[0].try_get_by_index::<i64>(0).unwrap()
}

async fn poll(app: &TestApp, who: &Session) -> Value {
    ok(app, who, "/settings/email/imap/poll", json!({})).await
}

async fn settings_are_sealed_validated_and_kept_apart_from_smtp(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;

    let fresh = json_of(app.get("/settings/email/imap", &admin).await).await;
    assert_eq!(fresh["enabled"], false);
    assert_eq!(fresh["port"], 993);
    assert_eq!(fresh["tls"], "tls");
    assert_eq!(fresh["folder"], "INBOX");
    assert_eq!(fresh["password_set"], false);
    assert!(fresh["last_poll"]["polled_at"].is_null(), "{fresh}");
    // Nothing set up: nothing to test or poll.
    assert_problem(
        app.post("/settings/email/imap/test", &admin, json!({}))
            .await,
        409,
    )
    .await;
    assert_problem(
        app.post("/settings/email/imap/poll", &admin, json!({}))
            .await,
        409,
    )
    .await;

    // Bad input: each mistake named by its field, nothing stored.
    let good = imap_settings(993, USER, PASSWORD);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    for (body, field) in [
        (
            with("tls", json!("none")).tap_remove("allow_plaintext"),
            "tls",
        ),
        (with("port", json!(70_000)), "port"),
        (with("port", json!("143")), "port"),
        (with("poll_minutes", json!(0)), "poll_minutes"),
        (with("poll_minutes", json!(1441)), "poll_minutes"),
        (with("host", json!("imap example")), "host"),
        (with("host", json!("")), "host"),
        (with("username", json!("")), "username"),
        (with("folder", json!("In\nbox")), "folder"),
        (with("tls", json!("ssl")), "tls"),
    ] {
        let problem = assert_problem(
            app.put("/settings/email/imap", &admin, body.clone()).await,
            422,
        )
        .await;
        assert!(
            fields_of(&problem).contains(&field.to_owned()),
            "{body}: {problem}"
        );
    }
    assert_problem(
        app.put("/settings/email/imap", &admin, with("colour", json!("red")))
            .await,
        400,
    )
    .await;
    assert_eq!(
        json_of(app.get("/settings/email/imap", &admin).await).await,
        fresh
    );

    // Stored: the password sealed, never shown, redacted in the audit trail.
    let saved = json_of(app.put("/settings/email/imap", &admin, good.clone()).await).await;
    assert_eq!(saved["password_set"], true);
    assert_eq!(saved["username"], USER);
    assert_eq!(saved["poll_minutes"], 1);
    assert!(!saved.to_string().contains(PASSWORD));
    let stored = app
        .sql("SELECT CAST(settings AS TEXT) FROM email_settings", vec![])
        .await;
    let stored: String = stored[0].try_get_by_index(0).unwrap();
    assert!(
        stored.contains("\"imap\"") && !stored.contains(PASSWORD),
        "{stored}"
    );
    let audit = app
        .sql(
            "SELECT CAST(changes AS TEXT) FROM audit_log WHERE resource = 'settings'",
            vec![],
        )
        .await;
    assert!(!audit.is_empty());
    for row in &audit {
        let text: String = row.try_get_by_index(0).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains("v1:"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    // Left out, the password is kept; the SMTP settings' own PUT leaves IMAP alone.
    let mut without = good.clone();
    without.as_object_mut().unwrap().remove("password");
    let kept = json_of(app.put("/settings/email/imap", &admin, without).await).await;
    assert_eq!(kept["password_set"], true);
    let response = app
        .put(
            "/settings/email",
            &admin,
            json!({"host": "smtp.acme.test", "from_address": "sales@acme.test"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after = json_of(app.get("/settings/email/imap", &admin).await).await;
    assert_eq!(after["host"], "127.0.0.1");
    assert_eq!(after["password_set"], true);
    let smtp = json_of(app.get("/settings/email", &admin).await).await;
    assert!(smtp.get("imap").is_none(), "{smtp}");
    // "" clears it.
    let cleared = json_of(
        app.put("/settings/email/imap", &admin, with("password", json!("")))
            .await,
    )
    .await;
    assert_eq!(cleared["password_set"], false);

    // Only who may change the settings may change, test or poll the mailbox.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.put("/settings/email/imap", &rep, good).await, 403).await;
    for path in ["/settings/email/imap/test", "/settings/email/imap/poll"] {
        assert_problem(app.post(path, &rep, json!({})).await, 403).await;
    }
    // Another company sees its own (none).
    let other = app.other_company("Globex").await;
    let theirs = json_of(app.get("/settings/email/imap", &other).await).await;
    assert_eq!(theirs["host"], "");
}

trait Remove {
    fn tap_remove(self, key: &str) -> Self;
}

impl Remove for Value {
    fn tap_remove(mut self, key: &str) -> Self {
        if let Some(map) = self.as_object_mut() {
            map.remove(key);
        }
        self
    }
}

async fn replies_and_bounces_in_the_mailbox_are_taken_once(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    smtp(&app, &admin, &sink).await;
    let dovecot = Dovecot::start(&[(USER, PASSWORD)]).await;
    imap(&app, &admin, &dovecot, USER).await;
    let store = &app.state.store;
    for consumer in [
        rivet_store::events::SEQUENCER,
        rivet_store::sequences::CONSUMER,
    ] {
        rivet_store::events::ensure_position(store, consumer)
            .await
            .unwrap();
    }

    // Ann is in a sequence of two e-mails two business days apart; its first went out.
    let template = ok(
        &app,
        &admin,
        "/email-templates",
        json!({"name": "Intro", "record_type": "lead", "subject": "Hello",
               "text": "Hi {{ lead.first_name }}."}),
    )
    .await;
    let seq = ok(
        &app,
        &admin,
        "/sequences",
        json!({
            "name": "Nurture", "enrolls": "lead",
            "steps": [
                {"type": "email", "template_id": id(&template)},
                {"type": "wait", "business_days": 2},
                {"type": "email", "template_id": id(&template)},
            ],
            "window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                       "start": "00:00", "end": "23:59"},
        }),
    )
    .await;
    let ann = lead(&app, &admin, "Ann", "ann@example.com").await;
    let path = format!("/sequences/{}/enrollments", id(&seq));
    ok(&app, &admin, &path, json!({"record_ids": [id(&ann)]})).await;
    let ran = rivet_server::sequences::run_due(&app.state, "test-runner", 100)
        .await
        .unwrap();
    assert_eq!(ran, 1);
    let step = sink.wait_for(1).await[0].clone();
    let step_id = step.header("Message-ID").unwrap();
    // Bo got a one-off e-mail, which bounced.
    let bo = lead(&app, &admin, "Bo", "bo@example.com").await;
    let one_off = send(&app, &admin, &sink, &bo).await;
    let one_off_id = one_off.header("Message-ID").unwrap();

    // The mailbox: Ann's reply, Bo's bounce, and a stray message.
    dovecot
        .deliver(USER, PASSWORD, &reply(&step_id, "r1"))
        .await;
    dovecot.deliver(USER, PASSWORD, &bounce(&one_off_id)).await;
    dovecot
        .deliver(USER, PASSWORD, &reply("<nobody@elsewhere.example>", "r2"))
        .await;
    assert_eq!(dovecot.unseen(USER, PASSWORD).await, 3);

    let report = poll(&app, &admin).await;
    assert_eq!(
        report,
        json!({"taken": 3, "replied": 1, "bounced": 1, "replayed": 0, "ignored": 1})
    );
    assert_eq!(
        dovecot.unseen(USER, PASSWORD).await,
        0,
        "taken messages are seen"
    );

    // The reply: an inbound email activity on Ann, email.replied, and her sequence stops.
    assert_eq!(inbound_activities(&app, &ann).await, 1);
    assert_eq!(events(&app, "email.replied").await, 1);
    rivet_store::events::sequence(store, 1000).await.unwrap();
    rivet_store::events::consume(store, &rivet_store::sequences::SequenceStopper, 1000)
        .await
        .unwrap();
    let stopped = json_of(app.get(&format!("{path}?status=stopped"), &admin).await).await;
    assert_eq!(stopped["data"][0]["record_id"], ann["id"], "{stopped}");
    assert_eq!(stopped["data"][0]["stop_reason"], "replied");
    // The bounce: Bo's message is marked, email.bounced.
    let bo_mail = json_of(app.get(&format!("/leads/{}/emails", id(&bo)), &admin).await).await;
    assert!(bo_mail["data"][0]["bounced_at"].is_string(), "{bo_mail}");
    assert_eq!(events(&app, "email.bounced").await, 1);
    let status = json_of(app.get("/settings/email/imap", &admin).await).await;
    assert!(status["last_poll"]["polled_at"].is_string(), "{status}");
    assert_eq!(status["last_poll"]["taken"], 3);
    assert!(status["last_poll"]["error"].is_null());

    // Polling again takes nothing.
    let again = poll(&app, &admin).await;
    assert_eq!(again["taken"], 0, "{again}");
    // Read again from the start (as after a crash before a UID was stored): each message is
    // taken again, and none changes anything a second time.
    app.sql("UPDATE imap_polls SET last_uid = 0", vec![]).await;
    let replayed = poll(&app, &admin).await;
    assert_eq!(
        replayed,
        json!({"taken": 3, "replied": 0, "bounced": 0, "replayed": 2, "ignored": 1})
    );
    assert_eq!(inbound_activities(&app, &ann).await, 1);
    assert_eq!(events(&app, "email.replied").await, 1);
    assert_eq!(events(&app, "email.bounced").await, 1);
    // A folder rebuilt (another UIDVALIDITY) is read from its start too, with the same result.
    app.sql(
        "UPDATE imap_polls SET uid_validity = 1, last_uid = 99",
        vec![],
    )
    .await;
    assert_eq!(poll(&app, &admin).await["taken"], 3);
    assert_eq!(inbound_activities(&app, &ann).await, 1);
}

async fn failures_are_said_in_plain_words(db: Db) {
    let app = spawn_app_with(db, |c| c.smtp_timeout_secs = 5).await;
    let admin = app.admin().await;
    let dovecot = Dovecot::start(&[(USER, PASSWORD)]).await;
    dovecot.deliver(USER, PASSWORD, &reply("<a@b>", "r1")).await;

    // The right password: the server's greeting and the folder.
    imap(&app, &admin, &dovecot, USER).await;
    let tested = ok(&app, &admin, "/settings/email/imap/test", json!({})).await;
    let words = tested["reply"].as_str().unwrap();
    assert!(words.contains("Dovecot"), "{tested}");
    assert!(words.contains("INBOX holds 1 messages"), "{tested}");
    assert_eq!(tested["messages"], 1);

    let refused = |detail: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            for path in ["/settings/email/imap/test", "/settings/email/imap/poll"] {
                let problem = assert_problem(app.post(path, admin, json!({})).await, 502).await;
                let text = problem["detail"].as_str().unwrap_or_default().to_owned();
                assert!(text.contains(detail), "{path}: {problem}");
                assert!(!text.contains("wrong-pw"), "{problem}");
            }
        }
    };

    // A folder that is not there.
    let mut body = imap_settings(dovecot.port, USER, PASSWORD);
    body["folder"] = json!("Replies");
    app.put("/settings/email/imap", &admin, body.clone()).await;
    refused("the folder Replies cannot be opened").await;

    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    body["folder"] = json!("INBOX");
    body["port"] = json!(closed_port);
    app.put("/settings/email/imap", &admin, body.clone()).await;
    refused("connection refused").await;

    // A server that never says a word: a timeout, within the configured seconds.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    body["port"] = json!(silent_port);
    app.put("/settings/email/imap", &admin, body.clone()).await;
    let started = Instant::now();
    refused("timed out").await;
    assert!(started.elapsed() < Duration::from_secs(15));
    held.abort();
    // A failed poll leaves the mailbox free for the next one.
    body["port"] = json!(dovecot.port);
    app.put("/settings/email/imap", &admin, body).await;
    assert_eq!(poll(&app, &admin).await["taken"], 1);

    // A wrong password, last: Dovecot makes each sign-in from an address that failed one wait
    // longer (2 s, 4 s, …), which the timeout of this test leaves room for once.
    let body = imap_settings(dovecot.port, USER, "wrong-pw");
    let response = app.put("/settings/email/imap", &admin, body.clone()).await;
    assert_eq!(response.status(), 200);
    refused("authentication failed").await;
    let status = json_of(app.get("/settings/email/imap", &admin).await).await;
    let error = status["last_poll"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("authentication failed"), "{status}");
    assert_eq!(status["last_poll"]["taken"], 0);
}

async fn the_workers_poll_each_enabled_mailbox_and_keep_companies_apart(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    smtp(&app, &admin, &sink).await;
    let dovecot = Dovecot::start(&[(USER, PASSWORD), ("globex", PASSWORD)]).await;
    imap(&app, &admin, &dovecot, USER).await;
    let other = app.other_company("Globex").await;
    imap(&app, &other, &dovecot, "globex").await;
    // A third company whose polling is off is never polled.
    let off = app.other_company("Initech").await;
    let mut disabled = imap_settings(dovecot.port, "initech", PASSWORD);
    disabled["enabled"] = json!(false);
    assert_eq!(
        app.put("/settings/email/imap", &off, disabled)
            .await
            .status(),
        200
    );

    let ann = lead(&app, &admin, "Ann", "ann@example.com").await;
    let mail = send(&app, &admin, &sink, &ann).await;
    let sent = mail.header("Message-ID").unwrap();
    // Ann's reply lands in Globex's mailbox: Globex's poll finds no message of its own.
    dovecot
        .deliver("globex", PASSWORD, &reply(&sent, "r1"))
        .await;
    // And in Acme's own mailbox.
    dovecot.deliver(USER, PASSWORD, &reply(&sent, "r2")).await;

    // The schedule queues a poll for each enabled mailbox that is due…
    let queued = rivet_server::imap::schedule(&app.state).await.unwrap();
    assert_eq!(queued["queued"], 2, "{queued}");
    // …and the workers run them.
    let stop = app.start_workers();
    let deadline = Instant::now() + Duration::from_secs(20);
    for who in [&admin, &other] {
        loop {
            let status = json_of(app.get("/settings/email/imap", who).await).await;
            if status["last_poll"]["polled_at"].is_string() {
                assert!(status["last_poll"]["error"].is_null(), "{status}");
                assert_eq!(status["last_poll"]["taken"], 1, "{status}");
                break;
            }
            assert!(Instant::now() < deadline, "not polled: {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = stop.send(true);
    // Acme's reply is on Ann, once; Globex's copy touched nothing of Acme's.
    assert_eq!(inbound_activities(&app, &ann).await, 1);
    assert_eq!(events(&app, "email.replied").await, 1);
    let polls = count(&app, "SELECT COUNT(*) FROM imap_polls").await;
    assert_eq!(polls, 2, "the disabled company was not polled");
    // Polled a moment ago, neither is due again before its interval.
    let queued = rivet_server::imap::schedule(&app.state).await.unwrap();
    assert_eq!(queued["queued"], 0, "{queued}");
}

async fn the_settings_page_saves_tests_and_polls_the_mailbox(db: Db) {
    use crate::exports::{page, post_form};
    let app = app(db).await;
    let admin = app.admin().await;
    let dovecot = Dovecot::start(&[(USER, PASSWORD)]).await;
    let (cookie, csrf) = app.web_session(&admin).await;
    let (status, html) = page(&app, &cookie, "/settings/email").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Incoming mail (IMAP)") && html.contains("Never"),
        "{html}"
    );

    let port = dovecot.port.to_string();
    let form = |tls: &'static str, password: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("enabled", "true".to_owned()),
            ("host", "127.0.0.1".to_owned()),
            ("port", port.clone()),
            ("tls", tls.to_owned()),
            ("username", USER.to_owned()),
            ("password", password.to_owned()),
            ("folder", "INBOX".to_owned()),
            ("poll_minutes", "5".to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, &cookie, "/settings/email/imap", &fields).await
        }
    };
    // No encryption without allowing it: the page again, the mistake by its field.
    let refused = send(form("none", "wrong-pw")).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("imap-tls-error"), "{html}");
    assert!(!html.contains("wrong-pw"));
    let mut allowed = form("none", "wrong-pw");
    allowed.push(("allow_plaintext", "true".to_owned()));
    assert_eq!(send(allowed).await.status(), 303);
    let stored = json_of(app.get("/settings/email/imap", &admin).await).await;
    assert_eq!(stored["enabled"], true);
    assert_eq!(stored["password_set"], true);

    // "Poll now" with the wrong password: back to the page, which shows why.
    let csrf_only = [("csrf_token", csrf.as_str())];
    let polled = post_form(&app, &cookie, "/settings/email/imap/poll", &csrf_only).await;
    assert_eq!(polled.status(), 303);
    let (_, html) = page(&app, &cookie, "/settings/email").await;
    assert!(html.contains("imap-last-error"), "{html}");
    assert!(html.contains("authentication failed"), "{html}");
    let tested = post_form(&app, &cookie, "/settings/email/imap/test", &csrf_only).await;
    assert_eq!(tested.status(), 303);
}

both!(
    the_settings_page_saves_tests_and_polls_the_mailbox,
    settings_are_sealed_validated_and_kept_apart_from_smtp,
    replies_and_bounces_in_the_mailbox_are_taken_once,
    failures_are_said_in_plain_words,
    the_workers_poll_each_enabled_mailbox_and_keep_companies_apart,
);
