//! WhatsApp Business (issue 15 §4), against a local fake of the Graph API over real HTTP
//! (`rivet_tests::graph`): the settings keep their secrets sealed and unshown; a send reaches
//! the Graph API with the company's token and lands on the timeline, and is refused (nothing
//! sent, nothing written) without consent, without a number, outside the service window, or
//! when the Graph API refuses; the webhook answers the verification, takes signed messages
//! (onto the matching contact or lead, or a new lead) and statuses, once, and refuses a bad or
//! missing signature and an unknown number; one company's webhook cannot write into another.

use reqwest::{Method, Response, StatusCode};
use rivet_tests::graph::Graph;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app_with};
use std::time::{Duration, Instant};

const TOKEN: &str = "EAAG-test-access-token-zz9";
pub(crate) const SECRET: &str = "app-secret-zz9-plural-z-alpha";
const VERIFY: &str = "verify-me-zz9";
pub(crate) const NUMBER_ID: &str = "1098765432";

async fn start(db: Db) -> (TestApp, Session, Graph) {
    let app = spawn_app_with(db, |c| c.webhook_allow_private = true).await;
    let admin = app.admin().await;
    let graph = Graph::start().await;
    configure(&app, &admin, &graph, NUMBER_ID, SECRET).await;
    (app, admin, graph)
}

pub(crate) async fn configure(
    app: &TestApp,
    admin: &Session,
    graph: &Graph,
    number: &str,
    secret: &str,
) {
    let response = app
        .put(
            "/settings/whatsapp",
            admin,
            json!({"phone_number_id": number, "business_account_id": "2233", "access_token": TOKEN,
                   "app_secret": secret, "verify_token": VERIFY, "api_base_url": graph.base_url(),
                   "enabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

async fn contact(app: &TestApp, who: &Session, phone: Option<&str>, consent: bool) -> String {
    let response = app
        .post(
            "/contacts",
            who,
            json!({"first_name": "Ada", "last_name": "Lovelace", "phone": phone, "whatsapp_consent": consent}),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

fn template() -> Value {
    json!({"template": {"name": "order_update", "language": "en_US", "parameters": ["Ada", "42"]}})
}

fn inbound(number: &str, from: &str, wamid: &str, text: &str) -> Value {
    let now = chrono::Utc::now().timestamp().to_string();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "2233", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": number},
        "contacts": [{"profile": {"name": "Grace Hopper"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": now, "type": "text", "text": {"body": text}}]
    }}]}]})
}

fn status(number: &str, wamid: &str, status: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "2233", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": number},
        "statuses": [{"id": wamid, "status": status, "timestamp": "1765000100", "recipient_id": "447911123456",
                      "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
    }}]}]})
}

/// POST the webhook as Meta would, signed with `secret` (none: unsigned).
async fn deliver(app: &TestApp, payload: &Value, secret: Option<&str>) -> Response {
    let body = payload.to_string();
    let mut request = app
        .api(Method::POST, "/whatsapp/webhook", None)
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header(
            "x-hub-signature-256",
            rivet_domain::whatsapp::signature(secret, body.as_bytes()),
        );
    }
    request.body(body).send().await.unwrap()
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql(sql, vec![])
        .await
        .first()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .unwrap()
}

pub(crate) async fn whatsapp_activities(app: &TestApp, direction: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM activities WHERE kind = 'whatsapp' AND direction = '{direction}'"
        ),
    )
    .await
}

async fn settings_keep_their_secrets_sealed_and_never_show_them(db: Db) {
    let app = spawn_app_with(db, |c| c.webhook_allow_private = true).await;
    let admin = app.admin().await;
    let graph = Graph::start().await;
    let fresh = json_of(app.get("/settings/whatsapp", &admin).await).await;
    assert_eq!(fresh["enabled"], false);
    assert_eq!(fresh["api_base_url"], "https://graph.facebook.com/v21.0");
    assert_eq!(fresh["access_token_set"], false);

    // Enabling without the secrets names each missing one.
    let problem = assert_problem(
        app.put(
            "/settings/whatsapp",
            &admin,
            json!({"phone_number_id": "12ab", "enabled": true}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields_of(&problem),
        [
            "phone_number_id",
            "access_token",
            "app_secret",
            "verify_token"
        ]
    );

    configure(&app, &admin, &graph, NUMBER_ID, SECRET).await;
    let shown = app
        .get("/settings/whatsapp", &admin)
        .await
        .text()
        .await
        .unwrap();
    let view: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        (
            &view["access_token_set"],
            &view["app_secret_set"],
            &view["enabled"]
        ),
        (&json!(true), &json!(true), &json!(true))
    );
    assert!(!shown.contains(TOKEN) && !shown.contains(SECRET), "{shown}");

    let raw = app
        .sql(
            "SELECT access_token, app_secret FROM whatsapp_settings",
            vec![],
        )
        .await;
    let sealed_token: String = raw[0].try_get("", "access_token").unwrap();
    let sealed_secret: String = raw[0].try_get("", "app_secret").unwrap();
    assert!(sealed_token.starts_with("v1:") && !sealed_token.contains(TOKEN));
    assert_eq!(app.state.secrets.open(&sealed_token).unwrap(), TOKEN);
    assert_eq!(app.state.secrets.open(&sealed_secret).unwrap(), SECRET);

    // A change without the secrets keeps them.
    let kept = json_of(
        app.put(
            "/settings/whatsapp",
            &admin,
            json!({"phone_number_id": NUMBER_ID, "verify_token": VERIFY, "api_base_url": graph.base_url(), "enabled": true}),
        )
        .await,
    )
    .await;
    assert_eq!(kept["access_token_set"], true);
    let again = app
        .sql("SELECT access_token FROM whatsapp_settings", vec![])
        .await;
    assert_eq!(
        again[0].try_get::<String>("", "access_token").unwrap(),
        sealed_token
    );

    // Audited, the secrets redacted (neither clear nor sealed in the trail).
    let audit = app
        .get("/audit?resource=settings&resource_id=whatsapp", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(audit.contains("[redacted]"), "{audit}");
    for secret in [TOKEN, SECRET, sealed_token.as_str()] {
        assert!(!audit.contains(secret), "{audit}");
    }
    let trail = app.sql("SELECT changes FROM audit_log", vec![]).await;
    assert!(!trail.is_empty());

    // Settings permission; a phone number id is one company's.
    let sales = app.member(&admin, "sales").await;
    assert_problem(app.put("/settings/whatsapp", &sales, json!({})).await, 403).await;
    let globex = app.other_company("Globex").await;
    let taken = assert_problem(
        app.put(
            "/settings/whatsapp",
            &globex,
            json!({"phone_number_id": NUMBER_ID}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(fields_of(&taken), ["phone_number_id"]);
}

async fn a_template_reaches_the_graph_api_and_lands_on_the_timeline(db: Db) {
    let (app, admin, graph) = start(db).await;
    let id = contact(&app, &admin, Some("+44 7911 123456"), true).await;
    let response = app
        .post(&format!("/contacts/{id}/whatsapp"), &admin, template())
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let message = json_of(response).await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].token.as_deref(), Some(TOKEN));
    assert_eq!(sent[0].phone_number_id, NUMBER_ID);
    assert_eq!(sent[0].body["to"], "447911123456");
    assert_eq!(sent[0].body["type"], "template");
    assert_eq!(sent[0].body["template"]["name"], "order_update");
    assert_eq!(sent[0].body["template"]["language"]["code"], "en_US");
    assert_eq!(
        sent[0].body["template"]["components"][0]["parameters"][0]["text"],
        "Ada"
    );
    assert_eq!(message["wamid"].as_str(), sent[0].wamid.as_deref());
    assert_eq!(message["status"], "queued");
    assert_eq!(message["direction"], "outbound");
    assert_eq!(message["phone"], "+447911123456");

    let thread = json_of(app.get(&format!("/contacts/{id}/whatsapp"), &admin).await).await;
    assert_eq!(thread["data"].as_array().unwrap().len(), 1);
    let timeline = app
        .get(&format!("/contacts/{id}/timeline"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("whatsapp"), "{timeline}");
    assert_eq!(whatsapp_activities(&app, "outbound").await, 1);
}

async fn sends_are_refused_without_consent_a_number_the_window_or_the_graph_api(db: Db) {
    let (app, admin, graph) = start(db).await;
    let no_consent = contact(&app, &admin, Some("+447911123456"), false).await;
    let no_phone = contact(&app, &admin, None, true).await;
    let ok = contact(&app, &admin, Some("+447911123457"), true).await;
    let cases = [
        (&no_consent, template(), "whatsapp_consent"),
        (&no_phone, template(), "phone"),
        (&ok, json!({"text": "Hello there"}), "text"),
        (&ok, json!({}), "template"),
        (
            &ok,
            json!({"template": {"name": "Bad Name", "language": "en"}}),
            "template.name",
        ),
    ];
    for (id, body, field) in cases {
        let problem = assert_problem(
            app.post(&format!("/contacts/{id}/whatsapp"), &admin, body.clone())
                .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
    }
    // A lead without consent is refused too.
    let lead = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Doe", "phone": "+447911123458"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let problem = assert_problem(
        app.post(&format!("/leads/{lead}/whatsapp"), &admin, template())
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["whatsapp_consent"]);
    assert!(graph.sent().is_empty(), "nothing reaches WhatsApp");

    // WhatsApp's refusal, in its words; nothing recorded.
    graph.fail_with(400, "(#131030) Recipient phone number not in allowed list");
    let problem = assert_problem(
        app.post(&format!("/contacts/{ok}/whatsapp"), &admin, template())
            .await,
        502,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Recipient phone number not in allowed list"),
        "{problem}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM whatsapp_messages").await,
        0
    );
    assert_eq!(whatsapp_activities(&app, "outbound").await, 0);
    graph.succeed();

    // Another company's record is not found; a role without activities.create is refused.
    let globex = app.other_company("Globex").await;
    assert_problem(
        app.post(&format!("/contacts/{ok}/whatsapp"), &globex, template())
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/contacts/{ok}/whatsapp"), &globex).await,
        404,
    )
    .await;
    let reader = app
        .member_with_grants(
            &admin,
            "Reader",
            json!([{"resource": "contacts", "action": "read", "scope": "all"}]),
        )
        .await;
    assert_problem(
        app.post(&format!("/contacts/{ok}/whatsapp"), &reader, template())
            .await,
        403,
    )
    .await;
    assert_eq!(
        graph.sent().len(),
        1,
        "only the refused send reached WhatsApp"
    );
}

async fn the_webhook_answers_the_verification_challenge_only_to_a_known_token(db: Db) {
    let (app, _admin, _graph) = start(db).await;
    let ok = app
        .api(
            Method::GET,
            &format!("/whatsapp/webhook?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app
        .api(
            Method::GET,
            "/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=nope-nope-nope&hub.challenge=1",
            None,
        )
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 403).await;
    // Without the parameters it is not a verification at all.
    let bare = app
        .api(Method::GET, "/whatsapp/webhook", None)
        .send()
        .await
        .unwrap();
    assert_problem(bare, 400).await;
}

async fn inbound_messages_land_on_the_matching_record_or_a_new_lead_once(db: Db) {
    let (app, admin, graph) = start(db).await;
    let id = contact(&app, &admin, Some("+44 7911 123456"), true).await;
    let hello = inbound(
        NUMBER_ID,
        "447911123456",
        "wamid.IN1",
        "Hello, is it in stock?",
    );
    let response = deliver(&app, &hello, Some(SECRET)).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let thread = json_of(app.get(&format!("/contacts/{id}/whatsapp"), &admin).await).await;
    let messages = thread["data"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["body"], "Hello, is it in stock?");
    assert_eq!(whatsapp_activities(&app, "inbound").await, 1);

    // Inside the service window free text may go back.
    let reply = app
        .post(
            &format!("/contacts/{id}/whatsapp"),
            &admin,
            json!({"text": "Yes, it is."}),
        )
        .await;
    assert_eq!(reply.status(), 201, "{:?}", reply.text().await);
    assert_eq!(graph.sent()[0].body["text"]["body"], "Yes, it is.");

    // A replay writes nothing twice.
    let replay = json_of(deliver(&app, &hello, Some(SECRET)).await).await;
    assert_eq!(replay["replayed"], 1);
    assert_eq!(whatsapp_activities(&app, "inbound").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM whatsapp_messages WHERE direction = 'inbound'"
        )
        .await,
        1
    );

    // An unknown number becomes a new lead from WhatsApp.
    let stranger = inbound(NUMBER_ID, "16502530000", "wamid.IN2", "Hi!");
    let taken = json_of(deliver(&app, &stranger, Some(SECRET)).await).await;
    assert_eq!(taken["new_leads"], 1);
    let leads = json_of(app.get("/leads?source=WhatsApp", &admin).await).await;
    let lead = &leads["data"][0];
    assert_eq!(lead["phone"], "+16502530000");
    assert_eq!(lead["last_name"], "Grace Hopper");
    assert_eq!(lead["whatsapp_consent"], false);
    let lead_id = lead["id"].as_str().unwrap();
    let thread = json_of(app.get(&format!("/leads/{lead_id}/whatsapp"), &admin).await).await;
    assert_eq!(thread["data"][0]["body"], "Hi!");

    // ... and reaches lead scoring as a WhatsApp reply.
    let _workers = app.start_workers();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lead = json_of(app.get(&format!("/leads/{lead_id}"), &admin).await).await;
        if lead["engagement_score"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no engagement from the reply: {lead}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let score = app
        .get(&format!("/leads/{lead_id}/score"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(score.contains("whatsapp_replied"), "{score}");
}

async fn bad_signatures_and_unknown_numbers_are_refused_and_write_nothing(db: Db) {
    let (app, admin, _graph) = start(db).await;
    contact(&app, &admin, Some("+447911123456"), true).await;
    let payload = inbound(NUMBER_ID, "447911123456", "wamid.BAD", "hi");
    let wrong = deliver(&app, &payload, Some("not-the-secret")).await;
    assert_problem(wrong, 401).await;
    let missing = deliver(&app, &payload, None).await;
    assert_problem(missing, 401).await;
    let unknown = deliver(
        &app,
        &inbound("5550000", "447911123456", "wamid.UNK", "hi"),
        Some(SECRET),
    )
    .await;
    assert_problem(unknown, 404).await;
    // A body altered after signing does not pass either.
    let body = payload.to_string();
    let signature = rivet_domain::whatsapp::signature(SECRET, body.as_bytes());
    let altered = app
        .api(Method::POST, "/whatsapp/webhook", None)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.replace("hi", "HI"))
        .send()
        .await
        .unwrap();
    assert_problem(altered, 401).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM whatsapp_messages").await,
        0
    );
    assert_eq!(whatsapp_activities(&app, "inbound").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM leads").await,
        0,
        "no lead made"
    );
    // Malformed bodies are problems too.
    let not_json = app
        .api(Method::POST, "/whatsapp/webhook", None)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400).await;

    // The refusal is a stored security event.
    let rid = format!("wa{}", uuid::Uuid::new_v4().simple());
    let body = payload.to_string();
    let refused = app
        .api(Method::POST, "/whatsapp/webhook", None)
        .header("content-type", "application/json")
        .header("x-request-id", &rid)
        .header("x-hub-signature-256", "sha256=00")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rows = json_of(
            app.get(&format!("/system/logs?request_id={rid}"), &admin)
                .await,
        )
        .await;
        let found = rows["data"].as_array().unwrap().iter().any(|r| {
            r["target"] == "rivet::security"
                && r["fields"]["event"] == "whatsapp_signature_rejected"
        });
        if found {
            break;
        }
        assert!(Instant::now() < deadline, "no security event: {rows}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn statuses_move_a_message_forward_only(db: Db) {
    let (app, admin, graph) = start(db).await;
    let id = contact(&app, &admin, Some("+447911123456"), true).await;
    for _ in 0..2 {
        let response = app
            .post(&format!("/contacts/{id}/whatsapp"), &admin, template())
            .await;
        assert_eq!(response.status(), 201);
    }
    let sent = graph.sent();
    let (first, second) = (
        sent[0].wamid.clone().unwrap(),
        sent[1].wamid.clone().unwrap(),
    );
    for (wamid, state) in [
        (&first, "sent"),
        (&first, "delivered"),
        (&first, "read"),
        // Late and replayed statuses change nothing.
        (&first, "delivered"),
        (&first, "read"),
        (&second, "failed"),
    ] {
        let response = deliver(&app, &status(NUMBER_ID, wamid, state), Some(SECRET)).await;
        assert_eq!(response.status(), 200);
    }
    let thread = json_of(app.get(&format!("/contacts/{id}/whatsapp"), &admin).await).await;
    let by_wamid = |w: &str| {
        thread["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["wamid"] == w)
            .cloned()
            .unwrap()
    };
    let read = by_wamid(&first);
    assert_eq!(read["status"], "read");
    assert!(
        read["sent_at"].is_string()
            && read["delivered_at"].is_string()
            && read["read_at"].is_string()
    );
    let failed = by_wamid(&second);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], "Message undeliverable");
}

async fn one_companys_webhook_cannot_write_into_another(db: Db) {
    let (app, admin, graph) = start(db).await;
    let ours = contact(&app, &admin, Some("+447911123456"), true).await;
    let globex = app.other_company("Globex").await;
    configure(&app, &globex, &graph, "2000111", "globex-secret-zz9").await;
    let theirs = contact(&app, &globex, Some("+447911123456"), true).await;

    // Signed with Globex's secret, for our number: refused.
    let forged = deliver(
        &app,
        &inbound(NUMBER_ID, "447911123456", "wamid.X1", "forged"),
        Some("globex-secret-zz9"),
    )
    .await;
    assert_problem(forged, 401).await;
    // Globex's own message lands on Globex's contact only.
    let own = deliver(
        &app,
        &inbound("2000111", "447911123456", "wamid.X2", "for Globex"),
        Some("globex-secret-zz9"),
    )
    .await;
    assert_eq!(own.status(), 200);
    let theirs_thread = json_of(
        app.get(&format!("/contacts/{theirs}/whatsapp"), &globex)
            .await,
    )
    .await;
    assert_eq!(theirs_thread["data"].as_array().unwrap().len(), 1);
    let ours_thread = json_of(app.get(&format!("/contacts/{ours}/whatsapp"), &admin).await).await;
    assert!(ours_thread["data"].as_array().unwrap().is_empty());
    // Neither company reaches the other's conversation.
    assert_problem(
        app.get(&format!("/contacts/{theirs}/whatsapp"), &admin)
            .await,
        404,
    )
    .await;
}

both!(
    settings_keep_their_secrets_sealed_and_never_show_them,
    a_template_reaches_the_graph_api_and_lands_on_the_timeline,
    sends_are_refused_without_consent_a_number_the_window_or_the_graph_api,
    the_webhook_answers_the_verification_challenge_only_to_a_known_token,
    inbound_messages_land_on_the_matching_record_or_a_new_lead_once,
    bad_signatures_and_unknown_numbers_are_refused_and_write_nothing,
    statuses_move_a_message_forward_only,
    one_companys_webhook_cannot_write_into_another,
);
