//! Every list sorts by every field it filters by (issue 11): the sort fields are read from the
//! same declarations the lists parse, each one is walked with a small page in both directions
//! over records whose values include NULLs and ties, and the walk must return exactly the whole
//! list in order. Lead scores are 0–100 and the total follows fit and engagement.

use rivet_domain::query::{FieldKind, FieldSpec};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, both, ids_of, json_of, spawn_app};

/// The names a list may sort by, and the names it filters by that are not tags.
fn sort_and_filter_names<F>(specs: &[FieldSpec<F>]) -> (Vec<&'static str>, Vec<&'static str>) {
    let sorts = specs
        .iter()
        .filter(|s| s.sortable)
        .map(|s| s.name)
        .collect();
    let filters = specs
        .iter()
        .filter(|s| !s.ops.is_empty() && s.kind != FieldKind::Tags)
        .map(|s| s.name)
        .collect();
    (sorts, filters)
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

async fn page(app: &TestApp, who: &Session, path: &str, query: &str) -> Value {
    let response = app.get(&format!("{path}?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET {path}?{query}");
    json_of(response).await
}

/// Sort `path` by each of `sorts`, both ways: a walk two rows at a time returns the whole list,
/// in the same order, each row once.
async fn walk_every_sort(app: &TestApp, who: &Session, path: &str, sorts: &[&str], rows: usize) {
    for name in sorts {
        for sort in [name.to_string(), format!("-{name}")] {
            let whole = ids_of(&page(app, who, path, &format!("sort={sort}&limit=500")).await);
            assert_eq!(whole.len(), rows, "{path} sort={sort}");
            let mut walked = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..rows {
                let query = match &cursor {
                    Some(c) => format!("sort={sort}&limit=2&cursor={c}"),
                    None => format!("sort={sort}&limit=2"),
                };
                let got = page(app, who, path, &query).await;
                walked.extend(ids_of(&got));
                cursor = got["next_cursor"].as_str().map(str::to_owned);
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(walked, whole, "{path} sort={sort}");
        }
    }
}

/// The values of `field` down a list sorted by it.
async fn column(app: &TestApp, who: &Session, path: &str, sort: &str, field: &str) -> Vec<Value> {
    page(app, who, path, &format!("sort={sort}&limit=500")).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

#[test]
fn every_filterable_field_of_every_record_is_sortable() {
    use rivet_domain::{accounts, activities, contacts, deals, leads, tasks};
    let lists = [
        ("leads", sort_and_filter_names(leads::LEAD_FIELDS)),
        ("accounts", sort_and_filter_names(accounts::ACCOUNT_FIELDS)),
        ("contacts", sort_and_filter_names(contacts::CONTACT_FIELDS)),
        ("deals", sort_and_filter_names(deals::DEAL_FIELDS)),
        ("tasks", sort_and_filter_names(tasks::TASK_FIELDS)),
        (
            "activities",
            sort_and_filter_names(activities::ACTIVITY_FIELDS),
        ),
    ];
    for (list, (sorts, filters)) in lists {
        for filter in filters {
            assert!(
                sorts.contains(&filter),
                "{list}: {filter} filters but does not sort"
            );
        }
    }
    // What a user filters leads by (issue 11's list) is there.
    let (lead_sorts, _) = sort_and_filter_names(leads::LEAD_FIELDS);
    for name in [
        "title",
        "industry",
        "country",
        "city",
        "employee_count",
        "annual_revenue",
        "utm_source",
        "utm_campaign",
        "budget",
        "champion",
        "competition",
        "updated_at",
        "fit_score",
    ] {
        assert!(lead_sorts.contains(&name), "leads do not sort by {name}");
    }
}

async fn every_sort_field_pages_through_nulls_and_ties_in_order(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rep_id = rep.user_id.to_string();

    // Leads: some fields set, some NULL, some equal; scores from rules on what they say.
    crate::scoring::put_scoring(
        &app,
        &admin,
        json!({"fit_rules": [
            {"name": "budget", "points": 100, "conditions": [{"op": "filled", "field": "budget"}]},
            {"name": "retail", "points": 100, "conditions": [{"op": "in", "field": "industry", "values": ["retail"]}]},
            {"name": "rival", "points": 10, "conditions": [{"op": "filled", "field": "competition"}]}],
               "thresholds": []}),
    )
    .await;
    for (i, body) in [
        json!({"last_name": "ash", "title": "cto", "industry": "retail", "country": "de",
               "city": "berlin", "employee_count": 50, "annual_revenue": "1000000.50",
               "annual_revenue_currency": "EUR", "utm_source": "ads", "utm_campaign": "spring",
               "budget": "50k", "champion": "Ann", "email": "Ash@X.test"}),
        json!({"last_name": "birch", "industry": "retail", "employee_count": 50,
               "annual_revenue": "99.99", "annual_revenue_currency": "USD",
               "owner_id": rep_id}),
        json!({"company_name": "cedar co", "country": "fr", "utm_source": "ads",
               "competition": "Rival"}),
        json!({"email": "dogwood@x.test", "title": "ceo", "employee_count": 7}),
        json!({"first_name": "elm", "last_name": "elm", "need": "faster quotes"}),
    ]
    .into_iter()
    .enumerate()
    {
        let lead = create(&app, &admin, "/leads", body).await;
        assert!(lead["id"].is_string(), "lead {i}");
    }
    let (lead_sorts, _) = sort_and_filter_names(rivet_domain::leads::LEAD_FIELDS);
    walk_every_sort(&app, &admin, "/leads", &lead_sorts, 5).await;
    assert_eq!(
        column(&app, &admin, "/leads", "-annual_revenue", "annual_revenue").await,
        [
            json!("1000000.50"),
            json!("99.99"),
            json!(null),
            json!(null),
            json!(null)
        ]
    );
    assert_eq!(
        column(
            &app,
            &admin,
            "/leads",
            "-total_score,last_name",
            "total_score"
        )
        .await,
        [json!(50), json!(50), json!(5), json!(0), json!(0)]
    );
    // Presence of a qualification note filters.
    assert_eq!(
        ids_of(&page(&app, &admin, "/leads", "budget[empty]=false").await).len(),
        1
    );
    assert_eq!(
        ids_of(&page(&app, &admin, "/leads", "champion[empty]=true").await).len(),
        4
    );
    assert_eq!(
        ids_of(&page(&app, &admin, "/leads", "annual_revenue[gte]=100").await).len(),
        1
    );

    // Accounts, contacts, deals, tasks and activities.
    let parent = create(&app, &admin, "/accounts", json!({"name": "parent"})).await;
    let mut accounts = vec![parent.clone()];
    for (body, health) in [
        (
            json!({"name": "a1", "industry": "retail", "employee_count": 10,
                   "parent_id": parent["id"]}),
            Some(90),
        ),
        (json!({"name": "a2"}), Some(50)),
        (
            json!({"name": "a3", "industry": "retail", "owner_id": rep_id}),
            None,
        ),
        (json!({"name": "a4", "employee_count": 3}), Some(50)),
    ] {
        let account = create(&app, &admin, "/accounts", body).await;
        // Health is computed (33 for a new account); set as a recompute would.
        if health.is_some() {
            let id = account["id"].as_str().unwrap();
            crate::health::set_stored_health(&app, id, health).await;
        }
        accounts.push(account);
    }
    let (sorts, _) = sort_and_filter_names(rivet_domain::accounts::ACCOUNT_FIELDS);
    walk_every_sort(&app, &admin, "/accounts", &sorts, 5).await;
    assert_eq!(
        column(&app, &admin, "/accounts", "-health_score,name", "name").await,
        [
            json!("a1"),
            json!("a2"),
            json!("a4"),
            json!("a3"),
            json!("parent")
        ]
    );

    let mut contacts = Vec::new();
    for body in [
        json!({"last_name": "c1", "account_id": accounts[1]["id"], "is_primary": true,
               "email": "C1@x.test", "email_consent": true}),
        json!({"last_name": "c2", "whatsapp_consent": true}),
        json!({"last_name": "c3", "account_id": accounts[2]["id"], "owner_id": rep_id}),
        json!({"first_name": "c4", "email": "c4@x.test"}),
    ] {
        contacts.push(create(&app, &admin, "/contacts", body).await);
    }
    let (sorts, _) = sort_and_filter_names(rivet_domain::contacts::CONTACT_FIELDS);
    walk_every_sort(&app, &admin, "/contacts", &sorts, 4).await;
    assert_eq!(
        column(
            &app,
            &admin,
            "/contacts",
            "-is_primary,created_at",
            "is_primary"
        )
        .await,
        [json!(true), json!(false), json!(false), json!(false)]
    );

    for body in [
        json!({"name": "d1", "account_id": accounts[1]["id"], "amount": "500"}),
        json!({"name": "d2", "contact_id": contacts[0]["id"]}),
        json!({"name": "d3", "amount": "20", "owner_id": rep_id}),
    ] {
        create(&app, &admin, "/deals", body).await;
    }
    let (sorts, _) = sort_and_filter_names(rivet_domain::deals::DEAL_FIELDS);
    walk_every_sort(&app, &admin, "/deals", &sorts, 3).await;

    for body in [
        json!({"subject": "t1", "related_type": "contact", "related_id": contacts[0]["id"]}),
        json!({"subject": "t2", "status": "completed"}),
        json!({"subject": "t3", "assignee_id": rep_id, "due_at": "2026-01-01T09:00:00Z"}),
    ] {
        create(&app, &admin, "/tasks", body).await;
    }
    let (sorts, _) = sort_and_filter_names(rivet_domain::tasks::TASK_FIELDS);
    walk_every_sort(&app, &admin, "/tasks", &sorts, 3).await;

    let link = json!([{"record_type": "contact", "record_id": contacts[0]["id"]}]);
    for body in [
        json!({"kind": "call", "direction": "outbound", "links": link}),
        json!({"kind": "note", "links": link}),
        json!({"kind": "email", "direction": "inbound", "links": link}),
    ] {
        create(&app, &admin, "/activities", body).await;
    }
    let (sorts, _) = sort_and_filter_names(rivet_domain::activities::ACTIVITY_FIELDS);
    walk_every_sort(&app, &admin, "/activities", &sorts, 3).await;
}

both!(every_sort_field_pages_through_nulls_and_ties_in_order);
