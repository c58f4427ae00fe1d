//! Duplicate detection's first rules (issue 13 §2): a lead's possible duplicates among the
//! leads and contacts the caller may read, by the normalized e-mail (case, Gmail dots and
//! `+tags`) and phone (E.164), kept current on update, within scope and company; the keys of
//! rows written before `m0017_match_keys` are filled by its backfill — on SQLite and
//! PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> String {
    let response = app.post(path, who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

/// `(record_type, id, rule)` of each duplicate of `lead`, surest first.
async fn duplicates(app: &TestApp, who: &Session, lead: &str) -> Vec<(String, String, String)> {
    let response = app.get(&format!("/leads/{lead}/duplicates"), who).await;
    assert_eq!(response.status(), 200);
    let page = json_of(response).await;
    assert!(page["next_cursor"].is_null());
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["action"], "warn", "{d}");
            assert_eq!(d["confidence"], 1.0, "{d}");
            (
                d["record_type"].as_str().unwrap().to_owned(),
                d["id"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triple(record_type: &str, id: &str, rule: &str) -> (String, String, String) {
    (record_type.into(), id.into(), rule.into())
}

async fn a_leads_duplicates_are_found_by_normalized_email_and_phone(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let ann = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "Ann.Lee+news@gmail.com"}),
    )
    .await;
    let again = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Annie", "last_name": "Lee", "email": "annlee@googlemail.com",
               "phone": "+44 20 7946 0958"}),
    )
    .await;
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Someone", "phone": "+44 (20) 7946-0958"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Other", "email": "ann.lee@example.com", "phone": "+1 555 0100"}),
    )
    .await;

    let found = duplicates(&app, &admin, &again).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.contains(&triple("lead", &ann, "exact_email")),
        "{found:?}"
    );
    assert!(
        found.contains(&triple("contact", &contact, "exact_phone")),
        "{found:?}"
    );
    assert_eq!(
        duplicates(&app, &admin, &ann).await,
        [triple("lead", &again, "exact_email")]
    );

    // The keys follow the record: a changed e-mail matches no more.
    let changed = app
        .patch(
            &format!("/leads/{again}"),
            &admin,
            json!({"email": "someone.else@gmail.com"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        duplicates(&app, &admin, &again).await,
        [triple("contact", &contact, "exact_phone")]
    );
    assert!(duplicates(&app, &admin, &ann).await.is_empty());
}

async fn duplicates_stay_within_scope_and_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let admins = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Admin's", "email": "shared@acme.test"}),
    )
    .await;
    let reps = create(
        &app,
        &rep,
        "/leads",
        json!({"last_name": "Rep's", "email": "SHARED@acme.test"}),
    )
    .await;
    let other = app.other_company("Globex").await;
    let theirs = create(
        &app,
        &other,
        "/leads",
        json!({"last_name": "Theirs", "email": "shared@acme.test"}),
    )
    .await;

    // The rep may not read the admin's lead: it is not shown to them.
    assert!(duplicates(&app, &rep, &reps).await.is_empty());
    assert_eq!(
        duplicates(&app, &admin, &reps).await,
        [triple("lead", &admins, "exact_email")]
    );
    // Another company's lead is neither a duplicate nor readable.
    assert!(duplicates(&app, &other, &theirs).await.is_empty());
    assert_problem(
        app.get(&format!("/leads/{theirs}/duplicates"), &admin)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/leads/{admins}/duplicates"), &rep).await,
        404,
    )
    .await;
    assert_problem(app.get("/leads/not-an-id/duplicates", &admin).await, 404).await;
}

async fn rows_written_before_the_keys_get_them_from_the_backfill(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let first = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "First", "email": "first.last@gmail.com"}),
    )
    .await;
    let second = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Second", "email": "firstlast@gmail.com"}),
    )
    .await;
    // As an older version left them: no keys.
    use sea_orm::ConnectionTrait;
    let store = &app.state.store;
    store
        .system()
        .execute_unprepared(
            "UPDATE leads SET email_key = NULL, phone_key = NULL, domain_key = NULL, \
             name_key = NULL, company_key = NULL, name_block = NULL",
        )
        .await
        .unwrap();
    assert!(duplicates(&app, &admin, &second).await.is_empty());
    let filled = rivet_store::duplicates::backfill(store.system())
        .await
        .unwrap();
    assert_eq!(filled, 2);
    assert_eq!(
        duplicates(&app, &admin, &second).await,
        [triple("lead", &first, "exact_email")]
    );
    // Run again, it finds nothing left to fill.
    assert_eq!(
        rivet_store::duplicates::backfill(store.system())
            .await
            .unwrap(),
        0
    );
}

async fn a_person_being_typed_is_checked_before_saving(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let ann = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ann", "email": "ann@example.com", "phone": "+1 415 555 0100"}),
    )
    .await;
    let check = |body: Value| {
        let request = app.post("/duplicates/check", &admin, body);
        async move {
            let response = request.await;
            assert_eq!(response.status(), 200);
            let page = json_of(response).await;
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["id"].as_str().unwrap().to_owned(),
                        d["rule"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        check(json!({"email": " ANN@example.com "})).await,
        [(ann.clone(), "exact_email".to_owned())]
    );
    assert_eq!(
        check(json!({"mobile": "+1 (415) 555-0100"})).await,
        [(ann.clone(), "exact_phone".to_owned())]
    );
    // A lead being edited is not its own duplicate; nothing to match on is no match.
    assert!(
        check(json!({"email": "ann@example.com", "lead_id": ann}))
            .await
            .is_empty()
    );
    assert!(check(json!({"first_name": "Ann"})).await.is_empty());
    assert!(check(json!({"email": "not an address"})).await.is_empty());

    let problem = assert_problem(
        app.post("/duplicates/check", &admin, json!({"emial": "x@y.z"}))
            .await,
        400,
    )
    .await;
    assert!(problem["detail"].is_string());
    // Without read on leads the check is refused.
    let reader = app
        .member_with_grants(
            &admin,
            "contact_readers",
            json!([{"resource": "contacts", "action": "read", "scope": "all"}]),
        )
        .await;
    assert_problem(
        app.post(
            "/duplicates/check",
            &reader,
            json!({"email": "ann@example.com"}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        app.get(&format!("/leads/{ann}/duplicates"), &reader).await,
        403,
    )
    .await;
}

async fn a_crowd_at_one_company_does_not_hide_an_exact_match(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    // More Smiths at Acme than one probe reads: no default rule compares names and companies,
    // so they are not candidates at all and the exact e-mail match is found.
    for i in 0..55 {
        create(
            &app,
            &admin,
            "/leads",
            json!({"first_name": format!("Sam{i}"), "last_name": "Smith",
                   "company_name": "Acme Inc", "website": "https://acme.example"}),
        )
        .await;
    }
    let first = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Smith", "company_name": "Acme Inc",
               "website": "https://acme.example", "email": "pat.smith@acme.example"}),
    )
    .await;
    let second = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Smith", "company_name": "Acme Inc",
               "website": "https://acme.example", "email": "Pat.Smith@acme.example"}),
    )
    .await;
    assert_eq!(
        duplicates(&app, &admin, &second).await,
        [triple("lead", &first, "exact_email")]
    );
}

/// How many leads the caller's list holds.
async fn lead_count(app: &TestApp, who: &Session) -> usize {
    let page = json_of(app.get("/leads?limit=200", who).await).await;
    page["data"].as_array().unwrap().len()
}

fn rules(action: &str) -> Value {
    json!({"default_country": null, "rules": [
        {"kind": "exact_email", "action": action, "against": ["leads", "contacts"]},
        {"kind": "exact_phone", "action": "warn", "against": ["leads"]},
    ]})
}

async fn a_warning_rule_lists_its_matches_and_a_blocking_one_refuses_the_create(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let ann = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Lee", "email": "ann.lee@example.com"}),
    )
    .await;

    // The defaults warn: the create goes on and lists the match.
    let response = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Lee", "email": "ANN.LEE@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created = json_of(response).await;
    assert_eq!(created["last_name"], "Lee");
    let found = created["duplicates"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["id"], ann.as_str());
    assert_eq!(found[0]["rule"], "exact_email");
    assert_eq!(found[0]["action"], "warn");
    assert_eq!(found[0]["confidence"], 1.0);
    // Nothing like it: an empty list.
    let response = app
        .post("/leads", &admin, json!({"last_name": "Unique"}))
        .await;
    assert!(json_of(response).await.get("duplicates").is_none());
    // A contact is screened too, against the leads.
    let response = app
        .post(
            "/contacts",
            &admin,
            json!({"last_name": "Lee", "email": "ann.lee@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        json_of(response).await["duplicates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let before = lead_count(&app, &admin).await;

    // The admin makes the e-mail rule block.
    let response = app
        .put("/duplicates/settings", &admin, rules("block"))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(
        json_of(app.get("/duplicates/settings", &admin).await).await,
        rules("block")
    );
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Lee", "email": "ann.lee@EXAMPLE.com"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem["type"], "https://rivet.dev/problems/duplicate");
    let matches = problem["duplicates"].as_array().unwrap();
    assert_eq!(matches.len(), 3, "{problem}");
    assert!(matches.iter().all(|m| m["action"] == "block"), "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("exact_email"),
        "{problem}"
    );
    assert_eq!(lead_count(&app, &admin).await, before, "nothing was saved");
    assert_problem(
        app.post(
            "/contacts",
            &admin,
            json!({"last_name": "Lee", "email": "ann.lee@example.com"}),
        )
        .await,
        409,
    )
    .await;
    // A rule that allows lets the create through without a word.
    app.put("/duplicates/settings", &admin, rules("allow"))
        .await;
    let response = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Lee", "email": "ann.lee@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(json_of(response).await.get("duplicates").is_none());
    // The change is audited.
    let audit = json_of(app.get("/audit?resource=settings", &admin).await).await;
    assert!(audit["data"].as_array().unwrap().len() >= 2, "{audit}");
}

async fn duplicate_settings_are_checked_and_belong_to_one_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let defaults = json_of(app.get("/duplicates/settings", &admin).await).await;
    assert_eq!(
        defaults,
        json!({"default_country": null, "rules": [
            {"kind": "exact_email", "action": "warn", "against": ["leads", "contacts"]},
            {"kind": "exact_phone", "action": "warn", "against": ["leads", "contacts"]},
        ]})
    );
    for (body, field) in [
        (
            json!({"default_country": "Narnia", "rules": []}),
            "default_country",
        ),
        (
            json!({"default_country": null, "rules": [
                {"kind": "exact_email", "action": "warn", "threshold": 0.8, "against": ["leads"]}]}),
            "rules[0].threshold",
        ),
        (
            json!({"default_country": null, "rules": [
                {"kind": "domain_and_name", "action": "warn", "threshold": 1.5, "against": ["leads"]}]}),
            "rules[0].threshold",
        ),
        (
            json!({"default_country": null, "rules": [
                {"kind": "exact_phone", "action": "block", "against": []}]}),
            "rules[0].against",
        ),
    ] {
        let problem =
            assert_problem(app.put("/duplicates/settings", &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), [field], "{problem}");
    }
    let problem = assert_problem(
        app.put(
            "/duplicates/settings",
            &admin,
            json!({"default_country": null, "rules": [
                {"kind": "exact_fax", "action": "warn", "against": ["leads"]}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["rules[0].kind"], "{problem}");
    let problem = assert_problem(
        app.put("/duplicates/settings", &admin, json!({"rules": "all"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["rules"], "{problem}");
    assert_problem(
        app.put(
            "/duplicates/settings",
            &admin,
            json!({"default_country": null, "rules": [], "extra": 1}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        json_of(app.get("/duplicates/settings", &admin).await).await,
        defaults,
        "nothing was saved"
    );
    // A sales rep reads leads but not the company's settings.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.get("/duplicates/settings", &rep).await, 403).await;
    assert_problem(
        app.put("/duplicates/settings", &rep, rules("block")).await,
        403,
    )
    .await;

    // One company's rules are its own.
    let other = app.other_company("Globex").await;
    let mut gb = rules("block");
    gb["default_country"] = json!("gb");
    let saved = json_of(app.put("/duplicates/settings", &other, gb).await).await;
    assert_eq!(saved["default_country"], "GB");
    assert_eq!(
        json_of(app.get("/duplicates/settings", &admin).await).await,
        defaults
    );
    create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "A", "email": "same@x.test"}),
    )
    .await;
    create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "B", "email": "same@x.test"}),
    )
    .await;
    create(
        &app,
        &other,
        "/leads",
        json!({"last_name": "C", "email": "same@x.test"}),
    )
    .await;
    assert_problem(
        app.post(
            "/leads",
            &other,
            json!({"last_name": "D", "email": "same@x.test"}),
        )
        .await,
        409,
    )
    .await;
}

async fn a_default_country_keys_national_phone_numbers(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    // Without a country, a number without + gives no key.
    let national = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Local", "phone": "020 7946 0958"}),
    )
    .await;
    let body = json!({"last_name": "Intl", "phone": "+44 20 7946 0958"});
    async fn check(app: &TestApp, admin: &Session, body: &Value) -> usize {
        let page = json_of(app.post("/duplicates/check", admin, body.clone()).await).await;
        page["data"].as_array().unwrap().len()
    }
    assert_eq!(check(&app, &admin, &body).await, 0);

    let mut gb = rules("warn");
    gb["default_country"] = json!("GB");
    gb["rules"][1]["against"] = json!(["leads", "contacts"]);
    assert_eq!(
        app.put("/duplicates/settings", &admin, gb).await.status(),
        200
    );
    // A job re-keys the stored leads in the new country.
    let mut found = 0;
    for _ in 0..100 {
        found = check(&app, &admin, &body).await;
        if found == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1, "the national number was re-keyed");
    // New records are keyed in the country at once.
    let created = json_of(app.post("/leads", &admin, body.clone()).await).await;
    let found = created["duplicates"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["id"], national.as_str());
}

/// Creates that race with one e-mail under a blocking rule: one is saved, the others are
/// refused (on PostgreSQL each probes before the others commit unless they wait for each
/// other; on SQLite the write lock serializes them).
async fn racing_creates_of_one_email_under_a_blocking_rule_save_one(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app
        .put("/duplicates/settings", &admin, rules("block"))
        .await;
    assert_eq!(response.status(), 200);
    const N: usize = 8;
    let sends: Vec<_> = (0..N)
        .map(|n| {
            let request = app
                .api(reqwest::Method::POST, "/leads", Some(&admin))
                .json(&json!({"last_name": format!("Racer {n}"), "email": "race@example.com"}));
            tokio::spawn(request.send())
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        statuses.push(
            send.await
                .expect("task")
                .expect("request")
                .status()
                .as_u16(),
        );
    }
    statuses.sort_unstable();
    let mut expected = vec![201];
    expected.extend([409; N - 1]);
    expected.sort_unstable();
    assert_eq!(statuses, expected);
    assert_eq!(lead_count(&app, &admin).await, 1, "one lead was saved");
    // A contact with the e-mail is refused too: the lead is there.
    assert_problem(
        app.post(
            "/contacts",
            &admin,
            json!({"last_name": "Racer", "email": "race@example.com"}),
        )
        .await,
        409,
    )
    .await;
}

both!(
    racing_creates_of_one_email_under_a_blocking_rule_save_one,
    a_warning_rule_lists_its_matches_and_a_blocking_one_refuses_the_create,
    duplicate_settings_are_checked_and_belong_to_one_company,
    a_default_country_keys_national_phone_numbers,
    a_crowd_at_one_company_does_not_hide_an_exact_match,
    a_person_being_typed_is_checked_before_saving,
    a_leads_duplicates_are_found_by_normalized_email_and_phone,
    duplicates_stay_within_scope_and_company,
    rows_written_before_the_keys_get_them_from_the_backfill,
);
