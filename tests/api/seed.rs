//! Demo data (`rivet seed --demo`): a new company with users in teams and records owned by them,
//! the same data on every run, shown to its members by their scope and to no other company.

use rivet_server::seed::{Counts, DEFAULT_DEMO_PASSWORD, Options, Seeded, Size, seed};
use rivet_tests::{Db, TestApp, assert_problem, json_of, spawn_app};
use serde_json::Value;

fn rows(seeded: &Seeded, table: &str) -> u64 {
    seeded
        .tables
        .iter()
        .find(|t| t.table == table)
        .unwrap_or_else(|| panic!("no table {table} in {:?}", seeded.tables))
        .rows
}

/// Every page of `path` (a list endpoint) as seen by `who`.
async fn all(app: &TestApp, who: &rivet_tests::Session, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
            None => format!("{path}{sep}limit=100"),
        };
        let response = app.get(&url, who).await;
        assert_eq!(response.status(), 200, "{url}");
        let body = json_of(response).await;
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn names(leads: &[Value]) -> Vec<String> {
    leads
        .iter()
        .map(|l| format!("{} {}", l["first_name"], l["last_name"]))
        .collect()
}

async fn seeded_demo_data_is_deterministic_and_scoped(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let mut options = Options::new(Size::Small);
    options.scale = 0.2;
    let first = seed(&app.state.store, &options, |_| {}).await.unwrap();
    options.company_name = "Second Demo".into();
    let second = seed(&app.state.store, &options, |_| {}).await.unwrap();
    assert_ne!(first.company_id, second.company_id);

    let counts = Counts::of(Size::Small, 0.2);
    assert_eq!(counts.leads, 100);
    assert_eq!(first.users.len(), 10);
    assert_eq!(first.users[0].email, "admin@demo-company.test");
    assert_eq!(second.users[0].email, "admin@second-demo.test");
    for table in [
        "leads",
        "accounts",
        "contacts",
        "deals",
        "activities",
        "tasks",
    ] {
        assert_eq!(rows(&first, table), rows(&second, table), "{table}");
    }
    assert_eq!(rows(&first, "leads"), counts.leads);
    assert_eq!(rows(&first, "accounts"), counts.accounts);
    assert_eq!(rows(&first, "deals"), counts.deals);
    assert!(rows(&first, "activity_links") >= counts.activities);

    // The demo admin sees every lead; both runs made the same leads in the same order.
    let admin = app
        .login(&first.users[0].email, DEFAULT_DEMO_PASSWORD)
        .await;
    let leads = all(&app, &admin, "/leads?sort=-created_at").await;
    assert_eq!(leads.len() as u64, counts.leads);
    let other = app
        .login(&second.users[0].email, DEFAULT_DEMO_PASSWORD)
        .await;
    let other_leads = all(&app, &other, "/leads?sort=-created_at").await;
    assert_eq!(names(&leads), names(&other_leads));
    assert_eq!(
        leads.iter().map(|l| &l["status"]).collect::<Vec<_>>(),
        other_leads.iter().map(|l| &l["status"]).collect::<Vec<_>>()
    );
    assert!(leads.iter().all(|l| l["email"].as_str().is_some()));
    // A qualified lead knows its budget and authority (the default gate), and its checklist's
    // figures are the checklist's own.
    let qualified: Vec<&Value> = leads
        .iter()
        .filter(|l| l["status"] == "qualified")
        .collect();
    assert!(!qualified.is_empty());
    for lead in &qualified {
        assert_ne!(lead["budget_status"], "unknown", "{lead}");
        assert_ne!(lead["authority_status"], "unknown", "{lead}");
        let id = lead["id"].as_str().unwrap();
        let checklist = json_of(app.get(&format!("/leads/{id}/checklist"), &admin).await).await;
        assert_eq!(checklist["bant_score"], lead["bant_score"], "{checklist}");
        assert!(lead["bant_score"].as_i64() >= Some(30), "{lead}");
    }
    assert!(
        leads
            .iter()
            .any(|l| l["status"] == "new" && l["bant_score"] == 0)
    );

    // A sales rep sees only their own leads, and has some.
    let rep = first.users.iter().find(|u| u.role == "sales").unwrap();
    assert!(rep.team.is_some());
    let rep_session = app.login(&rep.email, DEFAULT_DEMO_PASSWORD).await;
    let own = all(&app, &rep_session, "/leads").await;
    assert!(!own.is_empty() && own.len() < leads.len(), "{}", own.len());
    let rep_id = rep.id.to_string();
    assert!(own.iter().all(|l| l["owner_id"] == rep_id.as_str()));

    // Deals and search work on the seeded rows (the search index triggers fired).
    let deals = all(&app, &admin, "/deals").await;
    assert_eq!(deals.len() as u64, counts.deals);
    let last = leads[0]["last_name"].as_str().unwrap();
    let found = json_of(app.get(&format!("/search?q={last}"), &admin).await).await;
    assert!(
        !found["data"].as_array().unwrap().is_empty(),
        "search {last}: {found}"
    );
    // So did the vocabulary's: the name with its last two letters swapped is found too.
    let mut typo: Vec<char> = last.to_lowercase().chars().collect();
    if typo.len() >= 3 {
        let n = typo.len();
        typo.swap(n - 2, n - 1);
        let typo: String = typo.into_iter().collect();
        let found = json_of(app.get(&format!("/search?q={typo}"), &admin).await).await;
        assert!(
            !found["data"].as_array().unwrap().is_empty(),
            "search {typo}: {found}"
        );
    }

    // Seeded leads have their duplicate keys: a lead's possible duplicates are looked up.
    let dupes = json_of(
        app.get(
            &format!("/leads/{}/duplicates", leads[0]["id"].as_str().unwrap()),
            &admin,
        )
        .await,
    )
    .await;
    assert!(dupes["data"].is_array(), "{dupes}");
    use sea_orm::ConnectionTrait as _;
    let db = app.state.store.system();
    let keyed = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM leads WHERE email_key IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(
        keyed as u64,
        counts.leads * 2,
        "both demo companies' leads have keys"
    );
    // One lead in forty is the one before it again, its e-mail in capitals: it is found as a
    // duplicate of that one.
    let email = |l: &Value| l["email"].as_str().unwrap_or_default().to_owned();
    let planted: Vec<&Value> = leads
        .iter()
        .filter(|l| email(l) == email(l).to_uppercase())
        .collect();
    assert_eq!(
        planted.len() as u64,
        counts.leads / 40,
        "planted duplicates"
    );
    let again = planted[0];
    let found = json_of(
        app.get(
            &format!("/leads/{}/duplicates", again["id"].as_str().unwrap()),
            &admin,
        )
        .await,
    )
    .await;
    let matched: Vec<&Value> = found["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "exact_email")
        .collect();
    assert!(!matched.is_empty(), "{found}");

    // Another company sees none of it.
    assert!(all(&app, &acme, "/leads").await.is_empty());
    let id = leads[0]["id"].as_str().unwrap();
    assert_problem(app.get(&format!("/leads/{id}"), &acme).await, 404).await;
    let found = json_of(app.get(&format!("/search?q={last}"), &acme).await).await;
    assert!(found["data"].as_array().unwrap().is_empty(), "{found}");

    // Bad input: an empty company name is refused and creates nothing.
    let mut bad = Options::new(Size::Small);
    bad.company_name = "  ".into();
    assert!(seed(&app.state.store, &bad, |_| {}).await.is_err());
}

/// Whether SQLite's FTS indexes agree with `search_docs` (FTS5's own check, which compares an
/// external-content index with its table).
async fn assert_fts_consistent(app: &TestApp) {
    use rivet_store::sea_orm::ConnectionTrait;
    for index in ["search_fts", "search_words"] {
        app.state
            .store
            .system()
            .execute_unprepared(&format!(
                "INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)"
            ))
            .await
            .unwrap_or_else(|e| panic!("{index}: {e}"));
    }
}

async fn create_lead(app: &TestApp, who: &rivet_tests::Session, first: &str, last: &str) {
    let created = app
        .post(
            "/leads",
            who,
            serde_json::json!({"first_name": first, "last_name": last}),
        )
        .await;
    assert_eq!(created.status(), 201);
}

/// `q` finds exactly one record, also with its second and third letters swapped (a typo only
/// the trigram index answers).
async fn assert_found_once(app: &TestApp, who: &rivet_tests::Session, q: &str) {
    let mut typo: Vec<char> = q.chars().collect();
    typo.swap(1, 2);
    let typo: String = typo.into_iter().collect();
    for q in [q, typo.as_str()] {
        let found = json_of(app.get(&format!("/search?q={q}"), who).await).await;
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "{q}: {found}");
    }
}

/// The seeder indexes its rows for search in one pass at the end (SQLite), and restores the
/// row-by-row indexing afterwards — also when a load died half-way: the next migration rebuilds
/// an index whose insert trigger is missing.
async fn seeding_keeps_the_search_index_in_step(db: Db) {
    let app = spawn_app(db).await;
    let mut options = Options::new(Size::Small);
    options.scale = 0.1;
    let seeded = seed(&app.state.store, &options, |_| {}).await.unwrap();
    let admin = app
        .login(&seeded.users[0].email, DEFAULT_DEMO_PASSWORD)
        .await;
    let leads = all(&app, &admin, "/leads?sort=-created_at").await;
    let last = leads[0]["last_name"].as_str().unwrap().to_lowercase();
    let found = json_of(app.get(&format!("/search?q={last}"), &admin).await).await;
    assert!(
        !found["data"].as_array().unwrap().is_empty(),
        "search {last}: {found}"
    );
    create_lead(&app, &admin, "Quillon", "Verhoeven").await;
    assert_found_once(&app, &admin, "verhoeven").await;
    if db != Db::Sqlite {
        return;
    }
    assert_fts_consistent(&app).await;

    // A load that died before it indexed its rows and restored the insert triggers.
    let store = &app.state.store;
    let _never_finished = rivet_store::search::BulkLoad::start(store).await.unwrap();
    create_lead(&app, &admin, "Ysolde", "Marchetti").await;
    store.migrate().await.unwrap();
    assert_fts_consistent(&app).await;
    assert_found_once(&app, &admin, "marchetti").await;
    create_lead(&app, &admin, "Odalric", "Thorvaldsen").await;
    assert_found_once(&app, &admin, "thorvaldsen").await;
}

rivet_tests::both!(
    seeded_demo_data_is_deterministic_and_scoped,
    seeding_keeps_the_search_index_in_step
);
