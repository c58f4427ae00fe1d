//! E-mail (issue 15 §1) through a real SMTP server the test starts (`rivet_tests::smtp`): the
//! settings keep the password sealed and never show it, bad settings are 422s naming their
//! field, a test message reaches the server with Rivet's From, To and Message-ID, each way a
//! server fails is told in plain words (a hanging one within the timeout), a one-off e-mail
//! from a record is sent and recorded once with its activity on the timeline, nobody who opted
//! out is written to, the daily limit holds, another company's records are not found, the
//! settings need the settings permissions, and invitations and password resets go out by mail.

use crate::accounts::id;
use crate::timeline::create;
use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{
    ADMIN_EMAIL, Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app_with,
};
use std::time::{Duration, Instant};

const PASSWORD: &str = "smtp-secret-Pa55";

/// An app whose SMTP timeout is short, so a hanging server fails a test quickly.
async fn app(db: Db) -> TestApp {
    spawn_app_with(db, |c| c.smtp_timeout_secs = 2).await
}

/// Settings that send through `sink` in clear, signed in as `sales@acme.test`.
fn settings_for(sink: &SmtpSink) -> Value {
    json!({
        "enabled": true,
        "host": "127.0.0.1",
        "port": sink.port,
        "tls": "none",
        "allow_plaintext": true,
        "username": "sales@acme.test",
        "password": PASSWORD,
        "from_name": "Acme Sales",
        "from_address": "sales@acme.test",
        "reply_to": "replies@acme.test",
    })
}

async fn configure(app: &TestApp, admin: &Session, body: Value) -> Value {
    let response = app.put("/settings/email", admin, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

/// The problem a refused `POST` or `PUT` answers with `status`.
async fn refused(
    app: &TestApp,
    method: &str,
    path: &str,
    who: &Session,
    body: Value,
    status: u16,
) -> Value {
    let response = match method {
        "put" => app.put(path, who, body).await,
        _ => app.post(path, who, body).await,
    };
    assert_problem(response, status).await
}

/// The one text value `sql` selects.
async fn text(app: &TestApp, sql: &str) -> String {
    let rows = app.sql(sql, vec![]).await;
    assert_eq!(rows.len(), 1, "{sql}");
    rows[0].try_get_by_index::<String>(0).unwrap()
}

/// A test message to ann@example.com, taken (200): its answer.
async fn test_message(app: &TestApp, admin: &Session) -> Value {
    let response = app
        .post(
            "/settings/email/test",
            admin,
            json!({"to": "ann@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

/// The lead Ann Lee, ann@example.com.
async fn ann(app: &TestApp, admin: &Session) -> Value {
    create(
        app,
        admin,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let rows = app.sql(sql, vec![]).await;
    rows[0].try_get_by_index::<i64>(0).unwrap()
}

async fn settings_are_sealed_never_shown_and_audited_redacted(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;

    let shown = configure(&app, &admin, settings_for(&sink)).await;
    assert_eq!(shown["password_set"], true);
    assert_eq!(shown["dkim_key_set"], false);
    assert_eq!(shown["from_address"], "sales@acme.test");
    assert!(shown.get("password").is_none() && shown.get("password_sealed").is_none());
    let read = json_of(app.get("/settings/email", &admin).await).await;
    assert_eq!(read, shown);
    assert!(!read.to_string().contains(PASSWORD));

    // Sealed at rest: the raw row holds no clear text, only a `v1:` value.
    let raw = text(&app, "SELECT CAST(settings AS TEXT) FROM email_settings").await;
    assert!(!raw.contains(PASSWORD), "{raw}");
    assert!(raw.contains("v1:"), "{raw}");
    // The audit trail shows it redacted.
    let audited = text(
        &app,
        "SELECT CAST(changes AS TEXT) FROM audit_log WHERE resource = 'settings' AND resource_id = 'email'",
    )
    .await;
    assert!(
        !audited.contains(PASSWORD) && !audited.contains("v1:"),
        "{audited}"
    );
    assert!(audited.contains("[redacted]"), "{audited}");

    // Left out: kept. "": cleared.
    let mut body = settings_for(&sink);
    body.as_object_mut().unwrap().remove("password");
    assert_eq!(
        configure(&app, &admin, body.clone()).await["password_set"],
        true
    );
    body["password"] = json!("");
    assert_eq!(configure(&app, &admin, body).await["password_set"], false);
}

async fn bad_settings_are_refused_naming_each_field(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let with = |changes: Value| {
        let mut body = settings_for(&sink);
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, fields) in [
        (with(json!({"allow_plaintext": false})), vec!["tls"]),
        (with(json!({"port": 0})), vec!["port"]),
        (with(json!({"port": 70000})), vec!["port"]),
        (with(json!({"host": ""})), vec!["host"]),
        (with(json!({"host": "smtp example.com"})), vec!["host"]),
        (
            with(json!({"from_address": "not an address"})),
            vec!["from_address"],
        ),
        (with(json!({"reply_to": "nope"})), vec!["reply_to"]),
        (with(json!({"daily_limit": 0})), vec!["daily_limit"]),
        (
            with(json!({"dkim_selector": "s1"})),
            vec!["dkim_domain", "dkim_private_key"],
        ),
        (
            with(
                json!({"dkim_selector": "s1", "dkim_domain": "acme.test", "dkim_private_key": "not a key"}),
            ),
            vec!["dkim_private_key"],
        ),
        (with(json!({"tls": "ssl"})), vec!["tls"]),
        (with(json!({"port": "25"})), vec!["port"]),
    ] {
        let problem = refused(&app, "put", "/settings/email", &admin, body.clone(), 422).await;
        let mut named = fields_of(&problem);
        named.dedup();
        assert_eq!(named, fields, "{body}: {problem}");
    }
    refused(
        &app,
        "put",
        "/settings/email",
        &admin,
        with(json!({"smtp_host": "x"})),
        400,
    )
    .await;
    // Nothing was stored.
    let read = json_of(app.get("/settings/email", &admin).await).await;
    assert_eq!(read["host"], "");
    assert_eq!(read["password_set"], false);
}

async fn a_test_email_reaches_the_server_with_rivets_headers(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;

    let sent = test_message(&app, &admin).await;
    assert!(sent["reply"].as_str().unwrap().starts_with("250"), "{sent}");
    let message_id = sent["message_id"].as_str().unwrap();
    assert!(message_id.ends_with("@acme.test>"), "{message_id}");

    let got = sink.wait_for(1).await;
    let mail = &got[0];
    assert_eq!(mail.to, ["ann@example.com"]);
    assert_eq!(mail.from, "sales@acme.test");
    // The password was opened from its sealed form to sign in.
    assert_eq!(mail.user.as_deref(), Some("sales@acme.test"));
    assert_eq!(mail.password.as_deref(), Some(PASSWORD));
    assert!(mail.header("From").unwrap().contains("sales@acme.test"));
    assert!(mail.header("From").unwrap().contains("Acme Sales"));
    assert_eq!(mail.header("To").as_deref(), Some("ann@example.com"));
    assert_eq!(mail.header("Message-ID").as_deref(), Some(message_id));
    assert!(
        mail.header("Reply-To")
            .unwrap()
            .contains("replies@acme.test")
    );

    // With DKIM, the message is signed for the domain with the selector; the key is sealed.
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let mut body = settings_for(&sink);
    body["dkim_selector"] = json!("s1");
    body["dkim_domain"] = json!("acme.test");
    body["dkim_private_key"] = json!(key);
    assert_eq!(configure(&app, &admin, body).await["dkim_key_set"], true);
    assert!(
        !text(&app, "SELECT CAST(settings AS TEXT) FROM email_settings")
            .await
            .contains(&key)
    );
    test_message(&app, &admin).await;
    let signed = sink.wait_for(2).await[1]
        .header("DKIM-Signature")
        .unwrap_or_default();
    assert!(
        signed.contains("d=acme.test") && signed.contains("s=s1"),
        "{signed}"
    );

    // A bad address is a 422 naming it, and nothing is sent.
    let problem = refused(
        &app,
        "post",
        "/settings/email/test",
        &admin,
        json!({"to": "nobody"}),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["to"]);
    assert_eq!(sink.messages().len(), 2);
}

async fn each_smtp_failure_is_told_in_plain_words(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let test = async || {
        let started = Instant::now();
        let response = app
            .post(
                "/settings/email/test",
                &admin,
                json!({"to": "ann@example.com"}),
            )
            .await;
        let problem = assert_problem(response, 502).await;
        (
            problem["detail"].as_str().unwrap().to_owned(),
            started.elapsed(),
        )
    };
    for (mode, words) in [
        (Mode::RefuseAuth, "authentication failed"),
        (
            Mode::RejectRecipient,
            "the server refused the recipient: 550",
        ),
        (Mode::Drop, "the server closed the connection"),
        (Mode::Hang, "timed out"),
    ] {
        sink.set_mode(mode);
        let (detail, took) = test().await;
        assert!(detail.contains(words), "{mode:?}: {detail}");
        // Timeouts are 2 s to connect and 4 s for the conversation: never much longer.
        assert!(took < Duration::from_secs(6), "{mode:?} took {took:?}");
    }
    assert!(sink.messages().is_empty());

    // A server that asks for STARTTLS that this one does not offer.
    sink.set_mode(Mode::Accept);
    let mut starttls = settings_for(&sink);
    starttls["tls"] = json!("starttls");
    configure(&app, &admin, starttls).await;
    let (detail, _) = test().await;
    assert!(detail.contains("does not offer STARTTLS"), "{detail}");

    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut refused = settings_for(&sink);
    refused["port"] = json!(closed);
    configure(&app, &admin, refused).await;
    let (detail, _) = test().await;
    assert!(detail.contains("connection refused"), "{detail}");
}

async fn a_one_off_email_is_sent_once_and_shows_on_the_timeline(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;

    let lead = ann(&app, &admin).await;
    let path = format!("/leads/{}/emails", id(&lead));
    let body = json!({"subject": "Hello Ann", "text": "Shall we talk?", "idempotency_key": "k-1"});

    // Not enabled yet: 409, nothing recorded.
    refused(&app, "post", &path, &admin, body.clone(), 409).await;
    configure(&app, &admin, settings_for(&sink)).await;

    let message = create(&app, &admin, &path, body.clone()).await;
    assert_eq!(message["status"], "sent");
    assert_eq!(message["to"], json!(["ann@example.com"]));
    assert!(message["reply"].as_str().unwrap().starts_with("250"));
    let message_id = message["message_id"].as_str().unwrap().to_owned();
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].to, ["ann@example.com"]);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Hello Ann"));
    assert_eq!(
        got[0].header("Message-ID").as_deref(),
        Some(message_id.as_str())
    );

    // The same key again: the same message, not a second send.
    let again = create(&app, &admin, &path, body).await;
    assert_eq!(again["id"], message["id"]);
    assert_eq!(sink.messages().len(), 1);

    // One message, one outgoing email activity with its Message-ID, on the timeline.
    let list = json_of(app.get(&path, &admin).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM email_messages").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM activities WHERE kind = 'email' AND direction = 'outbound' AND message_id IS NOT NULL").await,
        1
    );
    let timeline = json_of(
        app.get(&format!("/leads/{}/timeline", id(&lead)), &admin)
            .await,
    )
    .await;
    let entry = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["message_id"] == json!(message_id))
        .unwrap_or_else(|| panic!("no activity with the message id: {timeline}"));
    assert_eq!(entry["data"]["id"], message["activity_id"]);
    assert_eq!(entry["data"]["subject"], "Hello Ann");

    // Bad input: each field named, nothing sent.
    let problem = refused(
        &app,
        "post",
        &path,
        &admin,
        json!({"to": "x", "subject": " ", "text": ""}),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["to", "subject", "text"]);
    let nobody = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "No", "last_name": "Mail", "company_name": "Nomail Inc"}),
    )
    .await;
    let problem = refused(
        &app,
        "post",
        &format!("/leads/{}/emails", id(&nobody)),
        &admin,
        json!({"subject": "Hi", "text": "Hi"}),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["to"]);
    assert_eq!(sink.messages().len(), 1);

    // A deal writes to its primary contact.
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Bo", "last_name": "Ek", "email": "bo@example.com"}),
    )
    .await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Anvils", "contact_id": id(&contact)}),
    )
    .await;
    let sent = create(
        &app,
        &admin,
        &format!("/deals/{}/emails", id(&deal)),
        json!({"subject": "Anvils", "text": "Our offer"}),
    )
    .await;
    assert_eq!(sent["to"], json!(["bo@example.com"]));
    assert_eq!(sink.wait_for(2).await[1].to, ["bo@example.com"]);
}

async fn nobody_who_opted_out_is_written_to(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let contact = create(&app, &admin, "/contacts", json!({"first_name": "Cy", "last_name": "Oh", "email": "cy@example.com", "email_consent": true})).await;
    let withdrawn = app
        .patch(
            &format!("/contacts/{}", id(&contact)),
            &admin,
            json!({"email_consent": false}),
        )
        .await;
    assert_eq!(withdrawn.status(), 200);

    let problem = refused(
        &app,
        "post",
        &format!("/contacts/{}/emails", id(&contact)),
        &admin,
        json!({"subject": "Hi", "text": "Hi"}),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["to"]);
    assert!(problem.to_string().contains("opted out"), "{problem}");
    // The same person as a lead, or in copy, is not written to either.
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Cy", "last_name": "Oh", "email": "cy@example.com"}),
    )
    .await;
    refused(
        &app,
        "post",
        &format!("/leads/{}/emails", id(&lead)),
        &admin,
        json!({"subject": "Hi", "text": "Hi"}),
        422,
    )
    .await;
    let other = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Di", "last_name": "Ra", "email": "di@example.com"}),
    )
    .await;
    let problem = refused(
        &app,
        "post",
        &format!("/leads/{}/emails", id(&other)),
        &admin,
        json!({"cc": ["cy@example.com"], "subject": "Hi", "text": "Hi"}),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["cc"]);
    assert!(sink.messages().is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM email_messages").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activities").await, 0);
}

async fn the_daily_limit_stops_sending_with_a_clear_reason(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let mut body = settings_for(&sink);
    body["daily_limit"] = json!(2);
    configure(&app, &admin, body).await;
    let lead = ann(&app, &admin).await;
    let path = format!("/leads/{}/emails", id(&lead));
    // A failed send does not count against the day.
    sink.set_mode(Mode::RejectRecipient);
    refused(
        &app,
        "post",
        &path,
        &admin,
        json!({"subject": "1", "text": "1"}),
        502,
    )
    .await;
    sink.set_mode(Mode::Accept);
    create(&app, &admin, &path, json!({"subject": "2", "text": "2"})).await;
    create(&app, &admin, &path, json!({"subject": "3", "text": "3"})).await;
    let problem = refused(
        &app,
        "post",
        &path,
        &admin,
        json!({"subject": "4", "text": "4"}),
        429,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("daily sending limit of 2"),
        "{problem}"
    );
    assert_eq!(sink.messages().len(), 2);
    let list = json_of(app.get(&path, &admin).await).await;
    let statuses: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "sent", "sent", "failed"]);
}

/// A company's e-mails from records share a kept connection (one greeting and sign-in for
/// many messages); a test message opens its own; changed settings and a connection the
/// server closed while it waited get a new one, and no message is lost on the way.
async fn record_emails_share_a_kept_connection(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let lead = ann(&app, &admin).await;
    let path = format!("/leads/{}/emails", id(&lead));
    let send = |n: u32| {
        let (app, admin, path) = (&app, &admin, &path);
        async move {
            let body = json!({"subject": format!("Note {n}"), "text": "Hi"});
            let message = create(app, admin, path, body).await;
            assert_eq!(message["status"], "sent", "{message}");
        }
    };
    for n in 1..=3 {
        send(n).await;
    }
    assert_eq!(sink.connections(), 1, "three messages, one connection");
    let got = sink.wait_for(3).await;
    assert!(
        got.iter().all(|m| m.password.as_deref() == Some(PASSWORD)),
        "each one sent signed in"
    );

    // A test message checks the settings on a connection of its own.
    test_message(&app, &admin).await;
    assert_eq!(sink.connections(), 2);

    // A new password: a new connection, signed in with it.
    let mut changed = settings_for(&sink);
    changed["password"] = json!("another-Pa55word");
    configure(&app, &admin, changed).await;
    send(4).await;
    assert_eq!(sink.connections(), 3);
    let got = sink.wait_for(5).await;
    assert_eq!(got[4].password.as_deref(), Some("another-Pa55word"));
    send(5).await;
    assert_eq!(sink.connections(), 3, "kept again");

    // The server closes its idle connections: the next message goes on a new one.
    sink.close_idle();
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(6).await;
    assert_eq!(sink.connections(), 4);
    let got = sink.wait_for(7).await;
    assert_eq!(got.len(), 7);
    assert_eq!(got[6].header("Subject").as_deref(), Some("Note 6"));
}

async fn other_companies_and_roles_are_kept_out(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let lead = ann(&app, &admin).await;

    let other = app.other_company("Globex").await;
    refused(
        &app,
        "post",
        &format!("/leads/{}/emails", id(&lead)),
        &other,
        json!({"subject": "Hi", "text": "Hi"}),
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/leads/{}/emails", id(&lead)), &other)
            .await,
        404,
    )
    .await;
    // The other company's settings are its own (none).
    let theirs = json_of(app.get("/settings/email", &other).await).await;
    assert_eq!(theirs["host"], "");

    let rep = app.member(&admin, "sales").await;
    refused(
        &app,
        "put",
        "/settings/email",
        &rep,
        settings_for(&sink),
        403,
    )
    .await;
    refused(
        &app,
        "post",
        "/settings/email/test",
        &rep,
        json!({"to": "a@example.com"}),
        403,
    )
    .await;
    assert!(sink.messages().is_empty());
}

async fn invitations_are_emailed_when_email_is_enabled(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let role = app.role_id(&admin, "sales").await;
    // Without e-mail: the link only.
    let quiet = create(
        &app,
        &admin,
        "/users",
        json!({"email": "q@acme.test", "name": "Q", "role_id": role}),
    )
    .await;
    assert_eq!(quiet["invitation_emailed"], false);

    configure(&app, &admin, settings_for(&sink)).await;
    let invited = create(
        &app,
        &admin,
        "/users",
        json!({"email": "new@acme.test", "name": "New Person", "role_id": role}),
    )
    .await;
    assert_eq!(invited["invitation_emailed"], true, "{invited}");
    let url = invited["invitation_url"].as_str().unwrap();
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].to, ["new@acme.test"]);
    assert!(got[0].body().contains(url), "{}", got[0].data);
}

async fn a_password_is_reset_through_an_emailed_link(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let ask = |email: &str| {
        app.api(Method::POST, "/auth/password-reset", None)
            .json(&json!({ "email": email }))
            .send()
    };
    // Unknown or known, the same answer.
    assert_eq!(ask("nobody@acme.test").await.unwrap().status(), 202);
    assert_eq!(ask(ADMIN_EMAIL).await.unwrap().status(), 202);
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, [ADMIN_EMAIL]);
    let token = got[0]
        .body()
        .split("/reset-password/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let confirm = |token: String, password: &str| {
        app.api(Method::POST, "/auth/password-reset/confirm", None)
            .json(&json!({ "token": token, "password": password }))
            .send()
    };
    let weak = assert_problem(confirm(token.clone(), "short").await.unwrap(), 422).await;
    assert_eq!(fields_of(&weak), ["password"]);
    assert_eq!(
        confirm(token.clone(), "a-new-password-9")
            .await
            .unwrap()
            .status(),
        204
    );
    // Used once; every session ended; the new password signs in.
    let reused = assert_problem(confirm(token, "another-password-9").await.unwrap(), 422).await;
    assert_eq!(fields_of(&reused), ["token"]);
    assert_eq!(app.get("/me", &admin).await.status(), 401);
    app.login(ADMIN_EMAIL, "a-new-password-9").await;
}

async fn a_one_off_email_can_be_written_by_a_template(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, settings_for(&sink)).await;
    let lead = ann(&app, &admin).await;
    let template = create(
        &app,
        &admin,
        "/email-templates",
        json!({
            "name": "Welcome",
            "record_type": "lead",
            "subject": "Hello {{ lead.first_name }}",
            "html": "<p>Hi {{ lead.first_name }} {{ lead.last_name }}</p>",
            "text": "Hi {{ lead.first_name }} {{ lead.last_name }}",
        }),
    )
    .await;
    let path = format!("/leads/{}/emails", id(&lead));

    // The template gives what the body leaves out; a subject given wins.
    let message = create(&app, &admin, &path, json!({"template_id": template["id"]})).await;
    assert_eq!(message["subject"], "Hello Ann");
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].header("Subject").as_deref(), Some("Hello Ann"));
    assert!(got[0].body().contains("Hi Ann Lee"), "{}", got[0].body());
    let own = create(
        &app,
        &admin,
        &path,
        json!({"template_id": template["id"], "subject": "Our own words"}),
    )
    .await;
    assert_eq!(own["subject"], "Our own words");

    // A template of another type, an unknown one, or neither template nor text: 422, nothing sent.
    let deal_template = create(
        &app,
        &admin,
        "/email-templates",
        json!({"name": "Deal", "record_type": "deal", "subject": "About {{ deal.name }}", "html": "", "text": "x"}),
    )
    .await;
    for body in [
        json!({"template_id": deal_template["id"]}),
        json!({"template_id": uuid::Uuid::now_v7()}),
        json!({}),
    ] {
        let problem = refused(&app, "post", &path, &admin, body.clone(), 422).await;
        assert!(!fields_of(&problem).is_empty(), "{body}: {problem}");
    }
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM email_messages").await, 2);
}

both!(
    settings_are_sealed_never_shown_and_audited_redacted,
    bad_settings_are_refused_naming_each_field,
    a_test_email_reaches_the_server_with_rivets_headers,
    each_smtp_failure_is_told_in_plain_words,
    a_one_off_email_is_sent_once_and_shows_on_the_timeline,
    a_one_off_email_can_be_written_by_a_template,
    nobody_who_opted_out_is_written_to,
    the_daily_limit_stops_sending_with_a_clear_reason,
    other_companies_and_roles_are_kept_out,
    record_emails_share_a_kept_connection,
    invitations_are_emailed_when_email_is_enabled,
    a_password_is_reset_through_an_emailed_link,
);
