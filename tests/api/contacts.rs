//! Contacts: CRUD with audit, consent flags with their times, one primary contact per account,
//! scopes, tenant isolation, list filters with sort and cursor, bad input and bulk actions — on
//! SQLite and PostgreSQL.

use crate::accounts::{create_account, fields_of, id, ids_of};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

async fn create_contact(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/contacts", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create contact: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/contacts?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /contacts?{query}");
    json_of(response).await
}

async fn a_contact_is_created_read_changed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let contact = create_contact(
        &app,
        &admin,
        json!({
            "first_name": "Ann", "last_name": "Lee", "title": "CTO",
            "email": "Ann@Acme.com", "phone": "+1 555 0100", "mobile": "+1 555 0101",
            "account_id": id(&acme), "email_consent": true,
            "email_consent_source": "web form", "city": "Phoenix", "tags": ["tech"],
            "custom_fields": {"shoe": 38}
        }),
    )
    .await;
    assert_eq!(contact["email"], "ann@acme.com");
    assert_eq!(contact["account_id"], id(&acme));
    assert_eq!(contact["owner_id"], admin.user_id.to_string());
    assert_eq!(contact["email_consent"], true);
    assert!(contact["email_consent_at"].is_string());
    assert_eq!(contact["whatsapp_consent"], false);
    assert!(contact["whatsapp_consent_at"].is_null());
    assert_eq!(contact["is_primary"], false);
    let path = format!("/contacts/{}", id(&contact));
    assert_eq!(json_of(app.get(&path, &admin).await).await, contact);

    let changed = json_of(
        app.patch(
            &path,
            &admin,
            json!({"title": "CEO", "whatsapp_consent": true, "whatsapp_consent_source": "chat"}),
        )
        .await,
    )
    .await;
    assert_eq!(changed["title"], "CEO");
    assert!(changed["whatsapp_consent_at"].is_string());
    // An unchanged flag keeps its time.
    assert_eq!(changed["email_consent_at"], contact["email_consent_at"]);
    let withdrawn = json_of(
        app.patch(&path, &admin, json!({"email_consent": false}))
            .await,
    )
    .await;
    assert_ne!(withdrawn["email_consent_at"], contact["email_consent_at"]);
    assert_eq!(withdrawn["first_name"], "Ann");

    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let actions: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "update", "create"]);
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
}

async fn an_account_has_at_most_one_primary_contact(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let other = create_account(&app, &admin, json!({"name": "Other"})).await;
    let ann = create_contact(
        &app,
        &admin,
        json!({"last_name": "Ann", "account_id": id(&acme), "is_primary": true}),
    )
    .await;
    let elsewhere = create_contact(
        &app,
        &admin,
        json!({"last_name": "Eve", "account_id": id(&other), "is_primary": true}),
    )
    .await;
    let bob = create_contact(
        &app,
        &admin,
        json!({"last_name": "Bob", "account_id": id(&acme), "is_primary": true}),
    )
    .await;
    let primaries = |page: Value| ids_of(&page);
    let query = format!("account_id={}&is_primary=true", id(&acme));
    assert_eq!(primaries(list(&app, &admin, &query).await), [id(&bob)]);
    let made = app
        .patch(
            &format!("/contacts/{}", id(&ann)),
            &admin,
            json!({"is_primary": true}),
        )
        .await;
    assert_eq!(made.status(), 200);
    assert_eq!(primaries(list(&app, &admin, &query).await), [id(&ann)]);
    // The other account's primary is untouched; the un-set contact's change is audited.
    let eve = json_of(
        app.get(&format!("/contacts/{}", id(&elsewhere)), &admin)
            .await,
    )
    .await;
    assert_eq!(eve["is_primary"], true);
    let history = json_of(
        app.get(&format!("/contacts/{}/history", id(&bob)), &admin)
            .await,
    )
    .await;
    assert_eq!(history["data"][0]["changes"]["is_primary"]["after"], false);
    let no_account = app
        .post(
            "/contacts",
            &admin,
            json!({"last_name": "Z", "is_primary": true}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(no_account, 422).await),
        ["is_primary"]
    );
}

async fn scopes_decide_which_contacts_a_caller_sees_and_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let east = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let east_id = east["id"].as_str().unwrap().to_owned();
    let manager = app.member_in_team(&admin, "manager", Some(&east_id)).await;
    let rep_a = app.member_in_team(&admin, "sales", Some(&east_id)).await;
    let rep_b = app.member(&admin, "sales").await;
    let support = app.member(&admin, "support").await;
    let a = create_contact(&app, &rep_a, json!({"last_name": "A's"})).await;
    let b = create_contact(&app, &rep_b, json!({"last_name": "B's"})).await;
    let mine = create_contact(&app, &admin, json!({"last_name": "Admin's"})).await;

    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a)]);
    let b_path = format!("/contacts/{}", id(&b));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(app.patch(&b_path, &rep_a, json!({"title": "x"})).await, 404).await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(app.get(&format!("{b_path}/history"), &rep_a).await, 404).await;
    assert_problem(
        app.post(
            "/contacts",
            &rep_a,
            json!({"last_name": "Gift", "owner_id": rep_b.user_id}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(ids_of(&list(&app, &manager, "").await), [id(&a)]);
    assert_problem(app.get(&b_path, &manager).await, 404).await;
    let all = ids_of(&list(&app, &support, "").await);
    for contact in [&a, &b, &mine] {
        assert!(all.contains(&id(contact)));
    }
    assert_problem(
        app.post("/contacts", &support, json!({"last_name": "No"}))
            .await,
        403,
    )
    .await;
    assert_problem(app.delete(&b_path, &support).await, 403).await;
}

async fn another_companys_contact_is_not_found_and_its_account_is_invalid(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let their_account = create_account(&app, &globex, json!({"name": "Globex"})).await;
    let theirs = create_contact(
        &app,
        &globex,
        json!({"last_name": "Secret", "account_id": id(&their_account)}),
    )
    .await;
    let path = format!("/contacts/{}", id(&theirs));
    assert_problem(app.get(&path, &acme).await, 404).await;
    assert_problem(app.patch(&path, &acme, json!({"title": "x"})).await, 404).await;
    assert_problem(app.delete(&path, &acme).await, 404).await;
    assert_problem(app.get(&format!("{path}/history"), &acme).await, 404).await;
    assert_problem(
        app.post(
            "/contacts/bulk-update",
            &acme,
            json!({"ids": [id(&theirs)], "set": {"tags": ["x"]}}),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        app.post(
            "/contacts/bulk-delete",
            &acme,
            json!({"ids": [id(&theirs)]}),
        )
        .await,
        404,
    )
    .await;
    assert!(ids_of(&list(&app, &acme, "q=secret").await).is_empty());
    let bad_account = app
        .post(
            "/contacts",
            &acme,
            json!({"last_name": "X", "account_id": id(&their_account)}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(bad_account, 422).await),
        ["account_id"]
    );
    let mine = create_contact(&app, &acme, json!({"last_name": "Mine"})).await;
    let moved = app
        .patch(
            &format!("/contacts/{}", id(&mine)),
            &acme,
            json!({"account_id": id(&their_account)}),
        )
        .await;
    assert_eq!(fields_of(&assert_problem(moved, 422).await), ["account_id"]);
}

async fn filters_sort_and_cursor_pagination(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let specs = [
        ("Baker", Some("b@x.test"), true, false),
        ("Adams", None, false, true),
        ("Clark", Some("c@x.test"), true, false),
        ("Baker", None, false, false),
        ("Evans", Some("e@x.test"), false, true),
    ];
    let mut ids = Vec::new();
    for (i, (name, email, in_acme, consent)) in specs.iter().enumerate() {
        let account = in_acme.then(|| id(&acme));
        let contact = create_contact(
            &app,
            &admin,
            json!({"last_name": name, "first_name": format!("F{i}"), "email": email,
                   "account_id": account, "email_consent": consent}),
        )
        .await;
        ids.push(id(&contact));
    }
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
        (format!("account_id={}", id(&acme)), pick(&[0, 2])),
        ("account_id[empty]=true".to_owned(), pick(&[1, 3, 4])),
        ("email_consent=true".to_owned(), pick(&[1, 4])),
        ("email=C@X.test".to_owned(), pick(&[2])),
        ("email[empty]=true".to_owned(), pick(&[1, 3])),
        ("q=baker".to_owned(), pick(&[0, 3])),
    ] {
        assert_eq!(
            sorted(list(&app, &admin, &query).await),
            expected,
            "{query}"
        );
    }
    for sort in ["last_name,-created_at", "-first_name", "-created_at"] {
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
    for (query, needle) in [
        ("sort=colour", "allowed sort fields"),
        ("account_id=nope", "must be an id"),
        ("is_primary=maybe", "must be one of"),
        ("cursor=garbage", "cursor"),
    ] {
        let problem =
            assert_problem(app.get(&format!("/contacts?{query}"), &admin).await, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    for (body, fields) in [
        (json!({}), vec!["last_name"]),
        (json!({"last_name": "X", "email": "nope"}), vec!["email"]),
        (json!({"last_name": "X", "phone": "call me"}), vec!["phone"]),
        (
            json!({"last_name": "X", "account_id": "0190f000-0000-7000-8000-000000000000"}),
            vec!["account_id"],
        ),
        (json!({"last_name": "X", "tags": [""]}), vec!["tags"]),
    ] {
        let problem = assert_problem(app.post("/contacts", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    assert_problem(
        app.post(
            "/contacts",
            &admin,
            json!({"last_name": "X", "email_consent_at": "2026-01-01T00:00:00Z"}),
        )
        .await,
        400,
    )
    .await;
}

async fn bulk_update_and_delete_are_all_or_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let one = create_contact(&app, &admin, json!({"last_name": "One"})).await;
    let two = create_contact(&app, &admin, json!({"last_name": "Two"})).await;
    let updated = app
        .post(
            "/contacts/bulk-update",
            &admin,
            json!({"ids": [id(&one), id(&two)], "set": {"tags": ["q3"], "owner_id": rep.user_id}}),
        )
        .await;
    assert_eq!(json_of(updated).await["count"], 2);
    let read = json_of(app.get(&format!("/contacts/{}", id(&one)), &admin).await).await;
    assert_eq!(read["owner_id"], rep.user_id.to_string());
    assert_eq!(read["tags"], json!(["q3"]));
    assert_problem(
        app.post(
            "/contacts/bulk-update",
            &admin,
            json!({"ids": [id(&one)], "set": {}}),
        )
        .await,
        422,
    )
    .await;
    let deleted = app
        .post(
            "/contacts/bulk-delete",
            &admin,
            json!({"ids": [id(&one), id(&two)]}),
        )
        .await;
    assert_eq!(json_of(deleted).await["count"], 2);
}

both!(
    a_contact_is_created_read_changed_and_deleted_with_an_audit_row_each,
    an_account_has_at_most_one_primary_contact,
    scopes_decide_which_contacts_a_caller_sees_and_changes,
    another_companys_contact_is_not_found_and_its_account_is_invalid,
    filters_sort_and_cursor_pagination,
    bad_input_is_refused_naming_the_problem,
    bulk_update_and_delete_are_all_or_nothing,
);
