//! E-mail tracking (issue 15 §3), through a real SMTP server the test starts
//! (`rivet_tests::smtp`): a message sent from a record carries signed click links, the open
//! pixel, the unsubscribe link and the RFC 8058 headers; opening and clicking are recorded
//! (with their events and lead scoring's signal) and a click goes only to the message's own
//! link; an altered, unsigned or misplaced token is a 404; the one-click unsubscribe withdraws
//! consent and later sends are refused; inbound replies and bounces, signed per company, thread
//! onto the sent message, and a bad signature or another company's secret writes nothing.

use crate::accounts::id;
use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Message, Mode, SmtpSink};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app_with};
use std::time::{Duration, Instant};

const HTML: &str = r#"<html><body><p>Hi Ann, our <a href="https://example.com/pricing?plan=pro&amp;y=1">prices</a> and <a href='https://example.com/docs'>docs</a>, or <a href="mailto:sales@acme.test">write</a>.</p></body></html>"#;

/// The installation's public address, which the links are made under.
const PUBLIC: &str = "https://crm.acme.test";

async fn app(db: Db) -> TestApp {
    spawn_app_with(db, |c| {
        c.smtp_timeout_secs = 2;
        c.public_url = Some(PUBLIC.into());
    })
    .await
}

async fn configure(app: &TestApp, admin: &Session, sink: &SmtpSink) {
    let body = json!({
        "enabled": true,
        "host": "127.0.0.1",
        "port": sink.port,
        "tls": "none",
        "allow_plaintext": true,
        "from_address": "sales@acme.test",
    });
    let response = app.put("/settings/email", admin, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    let rows = app.sql(sql, vec![]).await;
    rows[0].try_get_by_index::<i64>(0).unwrap()
}

pub(crate) async fn events(app: &TestApp, event: &str) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) FROM outbox WHERE event = '{event}'"),
    )
    .await
}

/// The tokens of the tracking links of `kind` (`o`, `c`, `u`) in the message, in order.
pub fn tokens(mail: &Message, kind: char) -> Vec<String> {
    let body = mail.body();
    let marker = format!("/t/{kind}/");
    let mut out = Vec::new();
    let mut rest = body.as_str();
    while let Some(at) = rest.find(&marker) {
        rest = &rest[at + marker.len()..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

/// Send an HTML e-mail from `path` (`/leads/{id}`) and return the message and what the sink got.
async fn send(app: &TestApp, who: &Session, sink: &SmtpSink, record: &str) -> (Value, Message) {
    let before = sink.messages().len();
    let message = create(
        app,
        who,
        &format!("{record}/emails"),
        json!({"subject": "Hello Ann", "text": "Shall we talk?", "html": HTML}),
    )
    .await;
    assert_eq!(message["status"], "sent", "{message}");
    let got = sink.wait_for(before + 1).await;
    (message, got[before].clone())
}

async fn lead(app: &TestApp, who: &Session) -> String {
    let lead = create(
        app,
        who,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
    )
    .await;
    format!("/leads/{}", id(&lead))
}

async fn message_of(app: &TestApp, who: &Session, record: &str) -> Value {
    let list = json_of(app.get(&format!("{record}/emails"), who).await).await;
    list["data"][0].clone()
}

async fn fetch(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap()
}

async fn a_sent_message_is_tracked_and_redirects_only_to_its_own_links(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, &sink).await;
    let _workers = app.start_workers();
    let record = lead(&app, &admin).await;
    let (message, mail) = send(&app, &admin, &sink, &record).await;

    // The wire: links rewritten, the pixel, the unsubscribe link in both bodies and the
    // RFC 8058 headers; the original addresses are not in the message at all.
    let body = mail.body();
    assert!(!body.contains("example.com/pricing"), "{body}");
    assert!(!body.contains("example.com/docs"), "{body}");
    assert!(body.contains("mailto:sales@acme.test"), "{body}");
    assert!(body.contains("width=\"1\" height=\"1\""), "{body}");
    assert!(body.contains("Unsubscribe"), "{body}");
    assert!(body.contains("To stop receiving these e-mails"), "{body}");
    let clicks = tokens(&mail, 'c');
    let opens = tokens(&mail, 'o');
    let unsubscribes = tokens(&mail, 'u');
    assert_eq!((clicks.len(), opens.len(), unsubscribes.len()), (2, 1, 1));
    assert_eq!(
        mail.header("List-Unsubscribe"),
        Some(format!("<{PUBLIC}/t/u/{}>", unsubscribes[0]))
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    // What is stored is what the user wrote.
    assert_eq!(message["html"], HTML);

    // Two opens: counted twice, one event, the lead's engagement rises.
    for _ in 0..2 {
        let response = fetch(&app, Method::GET, &format!("/t/o/{}", opens[0])).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/gif");
        assert!(response.bytes().await.unwrap().starts_with(b"GIF89a"));
    }
    let tracked = message_of(&app, &admin, &record).await;
    assert_eq!(tracked["open_count"], 2);
    assert!(tracked["opened_at"].is_string());
    assert_eq!(events(&app, "email.opened").await, 1);
    // The record's page shows the message with its opens on the e-mail card.
    let (cookie, _) = app.web_session(&admin).await;
    let page = app
        .client
        .get(app.url(&record))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let card = &page[page.find("E-mails sent").expect("the e-mail card")..];
    assert!(
        card.contains("Hello Ann") && card.contains("<td>2</td>"),
        "{card}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lead = json_of(app.get(&record, &admin).await).await;
        if lead["engagement_score"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "engagement never rose: {lead}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A click: 302 to the message's own link (entities decoded), whatever the query says.
    for path in [
        format!("/t/c/{}", clicks[0]),
        format!("/t/c/{}?url=https://evil.example/", clicks[0]),
        format!("/t/c/{}?redirect=https%3A%2F%2Fevil.example", clicks[0]),
    ] {
        let response = fetch(&app, Method::GET, &path).await;
        assert_eq!(response.status(), 302, "{path}");
        assert_eq!(
            response.headers()["location"],
            "https://example.com/pricing?plan=pro&y=1"
        );
    }
    let response = fetch(&app, Method::GET, &format!("/t/c/{}", clicks[1])).await;
    assert_eq!(response.headers()["location"], "https://example.com/docs");
    let tracked = message_of(&app, &admin, &record).await;
    assert_eq!(tracked["click_count"], 4);
    assert_eq!(events(&app, "email.clicked").await, 1);

    // Altered, unsigned, of another kind, of another path: 404, nothing counted.
    let mut altered = clicks[0].clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    for path in [
        format!("/t/c/{altered}"),
        format!("/t/o/{}", clicks[0]),
        format!("/t/c/{}", opens[0]),
        format!("/t/u/{}", clicks[0]),
        "/t/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "/t/c/https%3A%2F%2Fevil.example".to_owned(),
    ] {
        let response = fetch(&app, Method::GET, &path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.headers().get("location").is_none());
    }
    let tracked = message_of(&app, &admin, &record).await;
    assert_eq!(
        (
            tracked["click_count"].clone(),
            tracked["open_count"].clone()
        ),
        (json!(4), json!(2))
    );
}

async fn tracking_can_be_turned_off_but_the_unsubscribe_link_stays(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, &sink).await;
    let mut settings = json_of(app.get("/settings/email", &admin).await).await;
    assert_eq!(
        (
            settings["track_opens"].clone(),
            settings["track_clicks"].clone()
        ),
        (json!(true), json!(true))
    );
    for key in ["password_set", "dkim_key_set", "inbound_secret_set"] {
        settings.as_object_mut().unwrap().remove(key);
    }
    settings["track_opens"] = json!(false);
    settings["track_clicks"] = json!(false);
    settings["allow_plaintext"] = json!(true);
    let response = app.put("/settings/email", &admin, settings).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let record = lead(&app, &admin).await;
    let (_, mail) = send(&app, &admin, &sink, &record).await;
    assert!(mail.body().contains("https://example.com/pricing"));
    assert!(tokens(&mail, 'c').is_empty() && tokens(&mail, 'o').is_empty());
    assert_eq!(tokens(&mail, 'u').len(), 1);
    assert!(mail.header("List-Unsubscribe").is_some());
}

async fn one_click_unsubscribe_withdraws_consent_and_later_sends_are_refused(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, &sink).await;

    // A contact: the page asks first, the one-click POST unsubscribes.
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Bo", "last_name": "Ng", "email": "bo@example.com", "email_consent": true}),
    )
    .await;
    let record = format!("/contacts/{}", id(&contact));
    let (_, mail) = send(&app, &admin, &sink, &record).await;
    let token = tokens(&mail, 'u').remove(0);
    let page = fetch(&app, Method::GET, &format!("/t/u/{token}")).await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("bo@example.com") && text.contains("<form method=\"post\""),
        "{text}"
    );
    // Looking is not unsubscribing.
    assert_eq!(
        json_of(app.get(&record, &admin).await).await["email_consent"],
        true
    );

    for _ in 0..2 {
        let response = app
            .client
            .post(app.url(&format!("/t/u/{token}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let after = json_of(app.get(&record, &admin).await).await;
    assert_eq!(after["email_consent"], false);
    assert_eq!(after["email_consent_source"], "unsubscribe link");
    assert_eq!(events(&app, "email.unsubscribed").await, 1);
    assert!(message_of(&app, &admin, &record).await["unsubscribed_at"].is_string());
    let problem = assert_problem(
        app.post(
            &format!("{record}/emails"),
            &admin,
            json!({"subject": "Again", "text": "Hello?"}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("opted out"), "{problem}");

    // A lead (no consent field of its own): its address is suppressed, a further send is a 422.
    let record = lead(&app, &admin).await;
    let (_, mail) = send(&app, &admin, &sink, &record).await;
    let token = tokens(&mail, 'u').remove(0);
    let response = fetch(&app, Method::POST, &format!("/t/u/{token}")).await;
    assert_eq!(response.status(), 200);
    let sent = sink.messages().len();
    assert_problem(
        app.post(
            &format!("{record}/emails"),
            &admin,
            json!({"subject": "Again", "text": "Hello?"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(sink.messages().len(), sent);
    // An altered token unsubscribes nobody.
    let response = fetch(&app, Method::POST, &format!("/t/u/{token}x")).await;
    assert_eq!(response.status(), 404);
}

pub async fn rotate(app: &TestApp, admin: &Session) -> (String, String) {
    let response = app
        .post("/settings/email/inbound-secret", admin, json!({}))
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let body = json_of(response).await;
    (
        body["secret"].as_str().unwrap().to_owned(),
        body["company_id"].as_str().unwrap().to_owned(),
    )
}

pub async fn post_inbound(
    app: &TestApp,
    company: &str,
    secret: &str,
    raw: &str,
) -> reqwest::Response {
    app.api(Method::POST, "/inbound/email", None)
        .header("content-type", "message/rfc822")
        .header("x-rivet-company", company)
        .header(
            "x-rivet-signature",
            rivet_domain::whatsapp::signature(secret, raw.as_bytes()),
        )
        .body(raw.to_owned())
        .send()
        .await
        .unwrap()
}

pub fn reply(to: &str, own: &str) -> String {
    format!(
        "From: Ann Lee <ann@example.com>\r\nTo: sales@acme.test\r\nSubject: Re: Hello Ann\r\n\
         Message-ID: <{own}@example.com>\r\nIn-Reply-To: {to}\r\nReferences: {to}\r\n\r\n\
         Yes, Tuesday works.\r\n"
    )
}

pub fn bounce(of: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: sales@acme.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
         Final-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: sales@acme.test\r\n\
         Message-ID: {of}\r\nSubject: Hello Ann\r\n--b--\r\n"
    )
}

async fn inbound_replies_and_bounces_thread_onto_the_sent_message(db: Db) {
    let app = app(db).await;
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    configure(&app, &admin, &sink).await;

    // The secret: shown once, sealed, needs the settings permission.
    let sales = app.member(&admin, "sales").await;
    assert_problem(
        app.post("/settings/email/inbound-secret", &sales, json!({}))
            .await,
        403,
    )
    .await;
    let (secret, company) = rotate(&app, &admin).await;
    let settings = json_of(app.get("/settings/email", &admin).await).await;
    assert_eq!(settings["inbound_secret_set"], true);
    assert!(!settings.to_string().contains(&secret));

    let record = lead(&app, &admin).await;
    let (message, _) = send(&app, &admin, &sink, &record).await;
    let sent_id = message["message_id"].as_str().unwrap().to_owned();
    let activities = "SELECT COUNT(*) FROM activities";
    let before = count(&app, activities).await;

    // Bad, missing or foreign signatures: 401, nothing written.
    let raw = reply(&sent_id, "r1");
    let wrong = post_inbound(&app, &company, "not the secret", &raw).await;
    assert_problem(wrong, 401).await;
    let unsigned = app
        .api(Method::POST, "/inbound/email", None)
        .header("x-rivet-company", &company)
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_problem(unsigned, 401).await;
    let nobody = post_inbound(&app, "not-a-company", &secret, &raw).await;
    assert_problem(nobody, 400).await;
    let unknown = post_inbound(&app, &uuid::Uuid::now_v7().to_string(), &secret, &raw).await;
    assert_problem(unknown, 401).await;
    // Another company's secret cannot write into this one; its own company has no such thread.
    let other = app.other_company("Globex").await;
    let (other_secret, other_company) = rotate(&app, &other).await;
    assert_problem(post_inbound(&app, &company, &other_secret, &raw).await, 401).await;
    let foreign = post_inbound(&app, &other_company, &other_secret, &raw).await;
    assert_eq!(foreign.status(), 202);
    assert_eq!(json_of(foreign).await["outcome"], "ignored");
    assert_eq!(count(&app, activities).await, before);
    assert_eq!(events(&app, "email.replied").await, 0);
    assert!(message_of(&app, &admin, &record).await["replied_at"].is_null());

    // The reply: an inbound email activity on the lead, replied_at, email.replied.
    let response = post_inbound(&app, &company, &secret, &raw).await;
    assert_eq!(response.status(), 202);
    let taken = json_of(response).await;
    assert_eq!(taken["outcome"], "replied", "{taken}");
    assert_eq!(taken["email_id"], message["id"]);
    let activity = json_of(
        app.get(
            &format!("/activities/{}", taken["activity_id"].as_str().unwrap()),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(activity["kind"], "email");
    assert_eq!(activity["direction"], "inbound");
    assert_eq!(activity["subject"], "Re: Hello Ann");
    assert!(activity["body"].as_str().unwrap().contains("Tuesday"));
    assert!(message_of(&app, &admin, &record).await["replied_at"].is_string());
    assert_eq!(events(&app, "email.replied").await, 1);
    let payload = app
        .sql(
            "SELECT CAST(payload AS TEXT) FROM outbox WHERE event = 'email.replied'",
            vec![],
        )
        .await;
    let payload: String = payload[0].try_get_by_index(0).unwrap();
    assert!(
        payload.contains(taken["activity_id"].as_str().unwrap()),
        "{payload}"
    );

    // The same reply again: taken once.
    let again = json_of(post_inbound(&app, &company, &secret, &raw).await).await;
    assert_eq!(again["outcome"], "replayed");
    assert_eq!(count(&app, activities).await, before + 1);

    // A reply to nothing the company sent: ignored.
    let stray = reply("<nobody@elsewhere.example>", "r2");
    let ignored = json_of(post_inbound(&app, &company, &secret, &stray).await).await;
    assert_eq!(ignored["outcome"], "ignored");

    // A delivery status report: bounced_at and email.bounced.
    let response = post_inbound(&app, &company, &secret, &bounce(&sent_id)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(json_of(response).await["outcome"], "bounced");
    assert!(message_of(&app, &admin, &record).await["bounced_at"].is_string());
    assert_eq!(events(&app, "email.bounced").await, 1);

    // Not a message at all: 400.
    let garbage = post_inbound(&app, &company, &secret, "").await;
    assert_problem(garbage, 400).await;

    // A new secret replaces the old one.
    let (fresh, _) = rotate(&app, &admin).await;
    assert_ne!(fresh, secret);
    assert_problem(post_inbound(&app, &company, &secret, &stray).await, 401).await;
}

both!(
    a_sent_message_is_tracked_and_redirects_only_to_its_own_links,
    tracking_can_be_turned_off_but_the_unsubscribe_link_stays,
    one_click_unsubscribe_withdraws_consent_and_later_sends_are_refused,
    inbound_replies_and_bounces_thread_onto_the_sent_message,
);
