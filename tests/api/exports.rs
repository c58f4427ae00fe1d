//! Export jobs (issue 13 §4): `POST /exports` checks the list's query at once and queues a job
//! that writes the same file `GET /exports` streams (CSV and XLSX), in the scope of the member
//! who asked, kept for download until it expires; only its maker (or an admin) sees it, another
//! company not at all; the file is a conflict until written; a delete removes it, audited; the
//! daily maintenance removes expired ones — on SQLite and PostgreSQL.

use rivet_store::sea_orm::{ConnectionTrait, Statement};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, ids_of, json_of, spawn_app,
    spawn_app_with,
};
use std::time::{Duration, Instant};

async fn create_lead(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/leads", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

/// Ask for an export; it is accepted and queued.
async fn ask(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/exports", who, body).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let export = json_of(response).await;
    assert_eq!(export["status"], "queued", "{export}");
    assert_eq!(export["download_url"], Value::Null);
    export
}

async fn wait_until_done(app: &TestApp, who: &Session, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.get(&format!("/exports/{id}"), who).await;
        assert_eq!(response.status(), 200);
        let current = json_of(response).await;
        if !["queued", "running"].contains(&current["status"].as_str().unwrap_or("")) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "the export never finished: {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The file at `download_url` of a completed export: its type, name and bytes.
async fn download(app: &TestApp, who: &Session, export: &Value) -> (String, String, Vec<u8>) {
    assert_eq!(export["status"], "completed", "{export}");
    let url = export["download_url"].as_str().expect("a download URL");
    let path = url.strip_prefix("/api/v1").expect("an API path");
    let response = app.get(path, who).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(export["size"], bytes.len(), "{export}");
    (kind, disposition, bytes)
}

fn cells_of(xlsx: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader as _;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range("leads").unwrap();
    sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn a_job_export_holds_what_the_direct_export_holds_in_csv_and_xlsx(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    crate::qualification::without_gates(&app, &admin).await;
    for (name, status) in [
        ("Ames", "new"),
        ("=Bad()", "new"),
        ("Cole", "qualified"),
        ("Dunn", "new"),
    ] {
        create_lead(
            &app,
            &admin,
            json!({"last_name": name, "status": status, "employee_count": 12, "tags": ["a", "b"]}),
        )
        .await;
    }
    let query = json!({"status": "new", "sort": "-last_name"});

    // CSV: byte for byte what `GET /exports` streams for the same query.
    let export = ask(&app, &admin, json!({"entity": "leads", "query": query})).await;
    assert_eq!(export["format"], "csv");
    assert_eq!(export["query"], query);
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    assert_eq!(done["rows"], 3, "{done}");
    let (kind, disposition, bytes) = download(&app, &admin, &done).await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(
        disposition.starts_with("attachment; filename=\"leads-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let direct = app
        .get("/exports?entity=leads&status=new&sort=-last_name", &admin)
        .await;
    assert_eq!(direct.status(), 200);
    let direct = direct.bytes().await.unwrap().to_vec();
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&direct)
    );
    assert!(String::from_utf8_lossy(&bytes).contains("'=Bad()"));

    // XLSX: the same cells as the direct export's.
    let export = ask(
        &app,
        &admin,
        json!({"entity": "leads", "format": "xlsx", "query": query}),
    )
    .await;
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    assert_eq!(done["rows"], 3, "{done}");
    let (kind, disposition, bytes) = download(&app, &admin, &done).await;
    assert_eq!(
        kind,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(disposition.ends_with(".xlsx\""), "{disposition}");
    let direct = app
        .get(
            "/exports?entity=leads&format=xlsx&status=new&sort=-last_name",
            &admin,
        )
        .await;
    let direct = direct.bytes().await.unwrap().to_vec();
    let cells = cells_of(bytes);
    assert_eq!(cells.len(), 4, "a header and three leads: {cells:?}");
    assert_eq!(cells, cells_of(direct));

    // A saved view with the query over it, as the direct export reads it.
    let view = json_of(
        app.post(
            "/views",
            &admin,
            json!({"resource": "leads", "name": "Qualified", "query": "status=qualified"}),
        )
        .await,
    )
    .await;
    let export = ask(
        &app,
        &admin,
        json!({"entity": "leads", "view": view["id"], "query": {"tags[contains]": ["a"]}}),
    )
    .await;
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    assert_eq!(done["rows"], 1, "{done}");
    assert_eq!(done["view"], view["id"]);

    // The caller's exports, newest first.
    let mine = json_of(app.get("/export-jobs", &admin).await).await;
    assert_eq!(ids_of(&mine).len(), 3);
    assert_eq!(ids_of(&mine)[0], done["id"].as_str().unwrap());
}

async fn a_reps_job_export_holds_only_their_records_and_only_they_and_admins_see_it(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let other_rep = app.member(&admin, "sales").await;
    create_lead(&app, &admin, json!({"last_name": "Not hers"})).await;
    create_lead(&app, &admin, json!({"last_name": "Nor this"})).await;
    create_lead(&app, &rep, json!({"last_name": "Hers"})).await;

    let export = ask(&app, &rep, json!({"entity": "leads"})).await;
    let id = export["id"].as_str().unwrap();
    let done = wait_until_done(&app, &rep, id).await;
    assert_eq!(done["rows"], 1, "{done}");
    let (_, _, bytes) = download(&app, &rep, &done).await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("Hers") && !text.contains("Not hers"),
        "{text}"
    );

    // An admin (who reads the audit trail) sees it and may download it; another rep does not.
    assert_eq!(
        app.get(&format!("/exports/{id}"), &admin).await.status(),
        200
    );
    assert!(ids_of(&json_of(app.get("/export-jobs", &admin).await).await).contains(&id.into()));
    download(&app, &admin, &done).await;
    for path in [format!("/exports/{id}"), format!("/exports/{id}/file")] {
        assert_problem(app.get(&path, &other_rep).await, 404).await;
    }
    assert_problem(app.delete(&format!("/exports/{id}"), &other_rep).await, 404).await;
    assert!(ids_of(&json_of(app.get("/export-jobs", &other_rep).await).await).is_empty());

    // Another company: not found, whatever its role.
    let other = app.other_company("Globex").await;
    for path in [format!("/exports/{id}"), format!("/exports/{id}/file")] {
        assert_problem(app.get(&path, &other).await, 404).await;
    }
    assert_problem(app.delete(&format!("/exports/{id}"), &other).await, 404).await;
    assert!(ids_of(&json_of(app.get("/export-jobs", &other).await).await).is_empty());
    assert_eq!(app.get(&format!("/exports/{id}"), &rep).await.status(), 200);
}

async fn the_file_is_a_conflict_until_the_export_has_completed(db: Db) {
    // No workers: the export stays queued.
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let export = ask(&app, &admin, json!({"entity": "contacts"})).await;
    let id = export["id"].as_str().unwrap();
    let problem = assert_problem(app.get(&format!("/exports/{id}/file"), &admin).await, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("queued"),
        "{problem}"
    );
    // Its job is on the queue, for the company.
    let jobs = json_of(app.get("/jobs?kind=export.run", &admin).await).await;
    assert_eq!(ids_of(&jobs), [export["job_id"].as_str().unwrap()]);

    let cancelled = json_of(
        app.post(&format!("/exports/{id}/cancel"), &admin, json!({}))
            .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_problem(app.get(&format!("/exports/{id}/file"), &admin).await, 409).await;
    assert_problem(
        app.post(&format!("/exports/{id}/cancel"), &admin, json!({}))
            .await,
        409,
    )
    .await;
    // A job that runs after the cancel writes nothing.
    let _workers = app.start_workers();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = json_of(app.get(&format!("/exports/{id}"), &admin).await).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["size"], 0);
}

async fn bad_exports_are_refused_at_once_and_nothing_is_queued(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let contacts_only = app
        .member_with_grants(
            &admin,
            "contact_readers",
            json!([{"resource": "contacts", "action": "read", "scope": "all"}]),
        )
        .await;
    let contacts_view = json_of(
        app.post(
            "/views",
            &admin,
            json!({"resource": "contacts", "name": "All contacts"}),
        )
        .await,
    )
    .await;
    for (body, status, field) in [
        (json!({"entity": "invoices"}), 422, None),
        (json!({"entity": "leads", "format": "pdf"}), 422, None),
        (json!({"entity": "leads", "colour": "red"}), 400, None),
        (
            json!({"entity": "leads", "query": {"nonsense": "x"}}),
            400,
            None,
        ),
        (
            json!({"entity": "leads", "query": {"sort": "nonsense"}}),
            400,
            None,
        ),
        (
            json!({"entity": "leads", "query": {"status": "sleeping"}}),
            400,
            None,
        ),
        (
            json!({"entity": "leads", "query": {"import_id": "nope"}}),
            400,
            None,
        ),
        (
            json!({"entity": "leads", "query": {"limit": "5"}}),
            422,
            Some("query.limit"),
        ),
        (
            json!({"entity": "leads", "query": {"format": "xlsx"}}),
            422,
            Some("query.format"),
        ),
        (
            json!({"entity": "leads", "query": {"status": {"in": "new"}}}),
            422,
            Some("query.status"),
        ),
        (
            json!({"entity": "leads", "view": contacts_view["id"]}),
            400,
            None,
        ),
    ] {
        let problem =
            assert_problem(app.post("/exports", &admin, body.clone()).await, status).await;
        if let Some(field) = field {
            assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
        }
    }
    // Without read on the list: forbidden; the list they may read they export.
    assert_problem(
        app.post("/exports", &contacts_only, json!({"entity": "leads"}))
            .await,
        403,
    )
    .await;
    // Nothing was kept, nothing queued.
    assert!(ids_of(&json_of(app.get("/export-jobs", &admin).await).await).is_empty());
    assert!(ids_of(&json_of(app.get("/jobs?kind=export.run", &admin).await).await).is_empty());
    ask(&app, &contacts_only, json!({"entity": "contacts"})).await;
    assert_eq!(
        ids_of(&json_of(app.get("/jobs?kind=export.run", &admin).await).await).len(),
        1
    );
}

async fn an_export_whose_member_left_before_it_ran_fails(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let export = ask(&app, &rep, json!({"entity": "leads"})).await;
    let id = export["id"].as_str().unwrap();
    let left = app
        .post(
            &format!("/users/{}/deactivate", rep.user_id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(left.status(), 200, "{:?}", left.text().await);
    let _workers = app.start_workers();
    let done = wait_until_done(&app, &admin, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"].as_str().unwrap().contains("no longer active"),
        "{done}"
    );
    assert_problem(app.get(&format!("/exports/{id}/file"), &admin).await, 409).await;
}

async fn a_deleted_export_is_gone_with_its_file_and_audited(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    create_lead(&app, &admin, json!({"last_name": "Kept"})).await;
    let export = ask(&app, &admin, json!({"entity": "leads"})).await;
    let id = export["id"].as_str().unwrap();
    wait_until_done(&app, &admin, id).await;

    let deleted = app.delete(&format!("/exports/{id}"), &admin).await;
    assert_eq!(deleted.status(), 204);
    for path in [format!("/exports/{id}"), format!("/exports/{id}/file")] {
        assert_problem(app.get(&path, &admin).await, 404).await;
    }
    assert_problem(app.delete(&format!("/exports/{id}"), &admin).await, 404).await;
    let audit = json_of(
        app.get(&format!("/audit?resource=exports&resource_id={id}"), &admin)
            .await,
    )
    .await;
    let mut actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(actions, ["create", "delete"], "{audit}");
}

async fn expired_exports_are_removed_by_the_daily_maintenance(db: Db) {
    // Files kept for no days: expired as soon as they are written.
    let app = spawn_app_with(db, |c| c.export_retention_days = 0).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let export = ask(&app, &admin, json!({"entity": "tasks"})).await;
    let id = export["id"].as_str().unwrap();
    let done = wait_until_done(&app, &admin, id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["download_url"], Value::Null, "expired: {done}");
    assert_problem(app.get(&format!("/exports/{id}/file"), &admin).await, 404).await;

    let report = rivet_store::maintenance::prune(&app.state.store)
        .await
        .expect("prune");
    assert_eq!(report.exports, 1);
    assert_problem(app.get(&format!("/exports/{id}"), &admin).await, 404).await;
    assert!(ids_of(&json_of(app.get("/export-jobs", &admin).await).await).is_empty());
}

async fn a_file_is_kept_for_the_configured_days(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let export = ask(&app, &admin, json!({"entity": "deals"})).await;
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    let finished: chrono::DateTime<chrono::Utc> =
        done["finished_at"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        done["expires_at"].as_str().unwrap().parse().unwrap();
    let minutes = (expires - finished).num_minutes();
    assert!((7 * 24 * 60 - 1..=7 * 24 * 60).contains(&minutes), "{done}");
    // The maintenance leaves it.
    let report = rivet_store::maintenance::prune(&app.state.store)
        .await
        .expect("prune");
    assert_eq!(report.exports, 0);
    download(&app, &admin, &done).await;
}

async fn a_file_over_a_mebibyte_is_kept_in_pieces_and_read_back_whole(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    // 300 leads of about 4 kB each: a file of more than one piece.
    let long = |c: &str, i: usize| format!("{i:04}{}", c.repeat(1000));
    let leads: Vec<Value> = (0..300)
        .map(|i| {
            json!({"last_name": format!("Lead {i:04}"), "title": long("t", i),
                   "company_name": long("c", i), "industry": long("i", i), "city": long("y", i)})
        })
        .collect();
    let ingested = app
        .api(reqwest::Method::POST, "/ingest/leads", Some(&admin))
        .json(&json!({ "leads": leads }))
        .send()
        .await
        .unwrap();
    assert_eq!(ingested.status(), 200);

    let export = ask(
        &app,
        &admin,
        json!({"entity": "leads", "query": {"sort": "last_name"}}),
    )
    .await;
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    assert_eq!(done["rows"], 300, "{done}");
    assert!(done["size"].as_i64().unwrap() > 1 << 20, "{done}");
    let db = app.state.store.system();
    let pieces = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM export_chunks",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(pieces, 2);
    let (_, _, bytes) = download(&app, &admin, &done).await;
    let direct = app
        .get("/exports?entity=leads&sort=last_name", &admin)
        .await;
    assert_eq!(bytes, direct.bytes().await.unwrap().to_vec());
}

/// A web session of `who`: the cookie to send and the CSRF token its forms carry.
async fn web_session(app: &TestApp, who: &Session) -> (String, String) {
    let cookie = rivet_server::api::auth::open_web_session(&app.state, who.company_id, who.user_id)
        .await
        .unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let csrf = rivet_store::sessions::find_web(&app.state.store, pair.split_once('=').unwrap().1)
        .await
        .unwrap()
        .unwrap()
        .3;
    (pair, csrf)
}

/// A web page as `cookie`'s member sees it: its status and HTML.
pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A web form posted as `cookie`'s member (the CSRF token is one of `fields`).
pub(crate) async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Import `csv` into leads and wait until the import has run; its id.
async fn import_leads(app: &TestApp, who: &Session, csv: &str) -> String {
    use reqwest::multipart::{Form, Part};
    let form = Form::new().text("entity", "leads").part(
        "file",
        Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv"),
    );
    let uploaded = app
        .api(reqwest::Method::POST, "/imports", Some(who))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let id = json_of(uploaded).await["id"].as_str().unwrap().to_owned();
    let run = app
        .post(&format!("/imports/{id}/run"), who, json!({}))
        .await;
    assert_eq!(run.status(), 202, "{:?}", run.text().await);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let import = json_of(app.get(&format!("/imports/{id}"), who).await).await;
        if import["status"] == "completed" {
            return id;
        }
        assert!(Instant::now() < deadline, "the import never ran: {import}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_web_lists_show_the_records_an_import_created(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    create_lead(&app, &admin, json!({"last_name": "Typed By Hand"})).await;
    let id = import_leads(
        &app,
        &admin,
        "first_name,last_name\nAda,Lovelace\nGrace,Hopper\n",
    )
    .await;
    let (cookie, _) = web_session(&app, &admin).await;

    // The import's summary links to them.
    let (status, summary) = page(&app, &cookie, &format!("/imports/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        summary.contains(&format!("href=\"/leads?import_id={id}\"")),
        "{summary}"
    );

    // The list holds the import's rows only, and its filter form keeps the import.
    let (status, list) = page(&app, &cookie, &format!("/leads?import_id={id}")).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("Lovelace") && list.contains("Hopper"),
        "{list}"
    );
    assert!(!list.contains("Typed By Hand"), "{list}");
    assert!(list.contains("The leads an import created"), "{list}");
    assert!(
        list.contains(&format!("name=\"import_id\" value=\"{id}\"")),
        "{list}"
    );
    // With another filter over it; on a list the import did not write, nothing.
    let (_, grace) = page(&app, &cookie, &format!("/leads?import_id={id}&q=Grace")).await;
    assert!(
        grace.contains("Hopper") && !grace.contains("Lovelace"),
        "{grace}"
    );
    for path in ["/contacts", "/accounts", "/deals"] {
        let (status, other) = page(&app, &cookie, &format!("{path}?import_id={id}")).await;
        assert_eq!(status, 200, "{path}: {other}");
        assert!(!other.contains("Lovelace"), "{path}");
    }
    // A bad id is the list's error, as the API's.
    let (status, bad) = page(&app, &cookie, "/leads?import_id=nope").await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad.contains("Import_id must be the id of an import"),
        "{bad}"
    );
    assert_problem(app.get("/leads?import_id=nope", &admin).await, 400).await;
}

async fn a_list_is_exported_in_the_background_from_the_web(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    crate::qualification::without_gates(&app, &admin).await;
    create_lead(&app, &admin, json!({"last_name": "Ames", "status": "new"})).await;
    create_lead(
        &app,
        &admin,
        json!({"last_name": "Cole", "status": "qualified"}),
    )
    .await;
    let (cookie, csrf) = web_session(&app, &admin).await;

    // The list offers it, with the list's filters.
    let (_, list) = page(&app, &cookie, "/leads?status=new&sort=last_name").await;
    assert!(list.contains("data-background-export"), "{list}");
    assert!(
        list.contains("name=\"query\" value=\"status=new&#38;sort=last_name\""),
        "{list}"
    );
    let posted = post_form(
        &app,
        &cookie,
        "/exports",
        &[
            ("csrf_token", csrf.as_str()),
            ("entity", "leads"),
            ("format", "csv"),
            ("query", "status=new&sort=last_name"),
            ("back", "/leads?status=new&sort=last_name"),
        ],
    )
    .await;
    assert_eq!(posted.status(), 303, "{:?}", posted.text().await);
    assert_eq!(posted.headers()["location"], "/exports");

    // Queued: the page reloads itself until it is written, then links the file.
    let (status, queued) = page(&app, &cookie, "/exports").await;
    assert_eq!(status, 200);
    assert!(
        queued.contains("queued") && queued.contains("http-equiv=\"refresh\""),
        "{queued}"
    );
    let _workers = app.start_workers();
    let export = &json_of(app.get("/export-jobs", &admin).await).await["data"][0];
    let done = wait_until_done(&app, &admin, export["id"].as_str().unwrap()).await;
    assert_eq!(done["rows"], 1);
    let (_, ready) = page(&app, &cookie, "/exports").await;
    assert!(!ready.contains("http-equiv=\"refresh\""), "{ready}");
    let link = format!(
        "href=\"/api/v1/exports/{}/file\"",
        done["id"].as_str().unwrap()
    );
    assert!(ready.contains(&link), "{ready}");
    let file = app
        .client
        .get(app.url(&format!(
            "/api/v1/exports/{}/file",
            done["id"].as_str().unwrap()
        )))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let text = file.text().await.unwrap();
    assert!(text.contains("Ames") && !text.contains("Cole"), "{text}");

    // A bad filter goes back to the list with the list's message; nothing is queued.
    let refused = post_form(
        &app,
        &cookie,
        "/exports",
        &[
            ("csrf_token", csrf.as_str()),
            ("entity", "leads"),
            ("format", "csv"),
            ("query", "nonsense=1"),
            ("back", "/leads?nonsense=1"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 303);
    assert_eq!(refused.headers()["location"], "/leads?nonsense=1");
    assert_eq!(
        ids_of(&json_of(app.get("/export-jobs", &admin).await).await).len(),
        1
    );

    // Deleted from the page.
    let deleted = post_form(
        &app,
        &cookie,
        &format!("/exports/{}/delete", done["id"].as_str().unwrap()),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert!(ids_of(&json_of(app.get("/export-jobs", &admin).await).await).is_empty());
}

both!(
    the_web_lists_show_the_records_an_import_created,
    a_list_is_exported_in_the_background_from_the_web,
    a_job_export_holds_what_the_direct_export_holds_in_csv_and_xlsx,
    a_reps_job_export_holds_only_their_records_and_only_they_and_admins_see_it,
    the_file_is_a_conflict_until_the_export_has_completed,
    bad_exports_are_refused_at_once_and_nothing_is_queued,
    a_deleted_export_is_gone_with_its_file_and_audited,
    an_export_whose_member_left_before_it_ran_fails,
    a_file_over_a_mebibyte_is_kept_in_pieces_and_read_back_whole,
    expired_exports_are_removed_by_the_daily_maintenance,
    a_file_is_kept_for_the_configured_days,
);
