//! Custom fields: definitions per company and record type (who may change them, tenant
//! isolation, duplicate keys, kind changes in use, deletion removing values), values checked and
//! normalised on every write of leads, accounts and contacts, and `cf.<key>` list filters and
//! sorts with keyset pagination, on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

async fn define(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/custom-fields", who, body.clone()).await;
    assert_eq!(
        response.status(),
        201,
        "define {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body.clone()).await;
    assert_eq!(
        response.status(),
        201,
        "create {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

fn fields_of(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

async fn list(app: &TestApp, who: &Session, path: &str) -> Value {
    let response = app.get(path, who).await;
    assert_eq!(
        response.status(),
        200,
        "GET {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["last_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// One lead field of every kind; `size` is required.
async fn define_every_kind(app: &TestApp, admin: &Session) {
    for body in [
        json!({"record_type": "lead", "key": "note", "label": "Note", "kind": "text"}),
        json!({"record_type": "lead", "key": "size", "label": "Size", "kind": "number", "required": true}),
        json!({"record_type": "lead", "key": "due", "label": "Due", "kind": "date"}),
        json!({"record_type": "lead", "key": "vip", "label": "VIP", "kind": "boolean"}),
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "select", "options": ["gold", "silver", "bronze"]}),
        json!({"record_type": "lead", "key": "areas", "label": "Areas", "kind": "multi_select", "options": ["north", "south", "east"]}),
        json!({"record_type": "lead", "key": "site", "label": "Site", "kind": "url"}),
        json!({"record_type": "lead", "key": "mail", "label": "Mail", "kind": "email"}),
    ] {
        define(app, admin, body).await;
    }
}

async fn lead_values_of_every_kind_are_checked_and_normalised(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    define_every_kind(&app, &admin).await;

    let response = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Doe", "custom_fields": {
                "note": "  hello ", "size": "12.5", "due": "2026-03-01", "vip": "true",
                "tier": "gold", "areas": ["south", "north", "south"], "site": "example.com",
                "mail": "Ann@Example.COM"
            }}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let lead = json_of(response).await;
    assert_eq!(
        lead["custom_fields"],
        json!({
            "note": "hello", "size": 12.5, "due": "2026-03-01", "vip": true, "tier": "gold",
            "areas": ["south", "north"], "site": "https://example.com", "mail": "ann@example.com"
        })
    );
    let shown = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(shown["custom_fields"], lead["custom_fields"]);

    // A wrong value of each kind is named.
    for (key, bad) in [
        ("note", json!(5)),
        ("size", json!("lots")),
        ("due", json!("03/01/2026")),
        ("vip", json!("maybe")),
        ("tier", json!("platinum")),
        ("areas", json!(["west"])),
        ("site", json!("not a site")),
        ("mail", json!("nobody")),
    ] {
        let mut values = json!({"size": 1});
        values[key] = bad.clone();
        let problem = assert_problem(
            app.post(
                "/leads",
                &admin,
                json!({"last_name": "Doe", "custom_fields": values}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            fields_of(&problem),
            [format!("custom_fields.{key}")],
            "{key} = {bad}"
        );
    }
    // Unknown keys and a missing required field; other field errors come in the same answer.
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "", "custom_fields": {"colour": "red"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields_of(&problem),
        ["custom_fields.colour", "custom_fields.size", "last_name"]
    );
    let problem = assert_problem(
        app.post("/leads", &admin, json!({"last_name": "Doe"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.size"]);

    // A patch changes only the keys it sends; null clears an optional one, not a required one.
    let path = format!("/leads/{}", id(&lead));
    let response = app
        .patch(
            &path,
            &admin,
            json!({"custom_fields": {"size": 7, "note": null, "vip": false}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let patched = json_of(response).await;
    assert_eq!(patched["custom_fields"]["size"], 7);
    assert_eq!(patched["custom_fields"]["vip"], false);
    assert_eq!(patched["custom_fields"]["tier"], "gold");
    assert!(patched["custom_fields"].get("note").is_none());
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"custom_fields": {"size": null}}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.size"]);
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"custom_fields": {"tier": "tin"}}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.tier"]);
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"custom_fields": null}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.size"]);
    // A patch without custom_fields leaves them alone.
    let response = app.patch(&path, &admin, json!({"title": "CEO"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_of(response).await["custom_fields"],
        patched["custom_fields"]
    );
}

async fn lead_lists_filter_and_sort_on_custom_fields_across_pages(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    define_every_kind(&app, &admin).await;
    let rows = [
        (
            "A",
            json!({"size": 30, "tier": "gold", "due": "2026-01-10", "vip": true, "areas": ["north"]}),
        ),
        (
            "B",
            json!({"size": 5.5, "tier": "silver", "due": "2026-02-10", "areas": ["south", "east"]}),
        ),
        (
            "C",
            json!({"size": 100, "tier": "gold", "due": "2026-03-10", "vip": false, "note": "x"}),
        ),
        (
            "D",
            json!({"size": -2, "tier": "bronze", "due": "2025-12-31"}),
        ),
        ("E", json!({"size": 30, "due": "2026-02-28"})),
        ("F", json!({"size": 12})),
    ];
    for (name, values) in &rows {
        create(
            &app,
            &admin,
            "/leads",
            json!({"last_name": name, "custom_fields": values}),
        )
        .await;
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let got = |page: Value| sorted(names(&page));

    // A number range, compared as numbers (not text: "100" < "30" as text).
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.size[gte]=10&cf.size[lte]=30").await),
        ["A", "E", "F"]
    );
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.size[gte]=31").await),
        ["C"]
    );
    // A select value, and several.
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.tier=gold").await),
        ["A", "C"]
    );
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.tier[in]=silver,bronze").await),
        ["B", "D"]
    );
    // A date range.
    assert_eq!(
        got(list(
            &app,
            &admin,
            "/leads?cf.due[gte]=2026-01-01&cf.due[lte]=2026-02-28"
        )
        .await),
        ["A", "B", "E"]
    );
    // Booleans, multi-select membership and emptiness.
    assert_eq!(got(list(&app, &admin, "/leads?cf.vip=true").await), ["A"]);
    assert_eq!(got(list(&app, &admin, "/leads?cf.vip=false").await), ["C"]);
    assert_eq!(got(list(&app, &admin, "/leads?cf.areas=east").await), ["B"]);
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.areas[in]=north,east").await),
        ["A", "B"]
    );
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.tier[empty]=true").await),
        ["E", "F"]
    );
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.note[empty]=false").await),
        ["C"]
    );
    // Custom filters with the rest of the query.
    assert_eq!(
        got(list(&app, &admin, "/leads?cf.tier=gold&q=c").await),
        ["C"]
    );

    // Sort by a number across pages of 2: the cursor carries the custom value.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/leads?sort=cf.size&limit=2&cursor={c}"),
            None => "/leads?sort=cf.size&limit=2".to_owned(),
        };
        let page = list(&app, &admin, &path).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    // Ties (A and E at 30) fall back to the default order, newest first.
    assert_eq!(seen, ["D", "B", "F", "E", "A", "C"]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/leads?sort=-cf.size,last_name&limit=4&cursor={c}"),
            None => "/leads?sort=-cf.size,last_name&limit=4".to_owned(),
        };
        let page = list(&app, &admin, &path).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["C", "A", "E", "F", "B", "D"]);
    // Sorting by a select (text) and a date; a missing value sorts first.
    let page = list(&app, &admin, "/leads?sort=cf.due,last_name&limit=3").await;
    assert_eq!(names(&page), ["F", "D", "A"]);
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let page = list(
        &app,
        &admin,
        &format!("/leads?sort=cf.due,last_name&limit=3&cursor={next}"),
    )
    .await;
    assert_eq!(names(&page), ["B", "E", "C"]);
    // A cursor of another sort is refused.
    assert_problem(
        app.get(
            &format!("/leads?sort=cf.size&limit=3&cursor={next}"),
            &admin,
        )
        .await,
        400,
    )
    .await;

    // Unknown custom keys and bad values are 400s naming what is allowed.
    let problem = assert_problem(app.get("/leads?cf.colour=red", &admin).await, 400).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("cf.size[gte]") && detail.contains("cf.tier") && detail.contains("status"),
        "{detail}"
    );
    let problem = assert_problem(app.get("/leads?sort=cf.colour", &admin).await, 400).await;
    assert!(problem["detail"].as_str().unwrap().contains("cf.size"));
    assert_problem(app.get("/leads?sort=cf.areas", &admin).await, 400).await;
    assert_problem(app.get("/leads?cf.size[gte]=big", &admin).await, 400).await;
    assert_problem(app.get("/leads?cf.tier=platinum", &admin).await, 400).await;
    assert_problem(app.get("/leads?cf.due[lte]=soon", &admin).await, 400).await;
    assert_problem(app.get("/leads?cf.vip[gte]=true", &admin).await, 400).await;
    // Another company's fields are not this company's filters.
    let globex = app.other_company("Globex").await;
    assert_problem(app.get("/leads?cf.size[gte]=1", &globex).await, 400).await;
}

async fn accounts_and_contacts_check_filter_and_sort_their_custom_fields(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({"record_type": "account", "key": "seats", "label": "Seats", "kind": "number"}),
    )
    .await;
    define(
        &app,
        &admin,
        json!({"record_type": "contact", "key": "birthday", "label": "Birthday", "kind": "date", "required": true}),
    )
    .await;
    for (name, seats) in [("Acme", 10), ("Globex", 250), ("Initech", 40)] {
        create(
            &app,
            &admin,
            "/accounts",
            json!({"name": name, "custom_fields": {"seats": seats.to_string()}}),
        )
        .await;
    }
    let problem = assert_problem(
        app.post(
            "/accounts",
            &admin,
            json!({"name": "Bad", "custom_fields": {"seats": true}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.seats"]);
    // A lead field is not an account field.
    let problem = assert_problem(
        app.post(
            "/accounts",
            &admin,
            json!({"name": "Bad", "custom_fields": {"birthday": "2000-01-01"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.birthday"]);
    let page = list(&app, &admin, "/accounts?cf.seats[gte]=20&sort=-cf.seats").await;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["Globex", "Initech"]);
    assert_eq!(page["data"][0]["custom_fields"]["seats"], 250);

    let problem = assert_problem(
        app.post("/contacts", &admin, json!({"last_name": "Lee"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.birthday"]);
    let ann = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Lee", "custom_fields": {"birthday": "1990-05-04"}}),
    )
    .await;
    create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Kim", "custom_fields": {"birthday": "2001-01-02"}}),
    )
    .await;
    let page = list(&app, &admin, "/contacts?cf.birthday[lte]=1999-12-31").await;
    assert_eq!(names(&page), ["Lee"]);
    let page = list(&app, &admin, "/contacts?sort=-cf.birthday").await;
    assert_eq!(names(&page), ["Kim", "Lee"]);
    let problem = assert_problem(
        app.patch(
            &format!("/contacts/{}", id(&ann)),
            &admin,
            json!({"custom_fields": {"birthday": "yesterday"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["custom_fields.birthday"]);
}

async fn definitions_are_checked_audited_and_private_to_their_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let field = define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "tier", "label": " Tier ", "kind": "select", "options": ["gold", " silver "]}),
    )
    .await;
    assert_eq!(field["label"], "Tier");
    assert_eq!(field["options"], json!(["gold", "silver"]));
    assert_eq!(field["kind"], "select");
    assert_eq!(field["record_type"], "lead");
    assert_eq!(field["required"], false);
    assert_eq!(field["position"], 1);
    let second = define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "score2", "label": "Score", "kind": "number"}),
    )
    .await;
    assert_eq!(second["position"], 2);
    define(
        &app,
        &admin,
        json!({"record_type": "account", "key": "tier", "label": "Tier", "kind": "text"}),
    )
    .await;
    let path = format!("/custom-fields/{}", id(&field));

    // Lists, by record type.
    let page = list(&app, &admin, "/custom-fields?record_type=lead").await;
    let keys: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["tier", "score2"]);
    assert_eq!(
        list(&app, &admin, "/custom-fields").await["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_problem(
        app.get("/custom-fields?record_type=ship", &admin).await,
        400,
    )
    .await;

    // Duplicate keys per record type conflict; bad input names the field.
    let problem = assert_problem(
        app.post(
            "/custom-fields",
            &admin,
            json!({"record_type": "lead", "key": "tier", "label": "Again", "kind": "text"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(fields_of(&problem), ["key"]);
    for (body, field_name) in [
        (
            json!({"record_type": "lead", "key": "Bad Key", "label": "X", "kind": "text"}),
            "key",
        ),
        (
            json!({"record_type": "lead", "key": "", "label": "X", "kind": "text"}),
            "key",
        ),
        (
            json!({"record_type": "lead", "key": "x".repeat(41), "label": "X", "kind": "text"}),
            "key",
        ),
        (
            json!({"record_type": "ship", "key": "x", "label": "X", "kind": "text"}),
            "record_type",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": " ", "kind": "text"}),
            "label",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": "X", "kind": "colour"}),
            "kind",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": "X", "kind": "select"}),
            "options",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": "X", "kind": "select", "options": []}),
            "options",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": "X", "kind": "text", "options": ["a"]}),
            "options",
        ),
        (
            json!({"record_type": "lead", "key": "x", "label": "X", "kind": "text", "position": 0}),
            "position",
        ),
    ] {
        let problem =
            assert_problem(app.post("/custom-fields", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), [field_name], "{body}");
    }
    let problem =
        assert_problem(app.patch(&path, &admin, json!({"key": "other"})).await, 422).await;
    assert_eq!(fields_of(&problem), ["key"]);

    // Changes are audited.
    let response = app
        .patch(
            &path,
            &admin,
            json!({"label": "Level", "options": ["gold", "silver", "bronze"], "required": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed = json_of(response).await;
    assert_eq!(changed["label"], "Level");
    assert_eq!(changed["required"], true);
    assert_eq!(changed["key"], "tier");

    // Another company sees none of it.
    let globex = app.other_company("Globex").await;
    assert_eq!(
        list(&app, &globex, "/custom-fields").await["data"],
        json!([])
    );
    assert_problem(app.get(&path, &globex).await, 404).await;
    assert_problem(
        app.patch(&path, &globex, json!({"label": "Mine"})).await,
        404,
    )
    .await;
    assert_problem(app.delete(&path, &globex).await, 404).await;
    // Its own fields are its own: the same key is free there, and its leads are free-form.
    define(
        &app,
        &globex,
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "number"}),
    )
    .await;
    assert_eq!(
        list(&app, &admin, "/custom-fields?record_type=lead").await["data"][0]["kind"],
        "select"
    );

    // A sales rep reads definitions but cannot change them.
    let rep = app.member(&admin, "sales").await;
    assert_eq!(
        list(&app, &rep, "/custom-fields?record_type=lead").await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(json_of(app.get(&path, &rep).await).await["key"], "tier");
    assert_problem(
        app.post(
            "/custom-fields",
            &rep,
            json!({"record_type": "lead", "key": "mine", "label": "Mine", "kind": "text"}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(app.patch(&path, &rep, json!({"label": "Mine"})).await, 403).await;
    assert_problem(app.delete(&path, &rep).await, 403).await;

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    let audit = list(
        &app,
        &admin,
        &format!("/audit?resource=custom_fields&resource_id={}", id(&field)),
    )
    .await;
    let mut actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(actions, ["create", "update", "delete"]);
}

async fn kinds_in_use_do_not_change_and_deleting_a_field_removes_its_values(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let tier = define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "select", "options": ["gold", "silver"]}),
    )
    .await;
    let spare = define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "spare", "label": "Spare", "kind": "text"}),
    )
    .await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Doe", "custom_fields": {"tier": "gold"}}),
    )
    .await;
    let tier_path = format!("/custom-fields/{}", id(&tier));

    // In use: the kind cannot change, nor can a used option go; an unused one can.
    let problem = assert_problem(
        app.patch(&tier_path, &admin, json!({"kind": "text"})).await,
        409,
    )
    .await;
    assert_eq!(fields_of(&problem), ["kind"]);
    let problem = assert_problem(
        app.patch(&tier_path, &admin, json!({"options": ["silver"]}))
            .await,
        409,
    )
    .await;
    assert_eq!(fields_of(&problem), ["options"]);
    let response = app
        .patch(&tier_path, &admin, json!({"options": ["gold", "bronze"]}))
        .await;
    assert_eq!(response.status(), 200);
    // Unused: the kind changes (a select needs options).
    let spare_path = format!("/custom-fields/{}", id(&spare));
    let problem = assert_problem(
        app.patch(&spare_path, &admin, json!({"kind": "select"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["options"]);
    let response = app
        .patch(&spare_path, &admin, json!({"kind": "number"}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["kind"], "number");

    // Deleting the field removes its values; it is no longer a filter.
    assert_eq!(app.delete(&tier_path, &admin).await.status(), 204);
    let shown = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(shown["custom_fields"], json!({}));
    assert_problem(app.get("/leads?cf.tier=gold", &admin).await, 400).await;
    // With the key free again, it can come back as another kind.
    define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "number"}),
    )
    .await;
    let response = app
        .patch(
            &format!("/leads/{}", id(&lead)),
            &admin,
            json!({"custom_fields": {"tier": 3}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["custom_fields"], json!({"tier": 3}));

    // Deal fields are changed and deleted alike (their values live in the deals table).
    let deal_field = define(
        &app,
        &admin,
        json!({"record_type": "deal", "key": "region", "label": "Region", "kind": "text"}),
    )
    .await;
    let deal_path = format!("/custom-fields/{}", id(&deal_field));
    let response = app.patch(&deal_path, &admin, json!({"kind": "date"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.delete(&deal_path, &admin).await.status(), 204);
}

async fn deal_values_are_checked_and_filter_and_sort_deal_lists(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({"record_type": "deal", "key": "seats", "label": "Seats", "kind": "number"}),
    )
    .await;
    let bad = app
        .post(
            "/deals",
            &admin,
            json!({"name": "Bad", "custom_fields": {"seats": "many"}}),
        )
        .await;
    let problem = assert_problem(bad, 422).await;
    assert_eq!(
        problem["errors"][0]["field"], "custom_fields.seats",
        "{problem}"
    );
    let small = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Small", "custom_fields": {"seats": 5}}),
    )
    .await;
    let big = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Big", "custom_fields": {"seats": "50"}}),
    )
    .await;
    assert_eq!(big["custom_fields"]["seats"], 50.0);
    let page = json_of(app.get("/deals?cf.seats[gte]=10", &admin).await).await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Big"]);
    let page = json_of(app.get("/deals?sort=-cf.seats&limit=1", &admin).await).await;
    assert_eq!(page["data"][0]["id"], big["id"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let page = json_of(
        app.get(
            &format!("/deals?sort=-cf.seats&limit=1&cursor={cursor}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(page["data"][0]["id"], small["id"]);
    // A patch is checked too, and merges key by key.
    let response = app
        .patch(
            &format!("/deals/{}", small["id"].as_str().unwrap()),
            &admin,
            json!({"custom_fields": {"seats": "x"}}),
        )
        .await;
    assert_problem(response, 422).await;
    assert_problem(app.get("/deals?cf.nope=1", &admin).await, 400).await;
}

/// The definitions a create checks against are cached per process, and every change to them
/// — a new field, a field made required, a field deleted — counts from the next request on.
async fn a_change_to_the_definitions_counts_from_the_next_request(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "size", "label": "Size", "kind": "number"}),
    )
    .await;
    // Read (and cached) with "size" only: "tier" is refused.
    let refused = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = app.post("/leads", admin, body).await;
            fields_of(&assert_problem(response, 422).await)
        }
    };
    let tier = json!({"last_name": "A", "custom_fields": {"tier": "gold"}});
    assert_eq!(refused(tier.clone()).await, ["custom_fields.tier"]);

    let field = define(
        &app,
        &admin,
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "text"}),
    )
    .await;
    create(&app, &admin, "/leads", tier.clone()).await;
    create(&app, &admin, "/leads", json!({"last_name": "B"})).await;

    let path = format!("/custom-fields/{}", id(&field));
    let required = app.patch(&path, &admin, json!({"required": true})).await;
    assert_eq!(required.status(), 200);
    assert_eq!(
        refused(json!({"last_name": "C"})).await,
        ["custom_fields.tier"]
    );

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    create(&app, &admin, "/leads", json!({"last_name": "D"})).await;
    assert_eq!(refused(tier).await, ["custom_fields.tier"]);
}

both!(
    a_change_to_the_definitions_counts_from_the_next_request,
    lead_values_of_every_kind_are_checked_and_normalised,
    lead_lists_filter_and_sort_on_custom_fields_across_pages,
    accounts_and_contacts_check_filter_and_sort_their_custom_fields,
    definitions_are_checked_audited_and_private_to_their_company,
    kinds_in_use_do_not_change_and_deleting_a_field_removes_its_values,
    deal_values_are_checked_and_filter_and_sort_deal_lists,
);
