//! Leads: the first record type — CRUD with audit, exact money, scopes (own, team, all), tenant
//! isolation, typed list filters, multi-field sort, keyset pagination, bad input and bulk
//! actions, on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, ids_of, json_of, spawn_app,
};

async fn create_lead(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/leads", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create lead: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn id(lead: &Value) -> String {
    lead["id"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/leads?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /leads?{query}");
    json_of(response).await
}

async fn a_lead_is_created_read_changed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create_lead(
        &app,
        &admin,
        json!({
            "first_name": "Ada", "last_name": "Lovelace", "title": "CEO",
            "email": "Ada@Example.com", "phone": "+44 20 7946 0000",
            "company_name": "Analytical Engines", "website": "https://engines.example",
            "industry": "Computing", "employee_count": 12,
            "annual_revenue": "12500.10", "annual_revenue_currency": "gbp",
            "city": "London", "country": "GB", "source": "web", "utm_campaign": "launch",
            "tags": ["vip", "uk"], "budget": "approved", "champion": "Charles",
            "custom_fields": {"favourite_colour": "blue"}
        }),
    )
    .await;
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["owner_id"], admin.user_id.to_string());
    assert_eq!(lead["email"], "ada@example.com");
    assert_eq!(lead["annual_revenue"], "12500.10");
    assert_eq!(lead["annual_revenue_currency"], "GBP");
    assert_eq!(lead["tags"], json!(["vip", "uk"]));
    assert_eq!(lead["custom_fields"]["favourite_colour"], "blue");
    let lead_id = id(&lead);
    let read = json_of(app.get(&format!("/leads/{lead_id}"), &admin).await).await;
    assert_eq!(read, lead);

    let changed = app
        .patch(
            &format!("/leads/{lead_id}"),
            &admin,
            json!({"title": "Countess", "website": null, "status": "contacted"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = json_of(changed).await;
    assert_eq!(changed["title"], "Countess");
    assert!(changed["website"].is_null());
    assert_eq!(changed["status"], "contacted");
    // Untouched fields stay exactly as they were, money included.
    assert_eq!(changed["annual_revenue"], "12500.10");
    assert_eq!(changed["first_name"], "Ada");
    assert_eq!(changed["tags"], json!(["vip", "uk"]));

    let history = json_of(app.get(&format!("/leads/{lead_id}/history"), &admin).await).await;
    let actions: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create"]);
    let update = &history["data"][0]["changes"];
    assert_eq!(update["title"]["before"], "CEO");
    assert_eq!(update["title"]["after"], "Countess");
    assert!(update.get("first_name").is_none(), "only changed fields");

    assert_eq!(
        app.delete(&format!("/leads/{lead_id}"), &admin)
            .await
            .status(),
        204
    );
    assert_problem(app.get(&format!("/leads/{lead_id}"), &admin).await, 404).await;
    let audit = json_of(
        app.get(
            &format!("/audit?resource=leads&resource_id={lead_id}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 3);
    assert_eq!(audit["data"][0]["action"], "delete");
}

async fn money_round_trips_exactly(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for (sent, shown) in [
        ("12500.10", "12500.10"),
        ("0.000001", "0.000001"),
        ("123456789012.45", "123456789012.45"),
        ("-7", "-7.00"),
        ("99.990000", "99.99"),
    ] {
        let lead = create_lead(
            &app,
            &admin,
            json!({"last_name": "Money", "annual_revenue": sent, "annual_revenue_currency": "EUR"}),
        )
        .await;
        let read = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
        assert_eq!(read["annual_revenue"], shown, "{sent}");
    }
}

async fn scopes_decide_which_leads_a_caller_sees_and_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let east = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let east_id = east["id"].as_str().unwrap().to_owned();
    let manager = app.member_in_team(&admin, "manager", Some(&east_id)).await;
    let rep_a = app.member_in_team(&admin, "sales", Some(&east_id)).await;
    let rep_b = app.member(&admin, "sales").await;
    let support = app.member(&admin, "support").await;

    let a_lead = create_lead(&app, &rep_a, json!({"last_name": "A's"})).await;
    assert_eq!(a_lead["owner_id"], rep_a.user_id.to_string());
    let b_lead = create_lead(&app, &rep_b, json!({"last_name": "B's"})).await;
    let admin_lead = create_lead(&app, &admin, json!({"last_name": "Admin's"})).await;

    // A sales rep sees only their own leads, and others' are not found.
    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a_lead)]);
    let b_path = format!("/leads/{}", id(&b_lead));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(app.patch(&b_path, &rep_a, json!({"title": "x"})).await, 404).await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(app.get(&format!("{b_path}/history"), &rep_a).await, 404).await;
    // … and cannot give a lead to someone else.
    let given = app
        .post(
            "/leads",
            &rep_a,
            json!({"last_name": "Gift", "owner_id": rep_b.user_id}),
        )
        .await;
    assert_problem(given, 403).await;
    let handed_over = app
        .patch(
            &format!("/leads/{}", id(&a_lead)),
            &rep_a,
            json!({"owner_id": rep_b.user_id}),
        )
        .await;
    assert_problem(handed_over, 403).await;

    // A manager sees their team's leads.
    let mut seen = ids_of(&list(&app, &manager, "").await);
    seen.sort();
    assert_eq!(seen, [id(&a_lead)]);
    assert_eq!(
        app.patch(
            &format!("/leads/{}", id(&a_lead)),
            &manager,
            json!({"status": "contacted"})
        )
        .await
        .status(),
        200
    );
    assert_problem(app.get(&b_path, &manager).await, 404).await;
    let for_teammate = app
        .post(
            "/leads",
            &manager,
            json!({"last_name": "Team", "owner_id": rep_a.user_id}),
        )
        .await;
    assert_eq!(for_teammate.status(), 201);
    let outside_team = app
        .post(
            "/leads",
            &manager,
            json!({"last_name": "Team", "owner_id": rep_b.user_id}),
        )
        .await;
    assert_problem(outside_team, 403).await;

    // Support reads everything but cannot create.
    let all = list(&app, &support, "").await;
    for lead in [&a_lead, &b_lead, &admin_lead] {
        assert!(ids_of(&all).contains(&id(lead)));
    }
    assert_eq!(app.get(&b_path, &support).await.status(), 200);
    assert_problem(
        app.post("/leads", &support, json!({"last_name": "No"}))
            .await,
        403,
    )
    .await;
}

async fn another_companys_lead_is_not_found_on_every_lead_route(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let theirs = create_lead(&app, &globex, json!({"last_name": "Secret"})).await;
    let path = format!("/leads/{}", id(&theirs));
    assert_problem(app.get(&path, &acme).await, 404).await;
    assert_problem(app.patch(&path, &acme, json!({"title": "x"})).await, 404).await;
    assert_problem(app.delete(&path, &acme).await, 404).await;
    assert_problem(app.get(&format!("{path}/history"), &acme).await, 404).await;
    let bulk = app
        .post(
            "/leads/bulk-update",
            &acme,
            json!({"ids": [id(&theirs)], "set": {"status": "qualified"}}),
        )
        .await;
    assert_problem(bulk, 404).await;
    assert_problem(
        app.post("/leads/bulk-delete", &acme, json!({"ids": [id(&theirs)]}))
            .await,
        404,
    )
    .await;
    assert!(
        list(&app, &acme, "q=secret").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Nothing of theirs changed.
    let still = json_of(app.get(&path, &globex).await).await;
    assert_eq!(still["status"], "new");
    // Their owner is not ours to assign to either.
    let foreign_owner = app
        .post(
            "/leads",
            &acme,
            json!({"last_name": "X", "owner_id": globex.user_id}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(foreign_owner, 422).await),
        ["owner_id"]
    );
}

async fn filters_sort_and_cursor_pagination(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rep_id = rep.user_id.to_string();
    let specs = [
        ("Baker", "new", Some("b@x.test"), 10, None, vec!["vip"]),
        ("Adams", "qualified", None, 50, Some(&rep_id), vec![]),
        (
            "Clark",
            "new",
            Some("c@x.test"),
            30,
            None,
            vec!["vip", "eu"],
        ),
        ("Baker", "contacted", None, 20, Some(&rep_id), vec!["eu"]),
        ("Evans", "qualified", Some("e@x.test"), 40, None, vec![]),
        ("Davis", "new", None, 10, None, vec![]),
        ("Baker", "new", Some("bb@x.test"), 30, None, vec![]),
    ];
    let mut created = Vec::new();
    // Each lead's total score is its spec's (lead scoring's rules, by title); statuses are
    // set freely.
    crate::scoring::score_by_title(&app, &admin).await;
    crate::qualification::without_gates(&app, &admin).await;
    for (name, status, email, score, owner, tags) in &specs {
        let lead = create_lead(
            &app,
            &admin,
            json!({"last_name": name, "company_name": format!("{name} Ltd"), "status": status,
                   "email": email, "title": format!("s{score}"),
                   "owner_id": owner, "tags": tags}),
        )
        .await;
        created.push(lead);
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
    assert_eq!(
        sorted(list(&app, &admin, "status=new").await),
        pick(&[0, 2, 5, 6])
    );
    assert_eq!(
        sorted(list(&app, &admin, "status[in]=qualified,contacted").await),
        pick(&[1, 3, 4])
    );
    assert_eq!(
        sorted(list(&app, &admin, &format!("owner_id={rep_id}")).await),
        pick(&[1, 3])
    );
    assert_eq!(
        sorted(
            list(
                &app,
                &admin,
                &format!("owner_id[in]={rep_id},{}", admin.user_id)
            )
            .await
        ),
        pick(&[0, 1, 2, 3, 4, 5, 6])
    );
    assert_eq!(
        sorted(list(&app, &admin, "email[empty]=true").await),
        pick(&[1, 3, 5])
    );
    assert_eq!(
        sorted(list(&app, &admin, "email[empty]=false").await),
        pick(&[0, 2, 4, 6])
    );
    assert_eq!(
        sorted(list(&app, &admin, "email=C@X.test").await),
        pick(&[2])
    );
    assert_eq!(
        sorted(list(&app, &admin, "tags[contains]=vip").await),
        pick(&[0, 2])
    );
    assert_eq!(
        sorted(list(&app, &admin, "total_score[gte]=30&status=new").await),
        pick(&[2, 6])
    );
    assert_eq!(
        sorted(list(&app, &admin, "q=BAKER").await),
        pick(&[0, 3, 6])
    );
    let third = created[2]["created_at"].as_str().unwrap();
    let fifth = created[4]["created_at"].as_str().unwrap();
    let range = format!(
        "created_at[gte]={}&created_at[lte]={}",
        urlencode(third),
        urlencode(fifth)
    );
    assert_eq!(sorted(list(&app, &admin, &range).await), pick(&[2, 3, 4]));

    // Multi-field sort: last name (case as stored), then newest first.
    let page = list(&app, &admin, "sort=last_name,-created_at").await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["last_name"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = specs.iter().map(|s| s.0).collect();
    expected.sort();
    assert_eq!(names, expected);
    let bakers: Vec<String> = ids_of(&page)
        .into_iter()
        .filter(|i| [&ids[0], &ids[3], &ids[6]].contains(&i))
        .collect();
    assert_eq!(bakers, [ids[6].clone(), ids[3].clone(), ids[0].clone()]);

    // Walking the cursor under a non-id sort returns every row exactly once, in order.
    for sort in [
        "status,-total_score",
        "-total_score,last_name",
        "company_name",
        "-created_at",
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
        assert_eq!(walked.len(), 7);
    }
    // A cursor of one sort is refused under another.
    let first = list(&app, &admin, "sort=last_name&limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_problem(
        app.get(&format!("/leads?sort=status&cursor={cursor}"), &admin)
            .await,
        400,
    )
    .await;
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn bad_input_is_refused_naming_the_problem(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create_lead(&app, &admin, json!({"last_name": "Ok"})).await;
    let path = format!("/leads/{}", id(&lead));
    for (query, needle) in [
        (
            "sort=colour",
            "allowed sort fields: status, owner_id, created_at, updated_at, email, first_name",
        ),
        ("colour=red", "status[in]"),
        ("status[like]=new", "allowed filters"),
        ("status=won", "must be one of"),
        ("created_at[gte]=yesterday", "RFC 3339"),
        ("email[empty]=maybe", "true or false"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let problem = assert_problem(app.get(&format!("/leads?{query}"), &admin).await, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    let owner = uuid::Uuid::now_v7();
    for (body, fields) in [
        (json!({"last_name": "X", "email": "nope"}), vec!["email"]),
        (
            json!({"last_name": "X", "website": "not a url"}),
            vec!["website"],
        ),
        (
            json!({"last_name": "X", "annual_revenue": "1", "annual_revenue_currency": "XYZ"}),
            vec!["annual_revenue_currency"],
        ),
        (
            json!({"last_name": "X", "annual_revenue": "1.2.3", "annual_revenue_currency": "EUR"}),
            vec!["annual_revenue"],
        ),
        (json!({"last_name": "X", "status": "won"}), vec!["status"]),
        (
            json!({"last_name": "X", "owner_id": owner}),
            vec!["owner_id"],
        ),
        (
            json!({"last_name": "X", "employee_count": "many"}),
            vec!["employee_count"],
        ),
        (
            json!({"last_name": "X", "email": "bad", "status": "won", "website": "x"}),
            vec!["website", "email", "status"],
        ),
        (json!({}), vec!["last_name"]),
    ] {
        let problem = assert_problem(app.post("/leads", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    assert_problem(
        app.post("/leads", &admin, json!({"last_name": "X", "colour": "red"}))
            .await,
        400,
    )
    .await;
    assert_problem(
        app.patch(&path, &admin, json!({"colour": "red"})).await,
        400,
    )
    .await;
    assert_problem(app.patch(&path, &admin, json!({"id": owner})).await, 400).await;
    let problem =
        assert_problem(app.patch(&path, &admin, json!({"status": null})).await, 422).await;
    assert_eq!(fields_of(&problem), ["status"]);
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"email": "still bad"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["email"]);
    // Nothing of the failed patches was written.
    let read = json_of(app.get(&path, &admin).await).await;
    assert_eq!(read, lead);
}

async fn bulk_update_and_delete_are_all_or_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let other = app.member(&admin, "sales").await;
    let mine = [
        create_lead(&app, &rep, json!({"last_name": "One"})).await,
        create_lead(&app, &rep, json!({"last_name": "Two"})).await,
    ];
    let theirs = create_lead(&app, &other, json!({"last_name": "Three"})).await;
    let all_ids = json!([id(&mine[0]), id(&mine[1]), id(&theirs)]);

    // One lead outside the rep's scope: nothing changes.
    let refused = app
        .post(
            "/leads/bulk-update",
            &rep,
            json!({"ids": all_ids, "set": {"status": "contacted"}}),
        )
        .await;
    assert_problem(refused, 404).await;
    for lead in &mine {
        let read = json_of(app.get(&format!("/leads/{}", id(lead)), &rep).await).await;
        assert_eq!(read["status"], "new");
    }
    assert_problem(
        app.post("/leads/bulk-delete", &rep, json!({"ids": all_ids}))
            .await,
        404,
    )
    .await;

    // Within scope: every lead changes, one audit row each.
    let done = app
        .post(
            "/leads/bulk-update",
            &rep,
            json!({"ids": [id(&mine[0]), id(&mine[1])], "set": {"status": "contacted", "tags": ["hot"]}}),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(json_of(done).await["count"], 2);
    for lead in &mine {
        let read = json_of(app.get(&format!("/leads/{}", id(lead)), &rep).await).await;
        assert_eq!(read["status"], "contacted");
        assert_eq!(read["tags"], json!(["hot"]));
        let history = json_of(
            app.get(&format!("/leads/{}/history", id(lead)), &admin)
                .await,
        )
        .await;
        assert_eq!(history["data"][0]["action"], "update");
        assert_eq!(
            history["data"][0]["changes"]["status"]["after"],
            "contacted"
        );
    }
    // A rep cannot hand leads to someone else in bulk either.
    assert_problem(
        app.post(
            "/leads/bulk-update",
            &rep,
            json!({"ids": [id(&mine[0])], "set": {"owner_id": other.user_id}}),
        )
        .await,
        403,
    )
    .await;
    // The admin can.
    let moved = app
        .post(
            "/leads/bulk-update",
            &admin,
            json!({"ids": [id(&mine[0])], "set": {"owner_id": other.user_id}}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_problem(
        app.get(&format!("/leads/{}", id(&mine[0])), &rep).await,
        404,
    )
    .await;

    for (body, field) in [
        (json!({"ids": [], "set": {"status": "new"}}), "ids"),
        (json!({"ids": [id(&theirs)], "set": {}}), "set"),
        (
            json!({"ids": [id(&theirs)], "set": {"status": "won"}}),
            "set.status",
        ),
    ] {
        let problem = assert_problem(app.post("/leads/bulk-update", &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), [field]);
    }
    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    assert_problem(
        app.post("/leads/bulk-delete", &admin, json!({"ids": too_many}))
            .await,
        422,
    )
    .await;

    let deleted = app
        .post("/leads/bulk-delete", &rep, json!({"ids": [id(&mine[1])]}))
        .await;
    assert_eq!(json_of(deleted).await["count"], 1);
    assert_problem(
        app.get(&format!("/leads/{}", id(&mine[1])), &admin).await,
        404,
    )
    .await;
    assert_eq!(
        app.get(&format!("/leads/{}", id(&theirs)), &admin)
            .await
            .status(),
        200
    );
}

both!(
    a_lead_is_created_read_changed_and_deleted_with_an_audit_row_each,
    money_round_trips_exactly,
    scopes_decide_which_leads_a_caller_sees_and_changes,
    another_companys_lead_is_not_found_on_every_lead_route,
    filters_sort_and_cursor_pagination,
    bad_input_is_refused_naming_the_problem,
    bulk_update_and_delete_are_all_or_nothing,
);
