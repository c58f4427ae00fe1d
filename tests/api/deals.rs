//! Deals: CRUD with audit, the defaults (owner, pipeline, stage), moving between stages (the
//! stage sets probability and forecast category, every move is in the stage history), the close
//! reason rule, bad input, tenant isolation and scopes, typed list filters with sort and cursor,
//! bulk actions, contact roles, the pipeline board summary, and stages or pipelines holding
//! deals that cannot be deleted — on SQLite and PostgreSQL.

use crate::accounts::{create_account, fields_of, id, ids_of};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

async fn create_deal(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/deals", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create deal: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/deals?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /deals?{query}");
    json_of(response).await
}

/// The company's default pipeline.
async fn sales_pipeline(app: &TestApp, who: &Session) -> Value {
    let page = json_of(app.get("/pipelines", who).await).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .unwrap()
        .clone()
}

fn stage_id(pipeline: &Value, name: &str) -> String {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("stage {name}"))
        .to_owned()
}

async fn second_pipeline(app: &TestApp, who: &Session) -> Value {
    let response = app
        .post(
            "/pipelines",
            who,
            json!({"name": "Renewals", "stages": [
                {"name": "Open", "probability": 30, "forecast_category": "pipeline"},
                {"name": "Won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
                {"name": "Lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    json_of(response).await
}

async fn patch_ok(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.patch(path, who, body).await;
    assert_eq!(
        response.status(),
        200,
        "PATCH {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn stage_history(app: &TestApp, who: &Session, path: &str) -> Vec<Value> {
    let response = app.get(&format!("{path}/stage-history"), who).await;
    assert_eq!(response.status(), 200);
    json_of(response).await["data"].as_array().unwrap().clone()
}

async fn a_deal_is_created_with_defaults_read_changed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = sales_pipeline(&app, &admin).await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let deal = create_deal(
        &app,
        &admin,
        json!({"name": "  Big anvil order ", "account_id": id(&account), "amount": "12500.5",
               "close_date": "2026-03-31", "next_step": "Call", "tags": ["q1", "q1", "hot"],
               "custom_fields": {"source": "fair"}}),
    )
    .await;
    assert_eq!(deal["name"], "Big anvil order");
    assert_eq!(deal["owner_id"], admin.user_id.to_string());
    assert_eq!(deal["pipeline_id"], id(&sales));
    assert_eq!(deal["stage_id"], stage_id(&sales, "Qualification"));
    assert_eq!(deal["probability"], 10);
    assert_eq!(deal["forecast_category"], "pipeline");
    assert_eq!(deal["amount"], "12500.50");
    assert_eq!(deal["currency"], "USD", "the company's currency");
    assert_eq!(deal["close_date"], "2026-03-31");
    assert_eq!(deal["tags"], json!(["q1", "hot"]));
    assert_eq!(deal["custom_fields"]["source"], "fair");
    assert!(deal["closed_at"].is_null());
    let path = format!("/deals/{}", id(&deal));
    assert_eq!(json_of(app.get(&path, &admin).await).await, deal);

    let changed = patch_ok(
        &app,
        &admin,
        &path,
        json!({"next_step": null, "amount": "99", "currency": "eur"}),
    )
    .await;
    assert!(changed["next_step"].is_null());
    assert_eq!(changed["amount"], "99.00");
    assert_eq!(changed["currency"], "EUR");
    assert_eq!(changed["stage_id"], deal["stage_id"]);
    assert_eq!(changed["name"], "Big anvil order");

    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let actions: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create"]);
    assert_eq!(
        history["data"][0]["changes"]["amount"]["before"],
        "12500.50"
    );
    assert_eq!(history["data"][0]["changes"]["amount"]["after"], "99.00");

    let first = stage_history(&app, &admin, &path).await;
    assert_eq!(first.len(), 1, "the first stage is recorded");
    assert!(first[0]["from_stage_id"].is_null());
    assert_eq!(first[0]["to_stage_id"], deal["stage_id"]);
    assert_eq!(first[0]["to_stage_name"], "Qualification");

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.get(&format!("{path}/stage-history"), &admin).await, 404).await;
    let audit = json_of(
        app.get(
            &format!("/audit?resource=deals&resource_id={}", id(&deal)),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 3);
    assert_eq!(audit["data"][0]["action"], "delete");
}

async fn moving_a_deal_takes_the_stage_defaults_unless_sent_and_writes_stage_history(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let sales = sales_pipeline(&app, &admin).await;
    let deal = create_deal(&app, &rep, json!({"name": "Move me"})).await;
    let path = format!("/deals/{}", id(&deal));

    let moved = patch_ok(
        &app,
        &rep,
        &path,
        json!({"stage_id": stage_id(&sales, "Proposal")}),
    )
    .await;
    assert_eq!(moved["probability"], 50);
    assert_eq!(moved["forecast_category"], "best_case");

    // Sent with the move, probability overrides the stage's; the category still follows.
    let moved = patch_ok(
        &app,
        &rep,
        &path,
        json!({"stage_id": stage_id(&sales, "Negotiation"), "probability": 65}),
    )
    .await;
    assert_eq!(moved["probability"], 65);
    assert_eq!(moved["forecast_category"], "commit");
    // A change that is not a move keeps an overridden probability.
    let renamed = patch_ok(&app, &rep, &path, json!({"name": "Moved"})).await;
    assert_eq!(renamed["probability"], 65);
    let tuned = patch_ok(&app, &rep, &path, json!({"forecast_category": "best_case"})).await;
    assert_eq!(tuned["forecast_category"], "best_case");
    assert_eq!(tuned["stage_id"], stage_id(&sales, "Negotiation"));

    let won = patch_ok(
        &app,
        &rep,
        &path,
        json!({"stage_id": stage_id(&sales, "Closed won")}),
    )
    .await;
    assert_eq!(won["probability"], 100);
    assert_eq!(won["forecast_category"], "closed");
    assert!(won["closed_at"].is_string(), "a won stage closes the deal");
    let reopened = patch_ok(
        &app,
        &rep,
        &path,
        json!({"stage_id": stage_id(&sales, "Proposal")}),
    )
    .await;
    assert!(reopened["closed_at"].is_null(), "an open stage reopens it");

    // Another pipeline without a stage: its first stage.
    let renewals = second_pipeline(&app, &admin).await;
    let other = patch_ok(&app, &rep, &path, json!({"pipeline_id": id(&renewals)})).await;
    assert_eq!(other["pipeline_id"], id(&renewals));
    assert_eq!(other["stage_id"], stage_id(&renewals, "Open"));
    assert_eq!(other["probability"], 30);

    let history = stage_history(&app, &admin, &path).await;
    let to: Vec<String> = history
        .iter()
        .map(|h| h["to_stage_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        to,
        [
            "Qualification",
            "Proposal",
            "Negotiation",
            "Closed won",
            "Proposal",
            "Open"
        ]
    );
    assert_eq!(
        history[1]["from_stage_id"],
        stage_id(&sales, "Qualification")
    );
    assert_eq!(history[1]["to_stage_id"], stage_id(&sales, "Proposal"));
    assert_eq!(history[5]["from_pipeline_id"], id(&sales));
    assert_eq!(history[5]["to_pipeline_id"], id(&renewals));
    for h in &history {
        assert_eq!(h["changed_by"], rep.user_id.to_string());
        assert!(h["changed_at"].is_string());
        assert!(h["seconds_in_stage"].as_i64().unwrap() >= 0);
    }
    // Each move is audited with the stage before and after.
    let audit = json_of(app.get(&format!("{path}/history?limit=100"), &admin).await).await;
    let stage_moves = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "update" && e["changes"].get("stage_id").is_some())
        .count();
    assert_eq!(stage_moves, 5);
}

async fn closing_needs_a_close_reason_when_the_company_requires_one(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = sales_pipeline(&app, &admin).await;
    let lost = stage_id(&sales, "Closed lost");
    // Off by default: closing without a reason is fine.
    let free = create_deal(&app, &admin, json!({"name": "Free", "stage_id": lost})).await;
    assert!(free["closed_at"].is_string());

    let settings = app
        .patch("/settings", &admin, json!({"require_close_reason": true}))
        .await;
    assert_eq!(settings.status(), 200);
    assert_eq!(json_of(settings).await["require_close_reason"], true);
    let read = json_of(app.get("/settings", &admin).await).await;
    assert_eq!(read["require_close_reason"], true);

    let refused = app
        .post(
            "/deals",
            &admin,
            json!({"name": "No reason", "stage_id": lost}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(refused, 422).await),
        ["close_reason"]
    );
    let deal = create_deal(&app, &admin, json!({"name": "Open"})).await;
    let path = format!("/deals/{}", id(&deal));
    let refused = app.patch(&path, &admin, json!({"stage_id": lost})).await;
    assert_eq!(
        fields_of(&assert_problem(refused, 422).await),
        ["close_reason"]
    );
    assert_eq!(stage_history(&app, &admin, &path).await.len(), 1);
    let closed = patch_ok(
        &app,
        &admin,
        &path,
        json!({"stage_id": lost, "close_reason": "Price"}),
    )
    .await;
    assert_eq!(closed["close_reason"], "Price");
    assert!(closed["closed_at"].is_string());
    // Editing a closed deal does not ask again.
    patch_ok(
        &app,
        &admin,
        &path,
        json!({"next_step": "Follow up next year"}),
    )
    .await;

    let off = app
        .patch("/settings", &admin, json!({"require_close_reason": false}))
        .await;
    assert_eq!(json_of(off).await["require_close_reason"], false);
}

async fn bad_input_is_refused_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = sales_pipeline(&app, &admin).await;
    let renewals = second_pipeline(&app, &admin).await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let other_account = create_account(&app, &admin, json!({"name": "Other"})).await;
    let contact = json_of(
        app.post(
            "/contacts",
            &admin,
            json!({"last_name": "Doe", "account_id": id(&other_account)}),
        )
        .await,
    )
    .await;
    let unknown = "0190f000-0000-7000-8000-000000000000";
    for (body, fields) in [
        (json!({}), vec!["name"]),
        (json!({"name": "x", "currency": "EURO"}), vec!["currency"]),
        (json!({"name": "x", "amount": "1.2.3"}), vec!["amount"]),
        (json!({"name": "x", "amount": "-5"}), vec!["amount"]),
        (
            json!({"name": "x", "close_date": "2026-02-30"}),
            vec!["close_date"],
        ),
        (
            json!({"name": "x", "close_date": "31/03/2026"}),
            vec!["close_date"],
        ),
        (
            json!({"name": "x", "probability": 101}),
            vec!["probability"],
        ),
        (
            json!({"name": "x", "forecast_category": "maybe"}),
            vec!["forecast_category"],
        ),
        (json!({"name": "x", "stage_id": unknown}), vec!["stage_id"]),
        (
            json!({"name": "x", "pipeline_id": unknown}),
            vec!["pipeline_id"],
        ),
        (
            json!({"name": "x", "pipeline_id": id(&renewals), "stage_id": stage_id(&sales, "Proposal")}),
            vec!["stage_id"],
        ),
        (
            json!({"name": "x", "account_id": unknown}),
            vec!["account_id"],
        ),
        (
            json!({"name": "x", "contact_id": unknown}),
            vec!["contact_id"],
        ),
        (
            json!({"name": "x", "account_id": id(&account), "contact_id": id(&contact)}),
            vec!["contact_id"],
        ),
        (json!({"name": "x", "owner_id": unknown}), vec!["owner_id"]),
    ] {
        let response = app.post("/deals", &admin, body.clone()).await;
        assert_eq!(
            fields_of(&assert_problem(response, 422).await),
            fields,
            "{body}"
        );
    }
    // The contact of the account is fine.
    let ok = create_deal(
        &app,
        &admin,
        json!({"name": "ok", "account_id": id(&other_account), "contact_id": id(&contact)}),
    )
    .await;
    let path = format!("/deals/{}", id(&ok));
    let unknown_field = app
        .post("/deals", &admin, json!({"name": "x", "colour": "red"}))
        .await;
    assert_problem(unknown_field, 400).await;
    for field in ["name", "stage_id", "owner_id"] {
        let mut body = rivet_tests::serde_json::Map::new();
        body.insert(field.to_owned(), Value::Null);
        let response = app.patch(&path, &admin, Value::Object(body)).await;
        assert_eq!(fields_of(&assert_problem(response, 422).await), [field]);
    }
    // A stage of another pipeline needs that pipeline too.
    let other_stage = stage_id(&renewals, "Open");
    let response = app
        .patch(&path, &admin, json!({"stage_id": other_stage}))
        .await;
    assert_eq!(
        fields_of(&assert_problem(response, 422).await),
        ["stage_id"]
    );
    let moved = patch_ok(
        &app,
        &admin,
        &path,
        json!({"stage_id": other_stage, "pipeline_id": id(&renewals)}),
    )
    .await;
    assert_eq!(moved["pipeline_id"], id(&renewals));
    for (query, needle) in [
        ("sort=colour", "allowed sort fields"),
        ("colour=red", "allowed filters"),
        ("amount[gte]=lots", "amount[gte]"),
        ("close_date[lte]=soon", "close_date[lte]"),
        ("stage_id[in]=nope", "stage_id[in]"),
        ("forecast_category=maybe", "forecast_category"),
    ] {
        let problem = assert_problem(app.get(&format!("/deals?{query}"), &admin).await, 400).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{query}: {problem}"
        );
    }
}

async fn another_companys_deal_is_not_found_and_its_ids_are_invalid_references(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let theirs = create_deal(&app, &globex, json!({"name": "Secret"})).await;
    let path = format!("/deals/{}", id(&theirs));
    assert_problem(app.get(&path, &acme).await, 404).await;
    assert_problem(app.patch(&path, &acme, json!({"name": "x"})).await, 404).await;
    assert_problem(app.delete(&path, &acme).await, 404).await;
    for sub in ["history", "stage-history", "contacts"] {
        assert_problem(app.get(&format!("{path}/{sub}"), &acme).await, 404).await;
    }
    let our_contact = json_of(
        app.post("/contacts", &acme, json!({"last_name": "Ours"}))
            .await,
    )
    .await;
    let put = app
        .put(
            &format!("{path}/contacts/{}", id(&our_contact)),
            &acme,
            json!({"role": "champion"}),
        )
        .await;
    assert_problem(put, 404).await;
    let bulk = app
        .post(
            "/deals/bulk-update",
            &acme,
            json!({"ids": [id(&theirs)], "set": {"tags": ["x"]}}),
        )
        .await;
    assert_problem(bulk, 404).await;
    assert_problem(
        app.post("/deals/bulk-delete", &acme, json!({"ids": [id(&theirs)]}))
            .await,
        404,
    )
    .await;
    assert!(ids_of(&list(&app, &acme, "q=secret").await).is_empty());

    let their_pipeline = sales_pipeline(&app, &globex).await;
    let their_account = create_account(&app, &globex, json!({"name": "Theirs"})).await;
    let their_contact = json_of(
        app.post("/contacts", &globex, json!({"last_name": "Theirs"}))
            .await,
    )
    .await;
    for (body, field) in [
        (
            json!({"name": "x", "account_id": id(&their_account)}),
            "account_id",
        ),
        (
            json!({"name": "x", "contact_id": id(&their_contact)}),
            "contact_id",
        ),
        (
            json!({"name": "x", "pipeline_id": id(&their_pipeline)}),
            "pipeline_id",
        ),
        (
            json!({"name": "x", "stage_id": stage_id(&their_pipeline, "Proposal")}),
            "stage_id",
        ),
        (json!({"name": "x", "owner_id": globex.user_id}), "owner_id"),
    ] {
        let response = app.post("/deals", &acme, body).await;
        assert_eq!(fields_of(&assert_problem(response, 422).await), [field]);
    }
    let summary = app
        .get(
            &format!("/deals/summary?pipeline_id={}", id(&their_pipeline)),
            &acme,
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(summary, 422).await),
        ["pipeline_id"]
    );
    let still = json_of(app.get(&path, &globex).await).await;
    assert_eq!(still["name"], "Secret");
}

async fn scopes_decide_which_deals_a_caller_sees_and_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let east = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let east_id = east["id"].as_str().unwrap().to_owned();
    let manager = app.member_in_team(&admin, "manager", Some(&east_id)).await;
    let rep_a = app.member_in_team(&admin, "sales", Some(&east_id)).await;
    let rep_b = app.member(&admin, "sales").await;

    let a = create_deal(&app, &rep_a, json!({"name": "A's"})).await;
    let b = create_deal(&app, &rep_b, json!({"name": "B's"})).await;
    let mine = create_deal(&app, &admin, json!({"name": "Admin's"})).await;

    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a)]);
    let b_path = format!("/deals/{}", id(&b));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(app.patch(&b_path, &rep_a, json!({"name": "x"})).await, 404).await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(
        app.get(&format!("{b_path}/stage-history"), &rep_a).await,
        404,
    )
    .await;
    let gift = app
        .post(
            "/deals",
            &rep_a,
            json!({"name": "Gift", "owner_id": rep_b.user_id}),
        )
        .await;
    assert_problem(gift, 403).await;
    let board = json_of(app.get("/deals/summary", &rep_a).await).await;
    assert_eq!(
        board["count"], 1,
        "the board counts only what the caller sees"
    );

    assert_eq!(ids_of(&list(&app, &manager, "").await), [id(&a)]);
    patch_ok(
        &app,
        &manager,
        &format!("/deals/{}", id(&a)),
        json!({"next_step": "Demo"}),
    )
    .await;
    assert_problem(app.get(&b_path, &manager).await, 404).await;

    let all = ids_of(&list(&app, &admin, "").await);
    for deal in [&a, &b, &mine] {
        assert!(all.contains(&id(deal)));
    }
}

async fn filters_sort_and_cursor_pagination(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rep_id = rep.user_id.to_string();
    let sales = sales_pipeline(&app, &admin).await;
    let proposal = stage_id(&sales, "Proposal");
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let specs = [
        (
            "Baker",
            Some("1000"),
            Some("2026-01-15"),
            None,
            None,
            vec!["vip"],
        ),
        (
            "Adams",
            Some("250.50"),
            None,
            Some(&proposal),
            Some(&rep_id),
            vec![],
        ),
        (
            "Clark",
            None,
            Some("2026-03-01"),
            Some(&proposal),
            None,
            vec!["vip", "eu"],
        ),
        (
            "Baker",
            Some("5000"),
            Some("2026-02-01"),
            None,
            Some(&rep_id),
            vec!["eu"],
        ),
        (
            "Evans",
            Some("250.50"),
            Some("2026-01-15"),
            None,
            None,
            vec![],
        ),
    ];
    let mut created = Vec::new();
    for (i, (name, amount, close, stage, owner, tags)) in specs.iter().enumerate() {
        let account_id = (i % 2 == 0).then(|| id(&account));
        created.push(
            create_deal(
                &app,
                &admin,
                json!({"name": name, "amount": amount, "close_date": close, "stage_id": stage,
                       "owner_id": owner, "tags": tags, "account_id": account_id}),
            )
            .await,
        );
    }
    let ids: Vec<String> = created.iter().map(id).collect();
    let pick = |idx: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = idx.iter().map(|i| ids[*i].clone()).collect();
        v.sort();
        v
    };
    let sorted = |page: Value| {
        let mut v = ids_of(&page);
        v.sort();
        v
    };
    for (query, expected) in [
        ("amount[gte]=1000", pick(&[0, 3])),
        ("amount[lte]=250.5", pick(&[1, 4])),
        ("amount[empty]=true", pick(&[2])),
        ("close_date[gte]=2026-02-01", pick(&[2, 3])),
        ("close_date[lte]=2026-01-15", pick(&[0, 4])),
        ("close_date[empty]=true", pick(&[1])),
        (&format!("stage_id={proposal}") as &str, pick(&[1, 2])),
        (
            &format!(
                "stage_id[in]={proposal},{}",
                stage_id(&sales, "Qualification")
            ),
            pick(&[0, 1, 2, 3, 4]),
        ),
        ("forecast_category=best_case", pick(&[1, 2])),
        ("probability[gte]=50", pick(&[1, 2])),
        ("probability[lte]=10", pick(&[0, 3, 4])),
        (&format!("owner_id={rep_id}"), pick(&[1, 3])),
        (
            &format!("owner_id[in]={rep_id},{}", admin.user_id),
            pick(&[0, 1, 2, 3, 4]),
        ),
        (&format!("account_id={}", id(&account)), pick(&[0, 2, 4])),
        ("account_id[empty]=true", pick(&[1, 3])),
        (
            &format!("pipeline_id={}", id(&sales)),
            pick(&[0, 1, 2, 3, 4]),
        ),
        ("tags[contains]=vip", pick(&[0, 2])),
        ("q=BAKER", pick(&[0, 3])),
        (
            "created_at[gte]=2000-01-01T00:00:00Z",
            pick(&[0, 1, 2, 3, 4]),
        ),
        ("updated_at[lte]=2000-01-01T00:00:00Z", pick(&[])),
    ] {
        assert_eq!(sorted(list(&app, &admin, query).await), expected, "{query}");
    }
    let page = list(&app, &admin, "sort=-amount,name").await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Baker", "Baker", "Adams", "Evans", "Clark"]);

    for sort in [
        "amount,-close_date",
        "-close_date,name",
        "name",
        "-probability,created_at",
        "-updated_at",
    ] {
        let whole = ids_of(&list(&app, &admin, &format!("sort={sort}&limit=500")).await);
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let query = match &cursor {
                Some(c) => format!("sort={sort}&limit=2&cursor={c}"),
                None => format!("sort={sort}&limit=2"),
            };
            let page = list(&app, &admin, &query).await;
            walked.extend(ids_of(&page));
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(walked, whole, "sort={sort}");
        assert_eq!(walked.len(), 5);
    }
}

async fn bulk_update_and_delete_are_all_or_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let sales = sales_pipeline(&app, &admin).await;
    let a = create_deal(&app, &admin, json!({"name": "A", "probability": 5})).await;
    let b = create_deal(&app, &admin, json!({"name": "B"})).await;
    let c = create_deal(&app, &rep, json!({"name": "C"})).await;
    let negotiation = stage_id(&sales, "Negotiation");
    let response = app
        .post(
            "/deals/bulk-update",
            &admin,
            json!({"ids": [id(&a), id(&b)], "set": {"stage_id": negotiation, "tags": ["x"], "owner_id": rep.user_id}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["count"], 2);
    for deal in [&a, &b] {
        let path = format!("/deals/{}", id(deal));
        let now = json_of(app.get(&path, &admin).await).await;
        assert_eq!(now["stage_id"], negotiation);
        assert_eq!(now["probability"], 80);
        assert_eq!(now["forecast_category"], "commit");
        assert_eq!(now["tags"], json!(["x"]));
        assert_eq!(now["owner_id"], rep.user_id.to_string());
        assert_eq!(stage_history(&app, &admin, &path).await.len(), 2);
    }
    // One unknown id: nothing changes.
    let unknown = "0190f000-0000-7000-8000-000000000000";
    let partial = app
        .post(
            "/deals/bulk-update",
            &admin,
            json!({"ids": [id(&c), unknown], "set": {"tags": ["y"]}}),
        )
        .await;
    assert_problem(partial, 404).await;
    let c_now = json_of(app.get(&format!("/deals/{}", id(&c)), &admin).await).await;
    assert_eq!(c_now["tags"], json!([]), "nothing changed");
    for body in [
        json!({"ids": [], "set": {"tags": ["y"]}}),
        json!({"ids": [id(&c)], "set": {}}),
        json!({"ids": [id(&c)], "set": {"stage_id": unknown}}),
    ] {
        assert_problem(app.post("/deals/bulk-update", &admin, body).await, 422).await;
    }
    let other_rep = app.member(&admin, "sales").await;
    assert_problem(
        app.post("/deals/bulk-delete", &other_rep, json!({"ids": [id(&c)]}))
            .await,
        404,
    )
    .await;
    let deleted = app
        .post(
            "/deals/bulk-delete",
            &admin,
            json!({"ids": [id(&a), id(&b), id(&c)]}),
        )
        .await;
    assert_eq!(json_of(deleted).await["count"], 3);
    assert!(ids_of(&list(&app, &admin, "").await).is_empty());
    let audit = json_of(app.get("/audit?resource=deals&action=delete", &admin).await).await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 3);
}

async fn contact_roles_are_added_changed_and_removed(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let deal = create_deal(&app, &admin, json!({"name": "Roles"})).await;
    let path = format!("/deals/{}", id(&deal));
    let jane = json_of(
        app.post(
            "/contacts",
            &admin,
            json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.test"}),
        )
        .await,
    )
    .await;
    let jane_path = format!("{path}/contacts/{}", id(&jane));
    let added = app
        .put(&jane_path, &admin, json!({"role": "champion"}))
        .await;
    assert_eq!(added.status(), 200);
    let added = json_of(added).await;
    assert_eq!(added["role"], "champion");
    assert_eq!(added["name"], "Jane Doe");
    assert_eq!(added["email"], "jane@acme.test");

    let changed = json_of(
        app.put(&jane_path, &admin, json!({"role": "economic_buyer"}))
            .await,
    )
    .await;
    assert_eq!(changed["role"], "economic_buyer");
    let listed = json_of(app.get(&format!("{path}/contacts"), &admin).await).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["contact_id"], id(&jane));
    assert_eq!(listed["data"][0]["role"], "economic_buyer");

    let bad = app.put(&jane_path, &admin, json!({"role": "boss"})).await;
    assert_eq!(fields_of(&assert_problem(bad, 422).await), ["role"]);
    let missing = app.put(&jane_path, &admin, json!({})).await;
    assert_eq!(fields_of(&assert_problem(missing, 422).await), ["role"]);
    let theirs = json_of(
        app.post("/contacts", &globex, json!({"last_name": "Theirs"}))
            .await,
    )
    .await;
    let foreign = app
        .put(
            &format!("{path}/contacts/{}", id(&theirs)),
            &admin,
            json!({"role": "user"}),
        )
        .await;
    assert_problem(foreign, 404).await;

    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    assert_eq!(
        history["data"].as_array().unwrap().len(),
        3,
        "create + 2 role changes"
    );

    assert_eq!(app.delete(&jane_path, &admin).await.status(), 204);
    assert_problem(app.delete(&jane_path, &admin).await, 404).await;
    let listed = json_of(app.get(&format!("{path}/contacts"), &admin).await).await;
    assert!(listed["data"].as_array().unwrap().is_empty());

    // A contact's roles go when the contact is deleted.
    app.put(&jane_path, &admin, json!({"role": "user"})).await;
    assert_eq!(
        app.delete(&format!("/contacts/{}", id(&jane)), &admin)
            .await
            .status(),
        204
    );
    let listed = json_of(app.get(&format!("{path}/contacts"), &admin).await).await;
    assert!(listed["data"].as_array().unwrap().is_empty());
}

async fn the_summary_counts_and_weighs_each_stage(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let sales = sales_pipeline(&app, &admin).await;
    let proposal = stage_id(&sales, "Proposal");
    let qualification = stage_id(&sales, "Qualification");
    create_deal(&app, &admin, json!({"name": "A", "amount": "1000"})).await;
    create_deal(
        &app,
        &admin,
        json!({"name": "B", "amount": "500.50", "tags": ["t"]}),
    )
    .await;
    create_deal(
        &app,
        &admin,
        json!({"name": "C", "amount": "200", "stage_id": proposal}),
    )
    .await;
    create_deal(&app, &admin, json!({"name": "D", "stage_id": proposal})).await;
    create_deal(
        &app,
        &rep,
        json!({"name": "E", "amount": "1000", "stage_id": proposal}),
    )
    .await;
    let renewals = second_pipeline(&app, &admin).await;
    create_deal(
        &app,
        &admin,
        json!({"name": "F", "amount": "7", "pipeline_id": id(&renewals)}),
    )
    .await;

    let board = json_of(app.get("/deals/summary", &admin).await).await;
    assert_eq!(board["pipeline_id"], id(&sales));
    let stages = board["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 6);
    let column = |stage: &str| {
        stages
            .iter()
            .find(|s| s["stage_id"] == stage)
            .unwrap()
            .clone()
    };
    let q = column(&qualification);
    assert_eq!(
        (
            q["count"].clone(),
            q["total_amount"].clone(),
            q["weighted_amount"].clone()
        ),
        (json!(2), json!("1500.50"), json!("150.05"))
    );
    let p = column(&proposal);
    assert_eq!(
        (
            p["count"].clone(),
            p["total_amount"].clone(),
            p["weighted_amount"].clone()
        ),
        (json!(3), json!("1200.00"), json!("600.00"))
    );
    let won = column(&stage_id(&sales, "Closed won"));
    assert_eq!(
        (won["count"].clone(), won["total_amount"].clone()),
        (json!(0), json!("0.00"))
    );
    assert_eq!(board["count"], 5);
    assert_eq!(board["total_amount"], "2700.50");
    assert_eq!(board["weighted_amount"], "750.05");

    let filtered = json_of(app.get("/deals/summary?tags[contains]=t", &admin).await).await;
    assert_eq!(filtered["count"], 1);
    let own = json_of(app.get("/deals/summary", &rep).await).await;
    assert_eq!(own["count"], 1);
    assert_eq!(own["total_amount"], "1000.00");
    let other = json_of(
        app.get(
            &format!("/deals/summary?pipeline_id={}", id(&renewals)),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(other["count"], 1);
    assert_eq!(other["stages"].as_array().unwrap().len(), 3);
    assert_problem(app.get("/deals/summary?colour=red", &admin).await, 400).await;
}

async fn a_stage_or_pipeline_with_deals_cannot_be_deleted(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let renewals = second_pipeline(&app, &admin).await;
    let extra = json_of(
        app.post(
            &format!("/pipelines/{}/stages", id(&renewals)),
            &admin,
            json!({"name": "Extra", "probability": 40, "forecast_category": "pipeline"}),
        )
        .await,
    )
    .await;
    let deal = create_deal(
        &app,
        &admin,
        json!({"name": "Holds", "pipeline_id": id(&renewals), "stage_id": id(&extra)}),
    )
    .await;
    let stage_path = format!("/pipelines/{}/stages/{}", id(&renewals), id(&extra));
    let pipeline_path = format!("/pipelines/{}", id(&renewals));
    assert_problem(app.delete(&stage_path, &admin).await, 409).await;
    assert_problem(app.delete(&pipeline_path, &admin).await, 409).await;

    // Moved out of the stage, the stage can go (its history keeps the id); then the pipeline
    // once the deal is gone.
    let path = format!("/deals/{}", id(&deal));
    patch_ok(
        &app,
        &admin,
        &path,
        json!({"stage_id": stage_id(&renewals, "Open")}),
    )
    .await;
    assert_eq!(app.delete(&stage_path, &admin).await.status(), 204);
    let history = stage_history(&app, &admin, &path).await;
    assert_eq!(history[0]["to_stage_id"], id(&extra));
    assert!(history[0]["to_stage_name"].is_null());
    assert_problem(app.delete(&pipeline_path, &admin).await, 409).await;
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_eq!(app.delete(&pipeline_path, &admin).await.status(), 204);
}

async fn a_deal_outlives_its_deleted_contact_and_account(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let response = app
        .post(
            "/contacts",
            &admin,
            json!({"last_name": "Doe", "account_id": id(&account)}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let contact = json_of(response).await;
    let deal = create_deal(
        &app,
        &admin,
        json!({"name": "Acme deal", "account_id": id(&account), "contact_id": id(&contact)}),
    )
    .await;
    let path = format!("/deals/{}", id(&deal));

    // Deleting the contact empties the deal's primary contact, in the same transaction.
    let response = app
        .delete(&format!("/contacts/{}", id(&contact)), &admin)
        .await;
    assert_eq!(response.status(), 204);
    let after = json_of(app.get(&path, &admin).await).await;
    assert!(after["contact_id"].is_null(), "{after}");
    assert_eq!(after["account_id"], account["id"]);

    // Deleting the account (with a second contact, cascaded) empties the deal's account.
    let response = app
        .post(
            "/contacts",
            &admin,
            json!({"last_name": "Roe", "account_id": id(&account)}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .delete(
            &format!("/accounts/{}?cascade=contacts", id(&account)),
            &admin,
        )
        .await;
    assert_eq!(response.status(), 204);
    let after = json_of(app.get(&path, &admin).await).await;
    assert!(after["account_id"].is_null(), "{after}");
    assert_eq!(after["name"], "Acme deal");
    // Each loss is on the deal's own history.
    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let updates = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "update")
        .count();
    assert_eq!(updates, 2, "{history}");
}

both!(
    a_deal_is_created_with_defaults_read_changed_and_deleted_with_an_audit_row_each,
    moving_a_deal_takes_the_stage_defaults_unless_sent_and_writes_stage_history,
    closing_needs_a_close_reason_when_the_company_requires_one,
    bad_input_is_refused_naming_the_field,
    another_companys_deal_is_not_found_and_its_ids_are_invalid_references,
    scopes_decide_which_deals_a_caller_sees_and_changes,
    filters_sort_and_cursor_pagination,
    bulk_update_and_delete_are_all_or_nothing,
    contact_roles_are_added_changed_and_removed,
    the_summary_counts_and_weighs_each_stage,
    a_stage_or_pipeline_with_deals_cannot_be_deleted,
    a_deal_outlives_its_deleted_contact_and_account,
);
