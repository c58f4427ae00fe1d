//! Imports (issue 13 §4): a CSV or XLSX upload is read (encoding, delimiter, header, a suggested
//! mapping, a preview), mapped, validated without saving, run as a job that creates each row
//! once (row errors kept and downloadable, duplicates skipped or updated), cancelled and undone;
//! bad files and mappings get a clear problem; permissions and companies bound it — on SQLite
//! and PostgreSQL.

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rivet_server::worker::{self, WorkerOptions};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, drop_database, fields_of, fresh_database, ids_of,
    json_of, spawn_app, spawn_app_with,
};
use std::time::{Duration, Instant};
use tokio::sync::watch;

async fn upload(
    app: &TestApp,
    who: &Session,
    entity: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new()
        .text("entity", entity.to_owned())
        .part("file", Part::bytes(bytes).file_name(name.to_owned()));
    app.api(Method::POST, "/imports", Some(who))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

async fn uploaded(app: &TestApp, who: &Session, entity: &str, name: &str, bytes: &[u8]) -> Value {
    let response = upload(app, who, entity, name, bytes.to_vec()).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

/// A worker that runs the app's jobs until dropped.
struct Worker(watch::Sender<bool>);

fn start_worker(app: &TestApp) -> Worker {
    let (stop, rx) = watch::channel(false);
    let options = WorkerOptions {
        id: "imports-test".into(),
        concurrency: 2,
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(50),
        backoff_base: chrono::Duration::milliseconds(50),
        shutdown_grace: Duration::from_secs(1),
    };
    drop(worker::spawn_with(app.state.clone(), options, rx));
    Worker(stop)
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

async fn import(app: &TestApp, who: &Session, id: &str) -> Value {
    let response = app.get(&format!("/imports/{id}"), who).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

async fn wait_for(app: &TestApp, who: &Session, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = import(app, who, id).await;
        if current["status"] == status {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "import never became {status}: {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run(app: &TestApp, who: &Session, id: &str) -> Value {
    let response = app
        .post(&format!("/imports/{id}/run"), who, json!({}))
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    json_of(response).await
}

async fn leads_of(app: &TestApp, who: &Session, import_id: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/leads?import_id={import_id}&limit=500"), who)
        .await;
    assert_eq!(response.status(), 200);
    json_of(response).await["data"].as_array().unwrap().clone()
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap()
}

async fn a_csv_upload_is_read_with_its_encoding_delimiter_and_a_suggested_mapping(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let bytes = b"E-mail;First Name;Last Name;Company;Shoe size\r\n\
                  jose@example.com;Jos\xe9;Garc\xeda;Acme;42\r\n\
                  ann@example.com;Ann;Lee;Initech;38\r\n";
    let body = uploaded(&app, &admin, "leads", "people.csv", bytes).await;
    assert_eq!(body["entity"], "leads");
    assert_eq!(body["format"], "csv");
    assert_eq!(body["encoding"], "windows-1252");
    assert_eq!(body["delimiter"], ";");
    assert_eq!(body["status"], "uploaded");
    assert_eq!(body["total_rows"], 2);
    assert_eq!(
        body["header"],
        json!(["E-mail", "First Name", "Last Name", "Company", "Shoe size"])
    );
    assert_eq!(
        body["mapping"],
        json!(["email", "first_name", "last_name", "company_name", null])
    );
    assert_eq!(
        body["preview"][0],
        json!(["jose@example.com", "José", "García", "Acme", "42"])
    );
    // The file is kept: the import reads the same later, and is listed.
    let id = str_of(&body["id"]);
    let again = import(&app, &admin, id).await;
    assert_eq!(again["preview"], body["preview"]);
    let list = json_of(app.get("/imports", &admin).await).await;
    assert_eq!(ids_of(&list), [id]);
}
both!(a_csv_upload_is_read_with_its_encoding_delimiter_and_a_suggested_mapping);

async fn an_import_runs_as_a_job_creating_each_row_once_with_row_errors_kept(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let existing = app
        .post(
            "/leads",
            &admin,
            json!({"last_name": "Known", "email": "known@example.com"}),
        )
        .await;
    assert_eq!(existing.status(), 201);
    let csv = "first_name,last_name,email,employee_count,tags\n\
               Ann,Lee,ann@example.com,12,\"vip, fair\"\n\
               Bob,Ray,not-an-email,3,\n\
               Cy,Twin,cy@example.com,many,\n\
               Dee,Known,KNOWN@example.com,1,\n\
               Eve,Ode,eve@example.com,,\n";
    let body = uploaded(&app, &admin, "leads", "leads.csv", csv.as_bytes()).await;
    let id = str_of(&body["id"]).to_owned();
    let patched = app
        .patch(
            &format!("/imports/{id}"),
            &admin,
            json!({"options": {"tags": ["imported"], "duplicate_policy": "skip"}}),
        )
        .await;
    assert_eq!(patched.status(), 200, "{:?}", patched.text().await);

    // Dry run: the same verdicts, nothing saved.
    let dry = app
        .post(&format!("/imports/{id}/validate"), &admin, json!({}))
        .await;
    assert_eq!(dry.status(), 200);
    let dry = json_of(dry).await;
    assert_eq!(dry["total_rows"], 5);
    assert_eq!(dry["invalid_rows"], 2, "{dry}");
    let fields: Vec<(i64, String)> = dry["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), str_of(&e["field"]).to_owned()))
        .collect();
    assert_eq!(
        fields,
        [(3, "email".to_owned()), (4, "employee_count".to_owned())]
    );
    assert!(leads_of(&app, &admin, &id).await.is_empty());

    let _worker = start_worker(&app);
    let queued = run(&app, &admin, &id).await;
    assert!(queued["job_id"].is_string());
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(
        (
            &done["rows_done"],
            &done["created"],
            &done["skipped"],
            &done["failed"]
        ),
        (&json!(5), &json!(2), &json!(1), &json!(2)),
        "{done}"
    );
    let leads = leads_of(&app, &admin, &id).await;
    let mut names: Vec<&str> = leads.iter().map(|l| str_of(&l["first_name"])).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ann", "Eve"]);
    let ann = leads.iter().find(|l| l["first_name"] == "Ann").unwrap();
    assert_eq!(ann["employee_count"], 12);
    assert_eq!(ann["tags"], json!(["vip", "fair", "imported"]));
    assert_eq!(ann["owner_id"], json!(admin.user_id));
    // Audited like any create.
    let history = json_of(
        app.get(&format!("/leads/{}/history", str_of(&ann["id"])), &admin)
            .await,
    )
    .await;
    assert_eq!(history["data"][0]["action"], "create", "{history}");

    // The rows' errors as CSV.
    let errors = app.get(&format!("/imports/{id}/errors.csv"), &admin).await;
    assert_eq!(errors.status(), 200);
    assert!(
        errors.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = errors.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line,field,message");
    assert!(lines[1].starts_with("3,email,"), "{text}");
    assert!(lines[2].starts_with("4,employee_count,"), "{text}");

    // Running it again imports nothing new.
    run(&app, &admin, &id).await;
    let again = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(again["created"], 2);
    assert_eq!(leads_of(&app, &admin, &id).await.len(), 2);
    let all = json_of(app.get("/leads?limit=500", &admin).await).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
}
both!(an_import_runs_as_a_job_creating_each_row_once_with_row_errors_kept);

/// A run reads the file a 1 MiB piece at a time: a character cut in two by a piece's end and a
/// row spread over several pieces read as in the file, in UTF-8 and in UTF-16.
async fn a_file_of_many_pieces_is_read_across_their_boundaries(db: Db) {
    const PIECE: usize = 1 << 20;
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _worker = start_worker(&app);
    let filler = "é".repeat(30_000);
    let mut text = String::from("first_name,email,filler\n");
    for i in 0..40 {
        text.push_str(&format!("Zoë {i},zoe{i}@example.com,{filler}\n"));
        if i == 0 && text.len() % 2 == 0 {
            // Every é of the fillers then starts at an odd byte, and so each piece's end
            // (an even byte) falls inside one.
            text.insert(text.len() - 1, 'x');
        }
    }
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let utf8 = text.into_bytes();
    assert_eq!(utf8[PIECE - 1] & 0xe0, 0xc0, "a piece's end cuts an é");
    for (name, bytes, encoding) in [
        ("utf8.csv", utf8, "utf-8"),
        ("utf16.csv", utf16, "utf-16le"),
    ] {
        assert!(bytes.len() > 2 * PIECE);
        let body = uploaded(&app, &admin, "leads", name, &bytes).await;
        assert_eq!(body["encoding"], encoding);
        assert_eq!(
            body["mapping"],
            json!(["first_name", "email", null]),
            "{body}"
        );
        let id = str_of(&body["id"]).to_owned();
        let dry = json_of(
            app.post(&format!("/imports/{id}/validate"), &admin, json!({}))
                .await,
        )
        .await;
        assert_eq!(
            (&dry["total_rows"], &dry["valid_rows"]),
            (&json!(40), &json!(40))
        );
        run(&app, &admin, &id).await;
        let done = wait_for(&app, &admin, &id, "completed").await;
        let counts = (&done["created"], &done["skipped"], &done["failed"]);
        let expected = if encoding == "utf-8" {
            (40, 0)
        } else {
            (0, 40)
        };
        assert_eq!(
            counts,
            (&json!(expected.0), &json!(expected.1), &json!(0)),
            "{done}"
        );
    }
    let all = json_of(app.get("/leads?limit=500&sort=email", &admin).await).await;
    let mut got: Vec<(String, String)> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                str_of(&l["first_name"]).to_owned(),
                str_of(&l["email"]).to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = (0..40)
        .map(|i| (format!("Zoë {i}"), format!("zoe{i}@example.com")))
        .collect();
    want.sort();
    assert_eq!(got, want);
}
both!(a_file_of_many_pieces_is_read_across_their_boundaries);

/// An import whose job died on its last attempt (its worker stopped renewing the lease each
/// time) fails with the reason instead of staying "running", and can be run again.
async fn an_import_whose_job_died_fails_and_can_run_again(db: Db) {
    use rivet_store::sea_orm::ConnectionTrait;
    use rivet_store::sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let body = uploaded(
        &app,
        &admin,
        "leads",
        "leads.csv",
        b"email\nann@example.com\n",
    )
    .await;
    let id = str_of(&body["id"]).to_owned();
    let queued = run(&app, &admin, &id).await;
    let job: uuid::Uuid = str_of(&queued["job_id"]).parse().unwrap();
    // What a worker that died on the last attempt leaves: the job running on a lease that
    // has passed, no attempt left; the import running.
    let system = app.state.store.system();
    let col = |name: &str| Alias::new(name);
    system
        .execute(
            &Query::update()
                .table(col("jobs"))
                .value(col("state"), "running")
                .value(col("attempts"), Expr::col(col("max_attempts")))
                .value(col("lease_owner"), "dead-worker")
                .value(
                    col("lease_expires_at"),
                    chrono::Utc::now() - chrono::Duration::minutes(1),
                )
                .and_where(Expr::col(col("id")).eq(job))
                .to_owned(),
        )
        .await
        .expect("the job as a dead worker left it");
    system
        .execute(
            &Query::update()
                .table(col("imports"))
                .value(col("status"), "running")
                .and_where(Expr::col(col("id")).eq(id.parse::<uuid::Uuid>().unwrap()))
                .to_owned(),
        )
        .await
        .expect("the import as a dead worker left it");

    let _worker = start_worker(&app);
    let failed = wait_for(&app, &admin, &id, "failed").await;
    assert!(
        str_of(&failed["error"]).contains("its job died"),
        "{failed}"
    );
    let history = json_of(app.get(&format!("/jobs/{job}"), &admin).await).await;
    assert_eq!(history["state"], "dead", "{history}");
    // Nothing holds it: it runs again.
    run(&app, &admin, &id).await;
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(done["created"], 1, "{done}");
}
both!(an_import_whose_job_died_fails_and_can_run_again);

async fn the_update_policy_updates_the_lead_a_row_duplicates(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let known = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Known", "email": "known@example.com", "city": "Oslo"}),
        )
        .await,
    )
    .await;
    let csv = "Email,City\nknown@example.com,Bergen\nnew@example.com,Turku\n";
    let body = uploaded(&app, &admin, "leads", "l.csv", csv.as_bytes()).await;
    let id = str_of(&body["id"]).to_owned();
    let patched = app
        .patch(
            &format!("/imports/{id}"),
            &admin,
            json!({"mapping": {"Email": "email", "City": "city"},
                   "options": {"duplicate_policy": "update"}}),
        )
        .await;
    assert_eq!(patched.status(), 200, "{:?}", patched.text().await);
    let _worker = start_worker(&app);
    run(&app, &admin, &id).await;
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(
        (&done["updated"], &done["created"], &done["failed"]),
        (&json!(1), &json!(1), &json!(0)),
        "{done}"
    );
    let after = json_of(
        app.get(&format!("/leads/{}", str_of(&known["id"])), &admin)
            .await,
    )
    .await;
    assert_eq!(after["city"], "Bergen");
    assert_eq!(after["last_name"], "Known");
}
both!(the_update_policy_updates_the_lead_a_row_duplicates);

async fn rows_of_one_file_are_screened_against_each_other_and_assigned_in_turn(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let reps = [
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
    ];
    let rule = app
        .post(
            "/assignment-rules",
            &admin,
            json!({"name": "Turns", "action": {"kind": "round_robin",
                   "user_ids": [reps[0].user_id, reps[1].user_id]}}),
        )
        .await;
    assert_eq!(rule.status(), 201, "{:?}", rule.text().await);
    // Rows 3 and 4 repeat rows 1 and 2 (the e-mail in other case; the phone): the default
    // rules match them, though all four are saved in one batch.
    let csv = "first_name,last_name,email,phone\n\
               Ann,One,ann@example.com,\n\
               Bo,Two,bo@example.com,+44 20 7946 0018\n\
               Ann,Again,ANN@example.com,\n\
               Bob,Same,other@example.com,+442079460018\n\
               Cy,Three,cy@example.com,\n";
    let _worker = start_worker(&app);
    let mut created = Vec::new();
    for policy in ["skip", "create"] {
        let body = uploaded(&app, &admin, "leads", "l.csv", csv.as_bytes()).await;
        let id = str_of(&body["id"]).to_owned();
        let patched = app
            .patch(
                &format!("/imports/{id}"),
                &admin,
                json!({"options": {"duplicate_policy": policy}}),
            )
            .await;
        assert_eq!(patched.status(), 200, "{:?}", patched.text().await);
        run(&app, &admin, &id).await;
        let done = wait_for(&app, &admin, &id, "completed").await;
        created.push((policy, done["created"].clone(), done["skipped"].clone()));
        if policy == "skip" {
            let mut leads = leads_of(&app, &admin, &id).await;
            leads.sort_by_key(|l| str_of(&l["first_name"]).to_owned());
            let names: Vec<&str> = leads.iter().map(|l| str_of(&l["last_name"])).collect();
            assert_eq!(names, ["One", "Two", "Three"]);
            // The rule's turns in the file's order: first, second, first again.
            let owners: Vec<&Value> = leads.iter().map(|l| &l["owner_id"]).collect();
            assert_eq!(
                owners,
                [
                    &json!(reps[0].user_id),
                    &json!(reps[1].user_id),
                    &json!(reps[0].user_id)
                ]
            );
            // Each created lead has its own audit row, as one created by hand.
            for lead in &leads {
                let history = json_of(
                    app.get(&format!("/leads/{}/history", str_of(&lead["id"])), &admin)
                        .await,
                )
                .await;
                assert_eq!(history["data"][0]["action"], "create", "{history}");
            }
        }
    }
    // Skipped as duplicates of the file's own rows; with `create`, every row is saved (the
    // default rules only warn).
    assert_eq!(
        created,
        [("skip", json!(3), json!(2)), ("create", json!(5), json!(0))]
    );
}
both!(rows_of_one_file_are_screened_against_each_other_and_assigned_in_turn);

async fn a_file_kept_before_m0023_moves_out_of_the_imports_row(db: Db) {
    use rivet_store::sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use rivet_store::sea_orm::{ConnectionTrait, FromQueryResult};
    let dir = tempfile::TempDir::new().expect("temp dir");
    let (url, pg) = fresh_database(db, &dir).await;
    let store = rivet_store::Store::connect(&url, 2).await.expect("connect");
    store
        .migrate_before("m0023_import_files")
        .await
        .expect("migrate to m0021");
    let tx = store.write_system().await.expect("begin");
    let (id, at, file) = (
        uuid::Uuid::now_v7(),
        chrono::Utc::now(),
        b"email\na@b.example\n",
    );
    // The company's row as that schema held it, written by hand: today's code writes tables
    // (the audit trail) as they are now.
    let company = uuid::Uuid::now_v7();
    let older = Query::insert()
        .into_table(Alias::new("companies"))
        .columns(
            [
                "id",
                "name",
                "timezone",
                "currency",
                "fiscal_year_start_month",
                "locale",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            company.into(),
            "Older".into(),
            "UTC".into(),
            "USD".into(),
            1i32.into(),
            "en".into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    tx.conn().execute(&older).await.expect("a company");
    let columns = [
        "company_id",
        "id",
        "entity",
        "file_name",
        "format",
        "content",
        "header",
        "mapping",
        "options",
        "status",
        "total_rows",
        "rows_done",
        "created",
        "updated",
        "skipped",
        "failed",
        "created_by",
        "created_at",
        "updated_at",
    ];
    let insert = Query::insert()
        .into_table(Alias::new("imports"))
        .columns(columns.map(Alias::new))
        .values_panic([
            company.into(),
            id.into(),
            "leads".into(),
            "old.csv".into(),
            "csv".into(),
            file.to_vec().into(),
            json!(["email"]).into(),
            json!(["email"]).into(),
            json!({}).into(),
            "uploaded".into(),
            1i64.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            uuid::Uuid::now_v7().into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    tx.conn()
        .execute(&insert)
        .await
        .expect("an import as m0021 kept it");
    tx.commit().await.expect("commit");
    store.migrate().await.expect("migrate to the last");
    // m0025 moved it on into one piece of `import_chunks`.
    #[derive(FromQueryResult)]
    struct Kept {
        bytes: Vec<u8>,
    }
    let kept = Kept::find_by_statement(
        store.system().get_database_backend().build(
            Query::select()
                .column(Alias::new("bytes"))
                .from(Alias::new("import_chunks"))
                .and_where(Expr::col(Alias::new("import_id")).eq(id)),
        ),
    )
    .all(store.system())
    .await
    .expect("read import_chunks");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].bytes, file.to_vec());
    drop(store);
    drop_database(pg).await;
}
both!(a_file_kept_before_m0023_moves_out_of_the_imports_row);

async fn an_undo_deletes_what_the_import_created_and_nothing_else(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mine = json_of(
        app.post("/leads", &admin, json!({"last_name": "Mine"}))
            .await,
    )
    .await;
    let csv = "last_name\nOne\nTwo\nThree\n";
    let body = uploaded(&app, &admin, "leads", "l.csv", csv.as_bytes()).await;
    let id = str_of(&body["id"]).to_owned();
    let _worker = start_worker(&app);
    run(&app, &admin, &id).await;
    wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(leads_of(&app, &admin, &id).await.len(), 3);
    let response = app
        .post(&format!("/imports/{id}/undo"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 202);
    wait_for(&app, &admin, &id, "undone").await;
    assert!(leads_of(&app, &admin, &id).await.is_empty());
    let all = json_of(app.get("/leads", &admin).await).await;
    assert_eq!(ids_of(&all), [str_of(&mine["id"])]);
    // An undone import does not run again.
    let again = app
        .post(&format!("/imports/{id}/run"), &admin, json!({}))
        .await;
    assert_problem(again, 409).await;
}
both!(an_undo_deletes_what_the_import_created_and_nothing_else);

async fn a_queued_import_can_be_cancelled_and_run_later(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let body = uploaded(
        &app,
        &admin,
        "accounts",
        "a.csv",
        b"Name,Website\nAcme,acme.test\n",
    )
    .await;
    let id = str_of(&body["id"]).to_owned();
    assert_eq!(body["mapping"], json!(["name", "domain"]));
    run(&app, &admin, &id).await;
    let cancelled = app
        .post(&format!("/imports/{id}/cancel"), &admin, json!({}))
        .await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(json_of(cancelled).await["status"], "cancelled");
    let again = app
        .post(&format!("/imports/{id}/cancel"), &admin, json!({}))
        .await;
    assert_problem(again, 409).await;
    let _worker = start_worker(&app);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(import(&app, &admin, &id).await["created"], 0);
    run(&app, &admin, &id).await;
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(done["created"], 1, "{done}");
    let accounts = json_of(app.get(&format!("/accounts?import_id={id}"), &admin).await).await;
    assert_eq!(accounts["data"][0]["name"], "Acme");
}
both!(a_queued_import_can_be_cancelled_and_run_later);

async fn xlsx_dates_and_numbers_are_read_as_such(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 5).unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_string(0, 0, "Last Name").unwrap();
    sheet.write_string(0, 1, "Employees").unwrap();
    sheet.write_string(0, 2, "Met on").unwrap();
    sheet.write_string(1, 0, "Lee").unwrap();
    sheet.write_number(1, 1, 250.0).unwrap();
    sheet
        .write_datetime_with_format(1, 2, &date, &format)
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let body = uploaded(&app, &admin, "leads", "people.xlsx", &bytes).await;
    assert_eq!(body["format"], "xlsx");
    assert!(body["encoding"].is_null());
    assert_eq!(body["preview"], json!([["Lee", "250", "2024-03-05"]]));
    assert_eq!(
        body["mapping"],
        json!(["last_name", "employee_count", null])
    );
    let id = str_of(&body["id"]).to_owned();
    let _worker = start_worker(&app);
    run(&app, &admin, &id).await;
    wait_for(&app, &admin, &id, "completed").await;
    let leads = leads_of(&app, &admin, &id).await;
    assert_eq!(leads[0]["employee_count"], 250);
}
both!(xlsx_dates_and_numbers_are_read_as_such);

async fn bad_files_get_a_clear_problem_and_nothing_is_kept(db: Db) {
    let app = spawn_app_with(db, |c| c.import_max_bytes = 200_000).await;
    let admin = app.admin().await;
    let mut huge_cell = b"notes\n".to_vec();
    huge_cell.extend(std::iter::repeat_n(b'x', 70_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", Vec::new(), "empty"),
        ("header.csv", b"last_name,email\n".to_vec(), "no data rows"),
        (
            "quotes.csv",
            b"last_name,email\nLee,\"open\nRay,x\n".to_vec(),
            "unbalanced quotes",
        ),
        (
            "ragged.csv",
            b"last_name,email\nLee,a@b.test\nRay\n".to_vec(),
            "ragged",
        ),
        (
            "binary.csv",
            b"last_name\n\x00\x01\x02\x03".to_vec(),
            "neither UTF-8 nor Windows-1252",
        ),
        ("one-column.csv", huge_cell, "longer than"),
        (
            "book.xlsx",
            b"this is not a workbook".to_vec(),
            "not a readable XLSX",
        ),
    ];
    for (name, bytes, says) in cases {
        let problem = assert_problem(upload(&app, &admin, "leads", name, bytes).await, 422).await;
        assert_eq!(fields_of(&problem), ["file"], "{name}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
    }
    let too_big = vec![b'a'; 250_000];
    assert_problem(upload(&app, &admin, "leads", "big.csv", too_big).await, 413).await;
    let problem = assert_problem(
        upload(&app, &admin, "tickets", "a.csv", b"a\n1\n".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["entity"]);
    let no_file = Form::new().text("entity", "leads");
    let response = app
        .api(Method::POST, "/imports", Some(&admin))
        .multipart(no_file)
        .send()
        .await
        .unwrap();
    assert_eq!(fields_of(&assert_problem(response, 422).await), ["file"]);
    // A body that is no upload is the wrong media type.
    let json_body = app
        .post("/imports", &admin, json!({"entity": "leads"}))
        .await;
    assert_problem(json_body, 415).await;
    let list = json_of(app.get("/imports", &admin).await).await;
    assert!(ids_of(&list).is_empty());
}
both!(bad_files_get_a_clear_problem_and_nothing_is_kept);

async fn unknown_mapping_targets_are_named_and_change_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let body = uploaded(
        &app,
        &admin,
        "leads",
        "l.csv",
        b"Email,Name\na@b.test,Lee\n",
    )
    .await;
    let id = str_of(&body["id"]).to_owned();
    let response = app
        .patch(
            &format!("/imports/{id}"),
            &admin,
            json!({"mapping": {"Email": "emial", "Name": "cf.nope", "Other": "city"}}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(
        fields_of(&problem),
        ["mapping.Other", "mapping.Email", "mapping.Name"]
    );
    let response = app
        .patch(
            &format!("/imports/{id}"),
            &admin,
            json!({"mapping": {"Email": "email", "Name": "email"}}),
        )
        .await;
    assert_eq!(
        fields_of(&assert_problem(response, 422).await),
        ["mapping.Name"]
    );
    let response = app
        .patch(&format!("/imports/{id}"), &admin, json!({"mappings": {}}))
        .await;
    assert_problem(response, 400).await;
    let response = app
        .patch(
            &format!("/imports/{id}"),
            &admin,
            json!({"options": {"duplicate_policy": "merge"}}),
        )
        .await;
    assert!(response.status().is_client_error());
    assert_eq!(
        import(&app, &admin, &id).await["mapping"],
        json!(["email", null])
    );
}
both!(unknown_mapping_targets_are_named_and_change_nothing);

async fn imports_need_the_entitys_permissions_and_stay_in_their_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let reader = app
        .member_with_grants(
            &admin,
            "lead-reader",
            json!([{"resource": "leads", "action": "read", "scope": "all"}]),
        )
        .await;
    let creator = app
        .member_with_grants(
            &admin,
            "lead-creator",
            json!([{"resource": "leads", "action": "read", "scope": "all"},
                   {"resource": "leads", "action": "create", "scope": "all"}]),
        )
        .await;
    let csv = b"last_name\nLee\n".to_vec();
    assert_problem(
        upload(&app, &reader, "leads", "l.csv", csv.clone()).await,
        403,
    )
    .await;
    assert_problem(
        upload(&app, &creator, "contacts", "c.csv", csv.clone()).await,
        403,
    )
    .await;
    let body = uploaded(&app, &creator, "leads", "l.csv", &csv).await;
    let id = str_of(&body["id"]).to_owned();
    // The update policy needs update; an undo needs delete.
    let response = app
        .patch(
            &format!("/imports/{id}"),
            &creator,
            json!({"options": {"duplicate_policy": "update"}}),
        )
        .await;
    assert_problem(response, 403).await;
    let _worker = start_worker(&app);
    run(&app, &creator, &id).await;
    wait_for(&app, &creator, &id, "completed").await;
    let response = app
        .post(&format!("/imports/{id}/undo"), &creator, json!({}))
        .await;
    assert_problem(response, 403).await;
    // A member who may create none of an import's records is refused the imports at the
    // router; one who may create contacts only does not see an import of leads; another
    // company does not find it.
    assert_problem(app.get(&format!("/imports/{id}"), &reader).await, 403).await;
    assert_problem(app.get("/imports", &reader).await, 403).await;
    let contacts_creator = app
        .member_with_grants(
            &admin,
            "contact-creator",
            json!([{"resource": "contacts", "action": "create", "scope": "all"}]),
        )
        .await;
    assert_problem(
        app.get(&format!("/imports/{id}"), &contacts_creator).await,
        404,
    )
    .await;
    let list = json_of(app.get("/imports", &contacts_creator).await).await;
    assert!(ids_of(&list).is_empty());
    let other = app.other_company("Other Co").await;
    for path in [
        format!("/imports/{id}"),
        format!("/imports/{id}/errors.csv"),
    ] {
        assert_problem(app.get(&path, &other).await, 404).await;
    }
    let response = app
        .post(&format!("/imports/{id}/run"), &other, json!({}))
        .await;
    assert_problem(response, 404).await;
    assert!(leads_of(&app, &other, &id).await.is_empty());
    assert_eq!(leads_of(&app, &admin, &id).await.len(), 1);
}
both!(imports_need_the_entitys_permissions_and_stay_in_their_company);

/// An import's rows are indexed for search as one batch (SQLite skips the row triggers for
/// them): each is found by its name, its e-mail's domain and a typo of its name, and a lead
/// created by hand afterwards is indexed row by row as before.
async fn imported_rows_are_found_by_search_and_so_is_the_next_lead(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let letters = |n: usize| -> String {
        [n / 26, n % 26]
            .iter()
            .map(|d| char::from(b'a' + *d as u8))
            .collect()
    };
    let mut csv = String::from("first_name,last_name,email\n");
    for n in 0..40 {
        let last = match n {
            17 => "Wolfenbarger".to_owned(),
            _ => format!("Plain{}", letters(n)),
        };
        csv.push_str(&format!("Row,{last},row{n}@batch{}.example\n", letters(n)));
    }
    let _worker = start_worker(&app);
    let body = uploaded(&app, &admin, "leads", "l.csv", csv.as_bytes()).await;
    let id = str_of(&body["id"]).to_owned();
    run(&app, &admin, &id).await;
    let done = wait_for(&app, &admin, &id, "completed").await;
    assert_eq!(done["created"], 40, "{done}");
    let search = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = app.get(&format!("/search?q={q}&types=lead"), admin).await;
            assert_eq!(response.status(), 200, "GET /search?q={q}");
            let hits = json_of(response).await["data"].as_array().unwrap().clone();
            hits.iter()
                .map(|h| str_of(&h["title"]).to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("wolfenbarger").await, ["Row Wolfenbarger"]);
    assert_eq!(search("wolfenbagrer").await, ["Row Wolfenbarger"], "a typo");
    // Near words (one letter apart) may follow; the exact one leads.
    assert_eq!(search("batchar.example").await[0], "Row Wolfenbarger");
    assert_eq!(search("plainbn").await[0], "Row Plainbn");
    // The next lead, created alone, goes through the row triggers.
    let lead = app
        .post(
            "/leads",
            &admin,
            json!({"first_name": "Alone", "last_name": "Quillfeather"}),
        )
        .await;
    assert_eq!(lead.status(), 201, "{:?}", lead.text().await);
    assert_eq!(search("quillfeather").await, ["Alone Quillfeather"]);
    assert_eq!(
        search("quilfleather").await,
        ["Alone Quillfeather"],
        "a typo"
    );
}
both!(imported_rows_are_found_by_search_and_so_is_the_next_lead);

/// SQLite's sampled statistics take a company for about a thousand rows whatever it holds; the
/// store replaces that number by the table's rows over the number of companies, keeping the
/// rest of each index's line (so the planner looks an import batch's keys up instead of
/// reading the company's whole list).
#[tokio::test]
async fn sampled_statistics_count_a_companys_rows() {
    use rivet_store::sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app(Db::Sqlite).await;
    let store = &app.state.store;
    store
        .system()
        .execute_unprepared(
            "DELETE FROM sqlite_stat1 WHERE tbl = 'leads'; \
             INSERT INTO sqlite_stat1 VALUES ('leads', 'leads_email_key_idx', '209000 1001 1'), \
               ('leads', 'leads_owner_status_idx', '209000 1001 1001 33 1 noskipscan'), \
               ('leads', 'leads_domain_key_idx', '0 0 0 0')",
        )
        .await
        .unwrap();
    store.correct_tenant_statistics().await.unwrap();
    let rows = store
        .system()
        .query_all_raw(Statement::from_string(
            store.system().get_database_backend(),
            "SELECT idx || ': ' || stat AS line FROM sqlite_stat1 WHERE tbl = 'leads' ORDER BY idx",
        ))
        .await
        .unwrap();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "line").unwrap())
        .collect();
    // One company (the test's): every row is its.
    assert_eq!(
        lines,
        [
            "leads_domain_key_idx: 0 1 0 0",
            "leads_email_key_idx: 209000 209000 1",
            "leads_owner_status_idx: 209000 209000 1001 33 1 noskipscan",
        ]
    );
}
