//! Lead conversion (issue 14 §3): a lead becomes an account, a contact and a deal in one
//! transaction — new ones made from the lead or chosen ones the suggestions name — its
//! activities and tasks move to the contact, and it is converted once; refused whole without
//! the permissions, across companies and on bad input, on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
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

async fn convert(app: &TestApp, who: &Session, lead: &Value, body: Value) -> reqwest::Response {
    app.post(&format!("/leads/{}/convert", id(lead)), who, body)
        .await
}

/// How many records the caller's list of `path` holds.
async fn count(app: &TestApp, who: &Session, path: &str) -> usize {
    let page = json_of(app.get(&format!("{path}?limit=200"), who).await).await;
    page["data"].as_array().map_or(0, Vec::len)
}

async fn ada(app: &TestApp, who: &Session) -> Value {
    created(
        app,
        who,
        "/leads",
        json!({"first_name": "Ada", "last_name": "Lovelace", "title": "CTO",
               "email": "ada@analytical.co.uk", "phone": "+44 20 7946 0000",
               "company_name": "Analytical Engines Ltd",
               "website": "https://www.analytical.co.uk/about", "industry": "Software",
               "employee_count": 40, "city": "London", "country": "GB"}),
    )
    .await
}

async fn a_lead_converts_into_a_new_account_contact_and_deal(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = ada(&app, &admin).await;
    let call = created(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "Discovery",
               "links": [{"record_type": "lead", "record_id": id(&lead)}]}),
    )
    .await;
    let task = created(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Send the deck", "related_type": "lead", "related_id": id(&lead)}),
    )
    .await;

    let response = convert(
        &app,
        &admin,
        &lead,
        json!({"deal": {"amount": "5000.00", "close_date": "2027-01-31"}}),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let done = json_of(response).await;
    let (account, contact, deal) = (&done["account"], &done["contact"], &done["deal"]);
    assert_eq!(account["name"], "Analytical Engines Ltd");
    assert_eq!(account["domain"], "analytical.co.uk");
    assert_eq!(account["industry"], "Software");
    assert_eq!(account["billing_city"], "London");
    assert_eq!(done["account_created"], true);
    assert_eq!(contact["first_name"], "Ada");
    assert_eq!(contact["email"], "ada@analytical.co.uk");
    assert_eq!(contact["title"], "CTO");
    assert_eq!(contact["account_id"], account["id"]);
    assert_eq!(done["contact_created"], true);
    assert_eq!(deal["name"], "Analytical Engines Ltd");
    assert_eq!(deal["amount"], "5000.00");
    assert_eq!(deal["account_id"], account["id"]);
    assert_eq!(deal["contact_id"], contact["id"]);
    assert_eq!(done["moved"], json!({"activities": 1, "tasks": 1}));
    for record in [account, contact, deal] {
        assert_eq!(record["owner_id"], lead["owner_id"]);
    }

    // The lead keeps what it became.
    let converted = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(converted["status"], "converted");
    assert!(converted["converted_at"].is_string());
    assert_eq!(converted["converted_account_id"], account["id"]);
    assert_eq!(converted["converted_contact_id"], contact["id"]);
    assert_eq!(converted["converted_deal_id"], deal["id"]);
    // Its activity and task are the contact's now.
    let call = json_of(app.get(&format!("/activities/{}", id(&call)), &admin).await).await;
    assert_eq!(
        call["links"],
        json!([{"record_type": "contact", "record_id": contact["id"]}])
    );
    let task = json_of(app.get(&format!("/tasks/{}", id(&task)), &admin).await).await;
    assert_eq!(task["related_type"], "contact");
    assert_eq!(task["related_id"], contact["id"]);
    // Audited, with its event.
    let events = json_of(
        app.get(&format!("/events?record_id={}", id(&lead)), &admin)
            .await,
    )
    .await;
    let converted_event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "lead.converted")
        .cloned()
        .expect("a lead.converted event");
    assert_eq!(converted_event["data"]["contact_id"], contact["id"]);
    let trail = json_of(
        app.get(
            &format!("/audit?resource=leads&resource_id={}", id(&lead)),
            &admin,
        )
        .await,
    )
    .await;
    assert!(
        trail["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["action"] == "convert"),
        "{trail}"
    );

    // Twice: a conflict, and nothing made again.
    let before = (
        count(&app, &admin, "/accounts").await,
        count(&app, &admin, "/contacts").await,
        count(&app, &admin, "/deals").await,
    );
    let problem = assert_problem(convert(&app, &admin, &lead, json!({})).await, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("converted"),
        "{problem}"
    );
    let after = (
        count(&app, &admin, "/accounts").await,
        count(&app, &admin, "/contacts").await,
        count(&app, &admin, "/deals").await,
    );
    assert_eq!(before, after);
}

async fn a_lead_converts_into_the_account_and_contact_it_is_like(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = created(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Inc", "domain": "acme.example"}),
    )
    .await;
    let ann = created(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"}),
    )
    .await;
    let lead = created(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ANN@acme.example",
               "company_name": "ACME, Inc.", "website": "http://acme.example"}),
    )
    .await;
    let options = json_of(
        app.get(&format!("/leads/{}/convert", id(&lead)), &admin)
            .await,
    )
    .await;
    assert_eq!(options["account_name"], "ACME, Inc.");
    let named = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(named(&options["accounts"]), [id(&acme)]);
    assert_eq!(named(&options["contacts"]), [id(&ann)]);

    let response = convert(
        &app,
        &admin,
        &lead,
        json!({"account_id": id(&acme), "contact_id": id(&ann), "deal": {"name": "Acme renewal"}}),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let done = json_of(response).await;
    assert_eq!(done["account_created"], false);
    assert_eq!(done["contact_created"], false);
    assert_eq!(done["account"]["id"], acme["id"]);
    // The chosen contact had no account: it is the account's now.
    assert_eq!(done["contact"]["account_id"], acme["id"]);
    assert_eq!(done["deal"]["name"], "Acme renewal");
    assert_eq!(count(&app, &admin, "/accounts").await, 1);
    assert_eq!(count(&app, &admin, "/contacts").await, 1);

    // A contact of another account is not this account's to take.
    let other = created(&app, &admin, "/accounts", json!({"name": "Globex"})).await;
    let hank = created(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Scorpio", "account_id": id(&other)}),
    )
    .await;
    let second = created(&app, &admin, "/leads", json!({"last_name": "Second"})).await;
    let problem = assert_problem(
        convert(
            &app,
            &admin,
            &second,
            json!({"account_id": id(&acme), "contact_id": id(&hank)}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["contact_id"]);
    let second = json_of(app.get(&format!("/leads/{}", id(&second)), &admin).await).await;
    assert_eq!(second["status"], "new");
}

async fn a_conversion_is_refused_whole_without_its_permissions_or_across_companies(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = ada(&app, &admin).await;
    // May update leads and create contacts, but not accounts.
    let rep = app
        .member_with_grants(
            &admin,
            "converter",
            json!([{"resource": "leads", "action": "read", "scope": "all"},
                   {"resource": "leads", "action": "update", "scope": "all"},
                   {"resource": "contacts", "action": "read", "scope": "all"},
                   {"resource": "contacts", "action": "create", "scope": "all"},
                   {"resource": "accounts", "action": "read", "scope": "all"}]),
        )
        .await;
    assert_problem(convert(&app, &rep, &lead, json!({})).await, 403).await;
    let reader = app.member(&admin, "read_only").await;
    assert_problem(convert(&app, &reader, &lead, json!({})).await, 403).await;
    // Nothing of it was kept.
    assert_eq!(count(&app, &admin, "/contacts").await, 0);
    assert_eq!(count(&app, &admin, "/accounts").await, 0);
    let unchanged = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(unchanged["status"], "new");
    assert!(unchanged["converted_at"].is_null());

    // Another company finds neither the lead nor, from its own lead, this company's account.
    let other = app.other_company("Other Co").await;
    assert_problem(convert(&app, &other, &lead, json!({})).await, 404).await;
    assert_problem(
        app.get(&format!("/leads/{}/convert", id(&lead)), &other)
            .await,
        404,
    )
    .await;
    let mine = created(&app, &admin, "/accounts", json!({"name": "Mine"})).await;
    let theirs = created(&app, &other, "/leads", json!({"last_name": "Theirs"})).await;
    let problem = assert_problem(
        convert(&app, &other, &theirs, json!({"account_id": id(&mine)})).await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["account_id"]);
    assert_eq!(count(&app, &other, "/contacts").await, 0);

    // A contact the member may read but not change is not theirs to attach to an account.
    let loner = created(&app, &admin, "/contacts", json!({"last_name": "Loner"})).await;
    let picker = app
        .member_with_grants(
            &admin,
            "picker",
            json!([{"resource": "leads", "action": "read", "scope": "all"},
                   {"resource": "leads", "action": "update", "scope": "all"},
                   {"resource": "contacts", "action": "read", "scope": "all"},
                   {"resource": "contacts", "action": "update", "scope": "own"},
                   {"resource": "accounts", "action": "read", "scope": "all"}]),
        )
        .await;
    assert_problem(
        convert(
            &app,
            &picker,
            &lead,
            json!({"account_id": id(&mine), "contact_id": id(&loner)}),
        )
        .await,
        403,
    )
    .await;
    let loner = json_of(app.get(&format!("/contacts/{}", id(&loner)), &admin).await).await;
    assert!(loner["account_id"].is_null());
}

async fn bad_conversion_input_is_refused_and_nothing_is_kept(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = ada(&app, &admin).await;
    assert_problem(
        convert(&app, &admin, &lead, json!({"colour": "red"})).await,
        400,
    )
    .await;
    for (body, field) in [
        (json!({"account_id": "nope"}), "account_id"),
        (json!({"deal": {"amount": "lots"}}), "deal.amount"),
        (
            json!({"deal": {"close_date": "someday"}}),
            "deal.close_date",
        ),
        (json!({"deal": {"stage_id": uuid_v4()}}), "deal.stage_id"),
        (json!({"owner_id": uuid_v4()}), "owner_id"),
        (
            json!({"account_id": uuid_v4(), "account_name": "Both"}),
            "account_name",
        ),
    ] {
        let problem = assert_problem(convert(&app, &admin, &lead, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
    }
    // A contact a blocking duplicate rule refuses: the conversion is refused whole (409 with
    // the match), and the account it had made is gone with it.
    created(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Lovelace", "email": "ada@analytical.co.uk"}),
    )
    .await;
    let rules = json!({"default_country": null, "rules": [
        {"kind": "exact_email", "action": "block", "against": ["leads", "contacts"]}]});
    assert_eq!(
        app.put("/duplicates/settings", &admin, rules)
            .await
            .status(),
        200
    );
    let problem = assert_problem(convert(&app, &admin, &lead, json!({})).await, 409).await;
    assert_eq!(problem["type"], "https://rivet.dev/problems/duplicate");
    assert_eq!(count(&app, &admin, "/accounts").await, 0);
    assert_eq!(count(&app, &admin, "/contacts").await, 1);
    let unchanged = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(unchanged["status"], "new");
}

/// A sales rep converts their own lead: what it becomes is theirs, within their own scope.
async fn a_sales_rep_converts_their_own_lead(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let lead = created(
        &app,
        &rep,
        "/leads",
        json!({"first_name": "Rita", "last_name": "Rep", "company_name": "Reps Ltd"}),
    )
    .await;
    let response = convert(&app, &rep, &lead, json!({"deal": {"amount": "10.00"}})).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let done = json_of(response).await;
    for record in [&done["account"], &done["contact"], &done["deal"]] {
        assert_eq!(record["owner_id"], json!(rep.user_id));
    }
    assert_eq!(count(&app, &rep, "/accounts").await, 1);
    assert_eq!(count(&app, &rep, "/deals").await, 1);
}

fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A batch: converted in a job, each lead on its own — one into the account like its company,
/// one converted already (skipped), one a blocking duplicate rule refuses (failed) — with a
/// result per lead.
async fn a_batch_of_leads_is_converted_in_a_job_each_on_its_own(db: Db) {
    use rivet_server::worker::{self, WorkerOptions};
    use std::time::{Duration, Instant};
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = created(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Inc", "domain": "acme.co.uk"}),
    )
    .await;
    let at_acme = created(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Lee", "company_name": "Acme", "website": "acme.co.uk"}),
    )
    .await;
    let done = ada(&app, &admin).await;
    assert_eq!(convert(&app, &admin, &done, json!({})).await.status(), 200);
    let blocked = created(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Twin", "email": "twin@example.com"}),
    )
    .await;
    created(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Twin", "email": "twin@example.com"}),
    )
    .await;
    let rules = json!({"default_country": null, "rules": [
        {"kind": "exact_email", "action": "block", "against": ["contacts"]}]});
    assert_eq!(
        app.put("/duplicates/settings", &admin, rules)
            .await
            .status(),
        200
    );
    // Bad selections are refused at once.
    assert_problem(app.post("/leads/convert", &admin, json!({})).await, 422).await;
    assert_problem(
        app.post("/leads/convert", &admin, json!({"filter": "limit=5"}))
            .await,
        422,
    )
    .await;
    // So is a deal no lead could get, before anything is queued.
    let problem = assert_problem(
        app.post(
            "/leads/convert",
            &admin,
            json!({"ids": [id(&blocked)], "deal": {"amount": "lots"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["deal.amount"]);
    let reader = app.member(&admin, "read_only").await;
    assert_problem(
        app.post("/leads/convert", &reader, json!({"ids": [id(&blocked)]}))
            .await,
        403,
    )
    .await;

    let response = app
        .post(
            "/leads/convert",
            &admin,
            json!({"ids": [id(&at_acme), id(&done), id(&blocked)],
                   "deal": {"amount": "100.00"}}),
        )
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let job = json_of(response).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let options = WorkerOptions {
        id: "conversion-test".into(),
        concurrency: 1,
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(50),
        backoff_base: chrono::Duration::milliseconds(50),
        shutdown_grace: Duration::from_secs(1),
    };
    drop(worker::spawn_with(app.state.clone(), options, rx));
    let deadline = Instant::now() + Duration::from_secs(30);
    let finished = loop {
        let current = json_of(app.get(&format!("/jobs/{}", id(&job)), &admin).await).await;
        if current["state"] == "succeeded" {
            break current;
        }
        assert!(Instant::now() < deadline, "the job never ended: {current}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = stop.send(true);
    let result = &finished["result"];
    assert_eq!(
        (&result["converted"], &result["skipped"], &result["failed"]),
        (&json!(1), &json!(1), &json!(1)),
        "{result}"
    );
    let results = result["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "converted");
    assert_eq!(results[0]["account_id"], acme["id"]);
    assert!(results[0]["deal_id"].is_string());
    assert_eq!(results[1]["status"], "skipped");
    assert_eq!(results[2]["status"], "failed");
    assert!(
        results[2]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("like this one"),
        "{result}"
    );
    let lee = json_of(app.get(&format!("/leads/{}", id(&at_acme)), &admin).await).await;
    assert_eq!(lee["status"], "converted");
    assert_eq!(lee["converted_account_id"], acme["id"]);
    let twin = json_of(app.get(&format!("/leads/{}", id(&blocked)), &admin).await).await;
    assert_eq!(twin["status"], "new");
}

both!(
    a_lead_converts_into_a_new_account_contact_and_deal,
    a_lead_converts_into_the_account_and_contact_it_is_like,
    a_conversion_is_refused_whole_without_its_permissions_or_across_companies,
    bad_conversion_input_is_refused_and_nothing_is_kept,
    a_batch_of_leads_is_converted_in_a_job_each_on_its_own,
    a_sales_rep_converts_their_own_lead,
);
