//! Lead intake's doors (issue 13 §1): the ingestion API for integrations (per-lead results, an
//! idempotency key that makes a retry create nothing) and web-to-lead forms (defined by an
//! admin; posted by visitors from allowed sites, with UTM parameters, hidden values, consent,
//! a honeypot and no open redirect) — each lead through the same intake as `POST /leads`, on
//! SQLite and PostgreSQL.

use reqwest::header;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, ids_of, json_of, spawn_app,
};

/// An API key with `role` as a caller.
async fn api_key(app: &TestApp, admin: &Session, role: &str) -> Session {
    let role = app.role_id(admin, role).await;
    let created = json_of(
        app.post(
            "/api-keys",
            admin,
            json!({"name": "CRM sync", "role_id": role}),
        )
        .await,
    )
    .await;
    Session {
        token: created["secret"].as_str().unwrap().to_owned(),
        refresh_token: String::new(),
        user_id: admin.user_id,
        company_id: admin.company_id,
    }
}

async fn leads(app: &TestApp, who: &Session) -> Vec<Value> {
    let page = json_of(app.get("/leads?limit=200", who).await).await;
    page["data"].as_array().unwrap().clone()
}

async fn ingest(app: &TestApp, who: &Session, key: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app
        .api(reqwest::Method::POST, "/ingest/leads", Some(who))
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

fn block_email() -> Value {
    json!({"default_country": null, "rules": [
        {"kind": "exact_email", "action": "block", "against": ["leads"]},
        {"kind": "exact_phone", "action": "warn", "against": ["leads"]},
    ]})
}

async fn ingestion_takes_each_lead_on_its_own_and_reports_it(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let known = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Known", "email": "known@acme.test", "phone": "+44 20 7946 0001"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        app.put("/duplicates/settings", &admin, block_email())
            .await
            .status(),
        200
    );
    let key = api_key(&app, &admin, "sales").await;

    let response = ingest(
        &app,
        &key,
        None,
        json!({"leads": [
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.test", "source": "zapier"},
            {"last_name": "Bad", "email": "not an address"},
            {"last_name": "Odd", "favourite": "blue"},
            {"last_name": "Again", "email": "KNOWN@acme.test"},
            {"last_name": "Caller", "phone": "+44 (20) 7946-0001"},
        ]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let result = json_of(response).await;
    assert_eq!(
        (
            &result["created"],
            &result["duplicates"],
            &result["rejected"]
        ),
        (&json!(2), &json!(1), &json!(2)),
        "{result}"
    );
    let items = result["results"].as_array().unwrap();
    let statuses: Vec<&str> = items
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "rejected", "rejected", "duplicate", "created"]
    );
    assert!(items.iter().enumerate().all(|(i, item)| item["index"] == i));
    assert_eq!(items[1]["errors"][0]["field"], "email", "{result}");
    assert!(
        items[2]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("favourite"),
        "{result}"
    );
    assert_eq!(items[3]["duplicate_of"], known["id"]);
    assert_eq!(items[3]["duplicates"][0]["rule"], "exact_email");
    // A warning rule's match comes back with the created lead.
    assert_eq!(items[4]["duplicates"][0]["id"], known["id"]);
    assert_eq!(items[4]["duplicates"][0]["action"], "warn");

    // Only the created leads exist, made as the key's caller and audited.
    let all = leads(&app, &admin).await;
    assert_eq!(all.len(), 3);
    let ada = all.iter().find(|l| l["last_name"] == "Lovelace").unwrap();
    assert_eq!(ada["id"], items[0]["id"]);
    assert_eq!(ada["source"], "zapier");
    let history = json_of(
        app.get(
            &format!("/leads/{}/history", ada["id"].as_str().unwrap()),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(history["data"].as_array().unwrap().len(), 1, "{history}");
}

/// The leads of one request are taken in together, yet each is screened against those before
/// it, as one request per lead would be: a blocked e-mail repeated later in the request is
/// refused as a duplicate of the lead the request just created, a warned phone comes back with
/// it, and every created lead is audited on its own.
async fn leads_of_one_request_are_screened_against_each_other(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    assert_eq!(
        app.put("/duplicates/settings", &admin, block_email())
            .await
            .status(),
        200
    );
    let key = api_key(&app, &admin, "sales").await;
    let response = ingest(
        &app,
        &key,
        None,
        json!({"leads": [
            {"last_name": "First", "email": "same@acme.test", "phone": "+44 20 7946 0002"},
            {"last_name": "Second", "email": "SAME@acme.test"},
            {"last_name": "Third", "email": "third@acme.test", "phone": "+44 (20) 7946-0002"},
        ]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let result = json_of(response).await;
    let items = result["results"].as_array().unwrap();
    let statuses: Vec<&str> = items
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["created", "duplicate", "created"], "{result}");
    assert_eq!(items[1]["duplicate_of"], items[0]["id"], "{result}");
    assert_eq!(items[2]["duplicates"][0]["id"], items[0]["id"], "{result}");
    assert_eq!(items[2]["duplicates"][0]["action"], "warn", "{result}");
    let all = leads(&app, &admin).await;
    assert_eq!(all.len(), 2);
    for lead in &all {
        let history = json_of(
            app.get(
                &format!("/leads/{}/history", lead["id"].as_str().unwrap()),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(history["data"][0]["action"], "create", "{history}");
    }
}

async fn an_idempotency_key_answers_a_retry_without_creating_again(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let key = api_key(&app, &admin, "sales").await;
    let body = json!({"leads": [{"last_name": "Once", "email": "once@acme.test"}]});

    let first = ingest(&app, &key, Some("sync-2026-12-06-001"), body.clone()).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first).await;
    let again = ingest(&app, &key, Some("sync-2026-12-06-001"), body.clone()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again).await, first);
    assert_eq!(
        leads(&app, &admin).await.len(),
        1,
        "the retry created nothing"
    );

    // The same key with another body is a mistake of the client's.
    let problem = assert_problem(
        ingest(
            &app,
            &key,
            Some("sync-2026-12-06-001"),
            json!({"leads": [{"last_name": "Twice"}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["Idempotency-Key"]);
    for bad in ["", &"k".repeat(201), "with space"] {
        let problem = assert_problem(ingest(&app, &key, Some(bad), body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), ["Idempotency-Key"], "{bad:?}");
    }
    // Keys are the company's own: another company's same key is a new request.
    let other = app.other_company("Globex").await;
    let theirs = ingest(&app, &other, Some("sync-2026-12-06-001"), body.clone()).await;
    assert_eq!(theirs.status(), 200);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    assert_eq!(leads(&app, &other).await.len(), 1);
    assert_eq!(leads(&app, &admin).await.len(), 1);
}

/// A request that died after claiming its key (its answer and its leads go in one transaction,
/// so it saved neither) holds the key for a while — a retry is told it is still running — and
/// then lets a retry take it over and run.
async fn a_key_whose_request_died_is_taken_over_once_stale(db: Db) {
    use rivet_store::intake::{CLAIM_STALE_AFTER, Claim, claim_request};
    use rivet_store::sea_orm::ConnectionTrait;
    use rivet_store::sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let key = api_key(&app, &admin, "sales").await;
    let body = json!({"leads": [{"last_name": "Later", "email": "later@acme.test"}]});
    let hash = rivet_server::api::ingest::body_hash(body["leads"].as_array().unwrap());
    let store = &app.state.store;
    let actor =
        rivet_store::sessions::load_actor(store, admin.company_id, admin.user_id, None, None)
            .await
            .unwrap()
            .expect("the member's actor");
    // The request that died: its claim, nothing else.
    let claimed = claim_request(store, &actor, "sync-dead-1", &hash)
        .await
        .unwrap();
    assert_eq!(claimed, Claim::New);

    let problem = assert_problem(
        ingest(&app, &key, Some("sync-dead-1"), body.clone()).await,
        409,
    )
    .await;
    assert_eq!(fields_of(&problem), ["Idempotency-Key"]);
    assert!(leads(&app, &admin).await.is_empty());

    // The claim grows stale.
    let aged = Query::update()
        .table(Alias::new("ingest_requests"))
        .value(
            Alias::new("created_at"),
            chrono::Utc::now() - CLAIM_STALE_AFTER - chrono::Duration::seconds(1),
        )
        .and_where(Expr::col(Alias::new("key")).eq("sync-dead-1"))
        .to_owned();
    let system = store.system();
    system.execute(&aged).await.expect("age the claim");
    let retried = ingest(&app, &key, Some("sync-dead-1"), body.clone()).await;
    assert_eq!(retried.status(), 200);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    let retried = json_of(retried).await;
    assert_eq!(retried["created"], 1, "{retried}");
    // And its answer is the key's from now on.
    let again = ingest(&app, &key, Some("sync-dead-1"), body.clone()).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again).await, retried);
    assert_eq!(leads(&app, &admin).await.len(), 1);
}

async fn ingestion_refuses_what_is_not_a_batch(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let key = api_key(&app, &admin, "sales").await;
    let problem = assert_problem(ingest(&app, &key, None, json!({"leads": []})).await, 422).await;
    assert_eq!(fields_of(&problem), ["leads"]);
    // An item that is not an object is not a lead with bad fields: the request is refused.
    let problem = assert_problem(
        ingest(
            &app,
            &key,
            None,
            json!({"leads": [{"last_name": "A"}, [null, null]]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["leads[1]"]);
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"last_name": format!("L{i}")}))
        .collect();
    let problem = assert_problem(ingest(&app, &key, None, json!({"leads": many})).await, 422).await;
    assert_eq!(fields_of(&problem), ["leads"]);
    assert_problem(
        ingest(&app, &key, None, json!({"leads": [], "extra": true})).await,
        400,
    )
    .await;
    // A thousand leads fit in one request.
    let thousand: Vec<Value> = (0..1000)
        .map(|i| json!({"last_name": format!("Lead {i}"), "company_name": "x".repeat(500)}))
        .collect();
    let response = ingest(&app, &key, None, json!({"leads": thousand})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["created"], 1000);
    // Without a key, or with one that may not create leads: refused.
    let anonymous = app
        .client
        .post(app.url("/api/v1/ingest/leads"))
        .json(&json!({"leads": [{"last_name": "X"}]}))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
    let reader = api_key(&app, &admin, "read_only").await;
    assert_problem(
        ingest(&app, &reader, None, json!({"leads": [{"last_name": "X"}]})).await,
        403,
    )
    .await;
}

fn contact_form() -> Value {
    json!({
        "name": "Contact us",
        "fields": [
            {"field": "first_name"},
            {"field": "last_name", "required": true},
            {"field": "email", "label": "Work e-mail", "required": true},
            {"field": "company_name"},
        ],
        "hidden": {"source": "website", "tags": "inbound, web"},
        "consent_text": "I agree to be contacted about Rivet.",
        "success_url": "https://www.example.com/thanks",
        "allowed_origins": ["https://www.example.com"],
    })
}

async fn a_lead_form_is_defined_checked_and_kept_to_its_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app.post("/lead-forms", &admin, contact_form()).await;
    assert_eq!(response.status(), 201);
    let form = json_of(response).await;
    let id = form["id"].as_str().unwrap().to_owned();
    assert_eq!(form["owner_id"], json!(admin.user_id));
    assert_eq!(form["active"], true);
    assert_eq!(form["submissions"], 0);
    assert!(form["key"].as_str().unwrap().len() >= 20, "{form}");
    assert_eq!(
        json_of(app.get("/lead-forms", &admin).await).await["data"][0]["id"],
        id.as_str()
    );

    for (body, fields) in [
        (json!({"name": "", "fields": []}), vec!["name", "fields"]),
        (
            json!({"name": "F", "fields": [{"field": "owner_id"}, {"field": "company_name"}]}),
            vec!["fields[0].field", "fields"],
        ),
        (
            json!({"name": "F", "fields": [{"field": "email"}], "hidden": {"status": "qualified"}}),
            vec!["hidden.status"],
        ),
        (
            json!({"name": "F", "fields": [{"field": "email"}], "success_url": "javascript:alert(1)"}),
            vec!["success_url"],
        ),
        (
            json!({"name": "F", "fields": [{"field": "email"}], "allowed_origins": ["*"]}),
            vec!["allowed_origins[0]"],
        ),
    ] {
        let problem = assert_problem(app.post("/lead-forms", &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{problem}");
    }
    assert_problem(
        app.post(
            "/lead-forms",
            &admin,
            json!({"name": "F", "fields": [], "colour": 1}),
        )
        .await,
        400,
    )
    .await;

    // Change it; the key stays.
    let mut changed = contact_form();
    changed["name"] = json!("Talk to sales");
    changed["active"] = json!(false);
    let updated = json_of(app.put(&format!("/lead-forms/{id}"), &admin, changed).await).await;
    assert_eq!(updated["name"], "Talk to sales");
    assert_eq!(updated["key"], form["key"]);
    assert_eq!(updated["active"], false);

    // A sales rep may not see or change forms; another company does not find them.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.get("/lead-forms", &rep).await, 403).await;
    assert_problem(app.post("/lead-forms", &rep, contact_form()).await, 403).await;
    let other = app.other_company("Globex").await;
    assert_problem(app.get(&format!("/lead-forms/{id}"), &other).await, 404).await;
    assert_problem(app.delete(&format!("/lead-forms/{id}"), &other).await, 404).await;
    assert!(
        json_of(app.get("/lead-forms", &other).await).await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The owner must be a member of the company.
    let mut foreign = contact_form();
    foreign["owner_id"] = json!(other.user_id);
    let problem = assert_problem(app.post("/lead-forms", &admin, foreign).await, 422).await;
    assert_eq!(fields_of(&problem), ["owner_id"]);

    assert_eq!(
        app.delete(&format!("/lead-forms/{id}"), &admin)
            .await
            .status(),
        204
    );
    assert_problem(app.get(&format!("/lead-forms/{id}"), &admin).await, 404).await;
}

/// A visitor's form post from `origin`.
async fn post_form(
    app: &TestApp,
    key: &str,
    origin: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/f/{key}")))
        .header(header::ORIGIN, origin)
        .header(
            header::REFERER,
            format!("{origin}/pricing?utm_source=newsletter&utm_campaign=winter"),
        )
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn a_visitor_posts_a_form_and_becomes_a_lead(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let form = json_of(app.post("/lead-forms", &admin, contact_form()).await).await;
    let key = form["key"].as_str().unwrap().to_owned();
    let site = "https://www.example.com";

    // The form's page and the snippet to embed.
    let page = app
        .client
        .get(app.url(&format!("/f/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Work e-mail") && page.contains("name=\"consent\""),
        "{page}"
    );
    let embed = app
        .client
        .get(app.url(&format!("/f/{key}/embed")))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), 200);
    assert!(
        embed.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let embed = embed.text().await.unwrap();
    assert!(embed.starts_with("<form"), "{embed}");
    assert!(embed.contains(&format!("/f/{key}\"")), "{embed}");
    assert!(embed.contains("name=\"utm_source\""), "{embed}");

    // A post from the company's site: a lead, and the visitor is sent to the success page.
    let response = post_form(
        &app,
        &key,
        site,
        &[
            ("first_name", "Grace"),
            ("last_name", "Hopper"),
            ("email", "grace@navy.test"),
            ("consent", "on"),
            ("owner_id", "someone else"),
            ("status", "qualified"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[header::LOCATION],
        "https://www.example.com/thanks"
    );
    let all = leads(&app, &admin).await;
    assert_eq!(all.len(), 1);
    let lead = &all[0];
    assert_eq!(lead["last_name"], "Hopper");
    assert_eq!(lead["source"], "website");
    assert_eq!(lead["tags"], json!(["inbound", "web"]));
    assert_eq!(lead["utm_source"], "newsletter");
    assert_eq!(lead["utm_campaign"], "winter");
    assert_eq!(
        lead["status"], "new",
        "a visitor sets only the form's fields"
    );
    assert_eq!(lead["owner_id"], json!(admin.user_id));

    // Another site may not post it; nothing is made.
    let refused = post_form(
        &app,
        &key,
        "https://evil.test",
        &[
            ("last_name", "Evil"),
            ("email", "e@evil.test"),
            ("consent", "on"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 403);
    // Missing required fields or consent: the form again, with what is missing.
    let missing = post_form(&app, &key, site, &[("first_name", "Only")]).await;
    assert_eq!(missing.status(), 422);
    let text = missing.text().await.unwrap();
    assert!(text.contains("Work e-mail: is required"), "{text}");
    assert!(text.contains("Consent: must be ticked"), "{text}");
    // A bot fills the honeypot: it is told all went well, and nothing is made.
    let bot = post_form(
        &app,
        &key,
        site,
        &[
            ("last_name", "Bot"),
            ("email", "bot@spam.test"),
            ("consent", "on"),
            ("url", "http://spam.test"),
        ],
    )
    .await;
    assert_eq!(bot.status(), 303);
    assert_eq!(leads(&app, &admin).await.len(), 1);

    // A script on the site posts JSON, and may read the answer.
    let response = app
        .client
        .post(app.url(&format!("/f/{key}")))
        .header(header::ORIGIN, site)
        .json(&json!({"last_name": "Script", "email": "script@site.test", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        site
    );
    assert_eq!(json_of(response).await, json!({"ok": true}));
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&format!("/f/{key}")))
        .header(header::ORIGIN, site)
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        site
    );
    let problem = assert_problem(
        app.client
            .post(app.url(&format!("/f/{key}")))
            .header(header::ORIGIN, site)
            .json(&json!({"email": "x@site.test"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["last_name", "consent"]);

    // A blocked duplicate is taken quietly: the visitor learns nothing, nothing is made.
    app.put("/duplicates/settings", &admin, block_email()).await;
    let again = post_form(
        &app,
        &key,
        site,
        &[
            ("last_name", "Hopper"),
            ("email", "GRACE@navy.test"),
            ("consent", "on"),
        ],
    )
    .await;
    assert_eq!(again.status(), 303);
    assert_eq!(leads(&app, &admin).await.len(), 2);
    // Every post is counted: two leads, a bot, a duplicate.
    let id = form["id"].as_str().unwrap();
    assert_eq!(
        json_of(app.get(&format!("/lead-forms/{id}"), &admin).await).await["submissions"],
        4
    );

    // A form that is off, or a key nobody has, is not found.
    let mut off = contact_form();
    off["active"] = json!(false);
    app.put(&format!("/lead-forms/{id}"), &admin, off).await;
    let gone = post_form(
        &app,
        &key,
        site,
        &[("last_name", "Late"), ("email", "l@x.test")],
    )
    .await;
    assert_eq!(gone.status(), 404);
    let unknown = app
        .client
        .get(app.url("/f/no-such-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let _ = ids_of;
}

async fn a_signed_in_user_posting_a_form_is_a_visitor_like_any_other(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mut open = contact_form();
    open["allowed_origins"] = json!([]);
    open["success_url"] = Value::Null;
    open["consent_text"] = Value::Null;
    let form = json_of(app.post("/lead-forms", &admin, open).await).await;
    let key = form["key"].as_str().unwrap();
    // No CSRF token is asked of a form post, even with a session cookie or a bearer token.
    let response = app
        .client
        .post(app.url(&format!("/f/{key}")))
        .bearer_auth(&admin.token)
        .header(header::COOKIE, "rivet_session=whatever")
        .form(&[("last_name", "Walk-in"), ("email", "walk@in.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Thank you"));
    assert_eq!(leads(&app, &admin).await.len(), 1);
}

/// A form is the company's door: its posts make leads even when its owner's own role may
/// not create them (a read-only member owning the form), owned by that member; the post's log
/// line is saved with the lead.
async fn a_form_owned_by_a_member_who_may_not_create_leads_still_takes_posts(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let reader = app.member(&admin, "read_only").await;
    let mut body = contact_form();
    body["owner_id"] = json!(reader.user_id);
    let response = app.post("/lead-forms", &admin, body).await;
    assert_eq!(response.status(), 201);
    let form = json_of(response).await;
    let key = form["key"].as_str().unwrap().to_owned();
    let posted = post_form(
        &app,
        &key,
        "https://www.example.com",
        &[
            ("last_name", "Reader"),
            ("email", "reader@visitor.test"),
            ("consent", "on"),
        ],
    )
    .await;
    assert_eq!(posted.status(), 303);
    let made = leads(&app, &admin).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["owner_id"], json!(reader.user_id));
    // The member still may not create a lead themselves.
    assert_problem(
        app.post("/leads", &reader, json!({"last_name": "Nope"}))
            .await,
        403,
    )
    .await;
    let id = form["id"].as_str().unwrap();
    assert_eq!(
        json_of(app.get(&format!("/lead-forms/{id}"), &admin).await).await["submissions"],
        1
    );
}

both!(
    a_form_owned_by_a_member_who_may_not_create_leads_still_takes_posts,
    ingestion_takes_each_lead_on_its_own_and_reports_it,
    leads_of_one_request_are_screened_against_each_other,
    an_idempotency_key_answers_a_retry_without_creating_again,
    a_key_whose_request_died_is_taken_over_once_stale,
    ingestion_refuses_what_is_not_a_batch,
    a_lead_form_is_defined_checked_and_kept_to_its_company,
    a_visitor_posts_a_form_and_becomes_a_lead,
    a_signed_in_user_posting_a_form_is_a_visitor_like_any_other,
);
