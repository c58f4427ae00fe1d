//! Exports: a record list as CSV (streamed page by page) and XLSX, with the list's filters,
//! a saved view, the caller's scope, custom fields as columns and formulas neutralized; bad
//! formats, views and entities, and callers without read — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

async fn create_lead(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/leads", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

/// The CSV answer of `path`: its header and rows.
async fn csv_of(app: &TestApp, who: &Session, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = app.get(path, who).await;
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8",
        "GET {path}"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

async fn a_lead_list_is_exported_as_csv_with_its_filters_custom_fields_and_formulas_made_text(
    db: Db,
) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    crate::qualification::without_gates(&app, &admin).await;
    let define = app
        .post(
            "/custom-fields",
            &admin,
            json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "text"}),
        )
        .await;
    assert_eq!(define.status(), 201);
    let ann = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "company_name": "=HYPERLINK(\"http://evil\")",
               "employee_count": 250, "tags": ["vip", "@risk"], "custom_fields": {"tier": "+gold"}}),
    )
    .await;
    create_lead(
        &app,
        &admin,
        json!({"last_name": "Qualified", "status": "qualified"}),
    )
    .await;

    let (header, rows) = csv_of(&app, &admin, "/leads/export?status=new").await;
    // The API's fields in its order, then the custom fields.
    assert_eq!(&header[..3], &["id", "first_name", "last_name"]);
    assert_eq!(header.last().map(String::as_str), Some("cf.tier"));
    assert!(!header.contains(&"custom_fields".to_owned()));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[column(&header, "id")], ann["id"].as_str().unwrap());
    assert_eq!(
        row[column(&header, "company_name")],
        "'=HYPERLINK(\"http://evil\")"
    );
    // A list is one cell; only a cell that starts like a formula is changed.
    assert_eq!(row[column(&header, "tags")], "vip, @risk");
    assert_eq!(row[column(&header, "cf.tier")], "'+gold");
    assert_eq!(row[column(&header, "employee_count")], "250");
    assert_eq!(row[column(&header, "status")], "new");
    assert_eq!(row[column(&header, "annual_revenue")], "");

    // The same by the entity's name; sorted as the list sorts.
    let (_, all) = csv_of(&app, &admin, "/exports?entity=leads&sort=last_name").await;
    let last: Vec<&str> = all
        .iter()
        .map(|r| r[column(&header, "last_name")].as_str())
        .collect();
    assert_eq!(last, ["Lee", "Qualified"]);
}

async fn a_long_list_is_streamed_whole_in_the_callers_scope(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    // More than one page of the export's reads (500).
    for i in 0..520 {
        create_lead(&app, &admin, json!({"last_name": format!("Lead {i:04}")})).await;
    }
    create_lead(&app, &rep, json!({"last_name": "Mine"})).await;

    let (header, rows) = csv_of(&app, &admin, "/leads/export?sort=last_name").await;
    assert_eq!(rows.len(), 521);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r[column(&header, "last_name")].as_str())
        .collect();
    assert_eq!(names[0], "Lead 0000");
    assert_eq!(names[519], "Lead 0519");
    assert_eq!(names[520], "Mine");
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), 521, "no row twice");

    // A sales rep sees their own leads only; another company none of these.
    let (_, mine) = csv_of(&app, &rep, "/leads/export").await;
    assert_eq!(mine.len(), 1);
    let other = app.other_company("Globex").await;
    let (_, theirs) = csv_of(&app, &other, "/leads/export").await;
    assert!(theirs.is_empty());
}

async fn a_saved_view_is_exported_as_xlsx_with_numbers_as_numbers(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    crate::qualification::without_gates(&app, &admin).await;
    create_lead(
        &app,
        &admin,
        json!({"last_name": "Big", "status": "qualified", "employee_count": 900,
               "title": "-1+1"}),
    )
    .await;
    create_lead(&app, &admin, json!({"last_name": "Small"})).await;
    let view = json_of(
        app.post(
            "/views",
            &admin,
            json!({"resource": "leads", "name": "Qualified", "query": "status=qualified"}),
        )
        .await,
    )
    .await;
    let view_id = view["id"].as_str().unwrap();

    let response = app
        .get(&format!("/leads/export?format=xlsx&view={view_id}"), &admin)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    use calamine::{Data, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("leads").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 2, "header and the view's one lead");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    let at = |name: &str| &rows[1][column(&header, name)];
    assert_eq!(at("last_name"), &Data::String("Big".into()));
    assert_eq!(at("employee_count"), &Data::Float(900.0));
    assert_eq!(at("title"), &Data::String("'-1+1".into()));

    // The query's own pairs go over the view's.
    let (_, rows) = csv_of(
        &app,
        &admin,
        &format!("/leads/export?view={view_id}&status=new"),
    )
    .await;
    assert_eq!(rows.len(), 1);
}

async fn bad_exports_are_refused_with_a_problem(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let contacts_only = app
        .member_with_grants(
            &admin,
            "contact_readers",
            json!([{"resource": "contacts", "action": "read", "scope": "all"}]),
        )
        .await;
    let view = json_of(
        app.post(
            "/views",
            &admin,
            json!({"resource": "contacts", "name": "All contacts"}),
        )
        .await,
    )
    .await;
    let other = app.other_company("Globex").await;
    let theirs = json_of(
        app.post(
            "/views",
            &other,
            json!({"resource": "leads", "name": "Theirs"}),
        )
        .await,
    )
    .await;
    for (path, status) in [
        ("/leads/export?format=pdf".to_owned(), 400),
        ("/leads/export?sort=nonsense".to_owned(), 400),
        ("/leads/export?view=not-an-id".to_owned(), 400),
        (
            format!("/leads/export?view={}", view["id"].as_str().unwrap()),
            400,
        ),
        (
            format!("/leads/export?view={}", theirs["id"].as_str().unwrap()),
            404,
        ),
        ("/exports?entity=invoices".to_owned(), 400),
        ("/exports".to_owned(), 400),
    ] {
        let problem = assert_problem(app.get(&path, &admin).await, status).await;
        assert!(problem["detail"].is_string(), "{path}: {problem}");
    }
    // Without read on leads, neither door opens; the contacts they may read they export.
    assert_problem(app.get("/leads/export", &contacts_only).await, 403).await;
    assert_problem(app.get("/exports?entity=leads", &contacts_only).await, 403).await;
    let contacts = app.get("/exports?entity=contacts", &contacts_only).await;
    assert_eq!(contacts.status(), 200);
    assert_problem(
        app.api(reqwest::Method::GET, "/leads/export", None)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

both!(
    a_lead_list_is_exported_as_csv_with_its_filters_custom_fields_and_formulas_made_text,
    a_long_list_is_streamed_whole_in_the_callers_scope,
    a_saved_view_is_exported_as_xlsx_with_numbers_as_numbers,
    bad_exports_are_refused_with_a_problem,
);
