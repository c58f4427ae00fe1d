//! Accounts: CRUD with audit, the parent hierarchy (no cycles), scopes, tenant isolation,
//! typed list filters with sort and cursor, bad input, bulk actions, and what deleting an
//! account with contacts or children asks for — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

pub async fn create_account(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/accounts", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create account: {:?}",
        response.text().await
    );
    json_of(response).await
}

pub fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

pub fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/accounts?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /accounts?{query}");
    json_of(response).await
}

pub fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn history_actions(app: &TestApp, who: &Session, path: &str) -> Vec<String> {
    let history = json_of(app.get(&format!("{path}/history"), who).await).await;
    history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_account_is_created_read_changed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(
        &app,
        &admin,
        json!({
            "name": "Acme", "domain": "https://www.Acme.com/about", "industry": "Anvils",
            "employee_count": 120, "annual_revenue": "1250000.50",
            "annual_revenue_currency": "usd", "billing_city": "Phoenix",
            "billing_country": "US", "shipping_street": "1 Desert Rd",
            "lifecycle_stage": "customer", "tags": ["key", "us"],
            "custom_fields": {"tier": "gold"}
        }),
    )
    .await;
    assert_eq!(account["domain"], "acme.com");
    assert_eq!(account["owner_id"], admin.user_id.to_string());
    assert_eq!(account["annual_revenue"], "1250000.50");
    assert_eq!(account["annual_revenue_currency"], "USD");
    assert_eq!(account["lifecycle_stage"], "customer");
    assert_eq!(account["health_score"], 33, "computed, not written");
    assert_eq!(account["tags"], json!(["key", "us"]));
    assert_eq!(account["custom_fields"]["tier"], "gold");
    assert!(account["parent_id"].is_null());
    let path = format!("/accounts/{}", id(&account));
    assert_eq!(json_of(app.get(&path, &admin).await).await, account);

    let changed = app
        .patch(
            &path,
            &admin,
            json!({"lifecycle_stage": "at_risk", "billing_city": "Tucson"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = json_of(changed).await;
    assert_eq!(changed["lifecycle_stage"], "at_risk");
    assert_eq!(changed["health_score"], 33);
    assert_eq!(changed["annual_revenue"], "1250000.50");
    assert_eq!(changed["name"], "Acme");

    assert_eq!(
        history_actions(&app, &admin, &path).await,
        ["update", "create"]
    );
    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let update = &history["data"][0]["changes"];
    assert_eq!(update["billing_city"]["before"], "Phoenix");
    assert_eq!(update["billing_city"]["after"], "Tucson");
    assert!(update.get("name").is_none(), "only changed fields");

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    let audit = json_of(
        app.get(
            &format!("/audit?resource=accounts&resource_id={}", id(&account)),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 3);
    assert_eq!(audit["data"][0]["action"], "delete");
}

async fn a_parent_cycle_is_refused_naming_parent_id(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let top = create_account(&app, &admin, json!({"name": "Top"})).await;
    let mid = create_account(&app, &admin, json!({"name": "Mid", "parent_id": id(&top)})).await;
    let low = create_account(&app, &admin, json!({"name": "Low", "parent_id": id(&mid)})).await;
    assert_eq!(low["parent_id"], id(&mid));
    for (who, parent) in [(&top, &low), (&top, &mid), (&mid, &low), (&low, &low)] {
        let response = app
            .patch(
                &format!("/accounts/{}", id(who)),
                &admin,
                json!({"parent_id": id(parent)}),
            )
            .await;
        assert_eq!(
            fields_of(&assert_problem(response, 422).await),
            ["parent_id"]
        );
    }
    // Re-parenting without a cycle is fine.
    let other = create_account(&app, &admin, json!({"name": "Other"})).await;
    let moved = app
        .patch(
            &format!("/accounts/{}", id(&low)),
            &admin,
            json!({"parent_id": id(&other)}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let page = list(&app, &admin, &format!("parent_id={}", id(&other))).await;
    assert_eq!(ids_of(&page), [id(&low)]);
    let unknown = app
        .post(
            "/accounts",
            &admin,
            json!({"name": "X", "parent_id": "0190f000-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(unknown, 422).await),
        ["parent_id"]
    );
}

async fn scopes_decide_which_accounts_a_caller_sees_and_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let east = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let east_id = east["id"].as_str().unwrap().to_owned();
    let manager = app.member_in_team(&admin, "manager", Some(&east_id)).await;
    let rep_a = app.member_in_team(&admin, "sales", Some(&east_id)).await;
    let rep_b = app.member(&admin, "sales").await;
    let support = app.member(&admin, "support").await;

    let a = create_account(&app, &rep_a, json!({"name": "A's"})).await;
    let b = create_account(&app, &rep_b, json!({"name": "B's"})).await;
    let mine = create_account(&app, &admin, json!({"name": "Admin's"})).await;

    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a)]);
    let b_path = format!("/accounts/{}", id(&b));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(app.patch(&b_path, &rep_a, json!({"name": "x"})).await, 404).await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(app.get(&format!("{b_path}/history"), &rep_a).await, 404).await;
    let gift = app
        .post(
            "/accounts",
            &rep_a,
            json!({"name": "Gift", "owner_id": rep_b.user_id}),
        )
        .await;
    assert_problem(gift, 403).await;

    assert_eq!(ids_of(&list(&app, &manager, "").await), [id(&a)]);
    assert_eq!(
        app.patch(
            &format!("/accounts/{}", id(&a)),
            &manager,
            json!({"lifecycle_stage": "customer"})
        )
        .await
        .status(),
        200
    );
    assert_problem(app.get(&b_path, &manager).await, 404).await;

    let all = ids_of(&list(&app, &support, "").await);
    for account in [&a, &b, &mine] {
        assert!(all.contains(&id(account)));
    }
    assert_eq!(app.get(&b_path, &support).await.status(), 200);
    assert_problem(
        app.post("/accounts", &support, json!({"name": "No"})).await,
        403,
    )
    .await;
    assert_problem(
        app.patch(&b_path, &support, json!({"name": "No"})).await,
        403,
    )
    .await;
    assert_problem(app.delete(&b_path, &support).await, 403).await;
}

async fn another_companys_account_is_not_found_on_every_route_and_invalid_as_a_reference(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let theirs = create_account(&app, &globex, json!({"name": "Secret"})).await;
    let path = format!("/accounts/{}", id(&theirs));
    assert_problem(app.get(&path, &acme).await, 404).await;
    assert_problem(app.patch(&path, &acme, json!({"name": "x"})).await, 404).await;
    assert_problem(app.delete(&path, &acme).await, 404).await;
    assert_problem(app.get(&format!("{path}/history"), &acme).await, 404).await;
    let bulk = app
        .post(
            "/accounts/bulk-update",
            &acme,
            json!({"ids": [id(&theirs)], "set": {"lifecycle_stage": "churned"}}),
        )
        .await;
    assert_problem(bulk, 404).await;
    assert_problem(
        app.post(
            "/accounts/bulk-delete",
            &acme,
            json!({"ids": [id(&theirs)]}),
        )
        .await,
        404,
    )
    .await;
    assert!(ids_of(&list(&app, &acme, "q=secret").await).is_empty());
    // Their account is no parent, and no reassignment target, of ours.
    let as_parent = app
        .post(
            "/accounts",
            &acme,
            json!({"name": "Child", "parent_id": id(&theirs)}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(as_parent, 422).await),
        ["parent_id"]
    );
    let ours = create_account(&app, &acme, json!({"name": "Ours"})).await;
    let contact = app
        .post(
            "/contacts",
            &acme,
            json!({"last_name": "Doe", "account_id": id(&ours)}),
        )
        .await;
    assert_eq!(contact.status(), 201);
    let reassign = app
        .delete(
            &format!("/accounts/{}?reassign_to={}", id(&ours), id(&theirs)),
            &acme,
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(reassign, 422).await),
        ["reassign_to"]
    );
    let foreign_owner = app
        .post(
            "/accounts",
            &acme,
            json!({"name": "X", "owner_id": globex.user_id}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(foreign_owner, 422).await),
        ["owner_id"]
    );
    let still = json_of(app.get(&path, &globex).await).await;
    assert_eq!(still["name"], "Secret");
}

async fn filters_sort_and_cursor_pagination(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rep_id = rep.user_id.to_string();
    let specs = [
        (
            "Baker",
            "prospect",
            Some("baker.com"),
            Some(10),
            None,
            vec!["vip"],
        ),
        ("Adams", "customer", None, Some(90), Some(&rep_id), vec![]),
        (
            "Clark",
            "prospect",
            Some("clark.io"),
            None,
            None,
            vec!["vip", "eu"],
        ),
        (
            "Baker",
            "churned",
            None,
            Some(20),
            Some(&rep_id),
            vec!["eu"],
        ),
        (
            "Evans",
            "customer",
            Some("evans.org"),
            Some(70),
            None,
            vec![],
        ),
    ];
    let mut created = Vec::new();
    for (name, stage, domain, health, owner, tags) in &specs {
        created.push(
            create_account(
                &app,
                &admin,
                json!({"name": name, "lifecycle_stage": stage, "domain": domain,
                       "owner_id": owner, "tags": tags}),
            )
            .await,
        );
        let account = created.last().unwrap();
        crate::health::set_stored_health(&app, &id(account), *health).await;
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
        ("lifecycle_stage=prospect", pick(&[0, 2])),
        ("lifecycle_stage[in]=customer,churned", pick(&[1, 3, 4])),
        (&format!("owner_id={rep_id}") as &str, pick(&[1, 3])),
        ("domain[empty]=true", pick(&[1, 3])),
        ("domain=clark.io", pick(&[2])),
        ("tags[contains]=vip", pick(&[0, 2])),
        ("health_score[gte]=70", pick(&[1, 4])),
        ("health_score[empty]=true", pick(&[2])),
        ("q=BAKER", pick(&[0, 3])),
    ] {
        assert_eq!(sorted(list(&app, &admin, query).await), expected, "{query}");
    }
    let page = list(&app, &admin, "sort=name,-created_at").await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Adams", "Baker", "Baker", "Clark", "Evans"]);
    assert_eq!(ids_of(&page)[1..3], [ids[3].clone(), ids[0].clone()]);

    for sort in ["lifecycle_stage,-name", "-domain", "name", "-created_at"] {
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

async fn bad_input_is_refused_naming_the_problem(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Ok"})).await;
    let path = format!("/accounts/{}", id(&account));
    for (query, needle) in [
        (
            "sort=colour",
            "allowed sort fields: name, domain, industry, lifecycle_stage",
        ),
        ("colour=red", "lifecycle_stage[in]"),
        ("lifecycle_stage=won", "must be one of"),
        ("health_score[gte]=high", "integer"),
        ("limit=0", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let problem =
            assert_problem(app.get(&format!("/accounts?{query}"), &admin).await, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    for (body, fields) in [
        (json!({}), vec!["name"]),
        (json!({"name": "  "}), vec!["name"]),
        (
            json!({"name": "X", "domain": "not a domain"}),
            vec!["domain"],
        ),
        (
            json!({"name": "X", "health_score": 101}),
            vec!["health_score"],
        ),
        (
            json!({"name": "X", "health_score": -1}),
            vec!["health_score"],
        ),
        (
            json!({"name": "X", "employee_count": -5}),
            vec!["employee_count"],
        ),
        (
            json!({"name": "X", "lifecycle_stage": "won"}),
            vec!["lifecycle_stage"],
        ),
        (
            json!({"name": "X", "annual_revenue": "1.5"}),
            vec!["annual_revenue_currency"],
        ),
        (
            json!({"name": "X", "annual_revenue": "1,5", "annual_revenue_currency": "EUR"}),
            vec!["annual_revenue"],
        ),
        (
            json!({"name": "X", "annual_revenue_currency": "XYZ"}),
            vec!["annual_revenue_currency"],
        ),
        (json!({"name": "X", "tags": [""]}), vec!["tags"]),
    ] {
        let problem = assert_problem(app.post("/accounts", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    assert_problem(
        app.post("/accounts", &admin, json!({"name": "X", "colour": "red"}))
            .await,
        400,
    )
    .await;
    for body in [
        json!({"name": null}),
        json!({"owner_id": null}),
        json!({"lifecycle_stage": null}),
    ] {
        assert_problem(app.patch(&path, &admin, body).await, 422).await;
    }
    assert_problem(app.get("/accounts/not-an-id", &admin).await, 404).await;
}

async fn bulk_update_and_delete_are_all_or_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let one = create_account(&app, &admin, json!({"name": "One"})).await;
    let two = create_account(&app, &admin, json!({"name": "Two"})).await;
    let theirs = create_account(&app, &rep, json!({"name": "Rep's"})).await;
    let updated = app
        .post(
            "/accounts/bulk-update",
            &admin,
            json!({"ids": [id(&one), id(&two)],
                   "set": {"lifecycle_stage": "customer", "tags": ["q3"], "owner_id": rep.user_id}}),
        )
        .await;
    assert_eq!(json_of(updated).await["count"], 2);
    let read = json_of(app.get(&format!("/accounts/{}", id(&one)), &admin).await).await;
    assert_eq!(read["lifecycle_stage"], "customer");
    assert_eq!(read["owner_id"], rep.user_id.to_string());
    assert_eq!(read["tags"], json!(["q3"]));
    // A rep with own scope cannot bulk-change what is not theirs: nothing changes.
    let admins = create_account(&app, &admin, json!({"name": "Admin's"})).await;
    assert_problem(
        app.post(
            "/accounts/bulk-update",
            &rep,
            json!({"ids": [id(&theirs), id(&admins)], "set": {"lifecycle_stage": "churned"}}),
        )
        .await,
        404,
    )
    .await;
    let still = json_of(app.get(&format!("/accounts/{}", id(&theirs)), &admin).await).await;
    assert_eq!(still["lifecycle_stage"], "prospect");
    for body in [
        json!({"ids": [], "set": {"lifecycle_stage": "customer"}}),
        json!({"ids": [id(&one)], "set": {}}),
        json!({"ids": [id(&one)], "set": {"lifecycle_stage": "won"}}),
    ] {
        assert_problem(app.post("/accounts/bulk-update", &admin, body).await, 422).await;
    }
    let deleted = app
        .post(
            "/accounts/bulk-delete",
            &admin,
            json!({"ids": [id(&one), id(&two)]}),
        )
        .await;
    assert_eq!(json_of(deleted).await["count"], 2);
    assert_problem(
        app.get(&format!("/accounts/{}", id(&two)), &admin).await,
        404,
    )
    .await;
}

async fn deleting_an_account_with_contacts_or_children_asks_what_to_do_with_them(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let other = create_account(&app, &admin, json!({"name": "Other"})).await;
    let mut contacts = Vec::new();
    for name in ["Ann", "Bob"] {
        let response = app
            .post(
                "/contacts",
                &admin,
                json!({"last_name": name, "account_id": id(&acme), "is_primary": name == "Ann"}),
            )
            .await;
        assert_eq!(response.status(), 201);
        contacts.push(json_of(response).await);
    }
    let acme_path = format!("/accounts/{}", id(&acme));
    let refused = assert_problem(app.delete(&acme_path, &admin).await, 409).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("cascade=contacts"),
        "{refused}"
    );
    assert_eq!(app.get(&acme_path, &admin).await.status(), 200);
    assert_problem(
        app.delete(&format!("{acme_path}?cascade=everything"), &admin)
            .await,
        422,
    )
    .await;

    // Reassigning moves the contacts (no longer primary) and audits each move.
    let moved = app
        .delete(&format!("{acme_path}?reassign_to={}", id(&other)), &admin)
        .await;
    assert_eq!(moved.status(), 204);
    assert_problem(app.get(&acme_path, &admin).await, 404).await;
    for contact in &contacts {
        let path = format!("/contacts/{}", id(contact));
        let read = json_of(app.get(&path, &admin).await).await;
        assert_eq!(read["account_id"], id(&other));
        assert_eq!(read["is_primary"], false);
        assert_eq!(
            history_actions(&app, &admin, &path).await,
            ["update", "create"]
        );
    }

    // A parent with children is refused until the children are detached.
    let child = create_account(
        &app,
        &admin,
        json!({"name": "Child", "parent_id": id(&other)}),
    )
    .await;
    let other_path = format!("/accounts/{}", id(&other));
    let refused = assert_problem(
        app.delete(&format!("{other_path}?cascade=contacts"), &admin)
            .await,
        409,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("detach_children")
    );
    // The refusal rolled back the cascade: the contacts are still there.
    assert_eq!(
        app.get(&format!("/contacts/{}", id(&contacts[0])), &admin)
            .await
            .status(),
        200
    );
    let gone = app
        .delete(
            &format!("{other_path}?cascade=contacts&detach_children=true"),
            &admin,
        )
        .await;
    assert_eq!(gone.status(), 204);
    for contact in &contacts {
        let path = format!("/contacts/{}", id(contact));
        assert_problem(app.get(&path, &admin).await, 404).await;
        let audit = json_of(
            app.get(
                &format!("/audit?resource=contacts&resource_id={}", id(contact)),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(audit["data"][0]["action"], "delete");
    }
    let child = json_of(app.get(&format!("/accounts/{}", id(&child)), &admin).await).await;
    assert!(child["parent_id"].is_null());
}

both!(
    an_account_is_created_read_changed_and_deleted_with_an_audit_row_each,
    a_parent_cycle_is_refused_naming_parent_id,
    scopes_decide_which_accounts_a_caller_sees_and_changes,
    another_companys_account_is_not_found_on_every_route_and_invalid_as_a_reference,
    filters_sort_and_cursor_pagination,
    bad_input_is_refused_naming_the_problem,
    bulk_update_and_delete_are_all_or_nothing,
    deleting_an_account_with_contacts_or_children_asks_what_to_do_with_them,
);
