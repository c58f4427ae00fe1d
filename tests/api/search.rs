//! Global search: exact names first, typos forgiven, e-mail, company and domain found, the index
//! following changes and deletes, other companies' and (for an own-scope rep) colleagues'
//! records never found, and bad parameters refused — on SQLite and PostgreSQL.

use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app, spawn_app_with};

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> String {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create {path}: {:?}",
        response.text().await
    );
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn search(app: &TestApp, who: &Session, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/search?{query}"), who).await;
    assert_eq!(response.status(), 200, "GET /search?{query}");
    json_of(response).await["data"].as_array().unwrap().clone()
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn names_are_found_exactly_first_and_despite_typos(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let john = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "John", "last_name": "Smith", "email": "john@acme.com",
               "company_name": "Acme Corp", "phone": "+1 (555) 010-7788"}),
    )
    .await;
    let johnny = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Johnny", "last_name": "Smithers", "company_name": "Initech"}),
    )
    .await;
    let jane = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@example.org"}),
    )
    .await;
    // Newer than John, and mentions him only in its e-mail.
    let mailer = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Jo", "last_name": "Smith", "email": "john.smith@globex.test"}),
    )
    .await;
    let account = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Corporation", "domain": "acme.com", "industry": "Anvils"}),
    )
    .await;

    let hits = search(&app, &admin, "q=John%20Smith").await;
    assert_eq!(hits[0]["id"], john, "{hits:?}");
    assert_eq!(hits[0]["record_type"], "lead");
    assert_eq!(hits[0]["title"], "John Smith");
    assert_eq!(hits[0]["subtitle"], "Acme Corp · john@acme.com");
    assert_eq!(hits[0]["score"], 1.0);
    assert!(ids(&hits).contains(&mailer), "the e-mail match: {hits:?}");
    assert!(!ids(&hits).contains(&jane));
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Swapped letters in both words.
    let hits = search(&app, &admin, "q=Jonh%20Smiht").await;
    assert_eq!(hits[0]["id"], john, "{hits:?}");
    let score = hits[0]["score"].as_f64().unwrap();
    assert!(score > 0.5 && score < 1.0, "{score}");
    assert!(!ids(&hits).contains(&jane));
    // A missing letter, and a prefix as typed so far.
    assert_eq!(
        ids(&search(&app, &admin, "q=smth&types=lead").await),
        vec![john.clone()]
    );
    let hits = search(&app, &admin, "q=johnn").await;
    assert_eq!(hits[0]["id"], johnny, "{hits:?}");
    // Noise finds nothing.
    assert!(search(&app, &admin, "q=xqzvwk").await.is_empty());
    assert!(search(&app, &admin, "q=john%20xqzvwk").await.is_empty());

    // E-mail, company, domain and phone.
    let hits = search(&app, &admin, "q=john%40acme.com").await;
    assert_eq!(ids(&hits), vec![john.clone()], "{hits:?}");
    let hits = search(&app, &admin, "q=acme").await;
    let found = ids(&hits);
    assert!(
        found.contains(&john) && found.contains(&account),
        "{hits:?}"
    );
    assert!(!found.contains(&jane) && !found.contains(&johnny));
    let account_hit = hits.iter().find(|h| h["id"] == account).unwrap();
    assert_eq!(account_hit["record_type"], "account");
    assert_eq!(account_hit["subtitle"], "acme.com · Anvils");
    assert_eq!(
        ids(&search(&app, &admin, "q=initech").await),
        vec![johnny.clone()]
    );
    assert_eq!(
        ids(&search(&app, &admin, "q=5550107788").await),
        vec![john.clone()]
    );

    // Types narrow the search; limit cuts it.
    let hits = search(&app, &admin, "q=acme&types=account").await;
    assert_eq!(ids(&hits), vec![account.clone()]);
    let hits = search(&app, &admin, "q=smith&types=lead,contact&limit=1").await;
    assert_eq!(hits.len(), 1);
    let hits = search(&app, &admin, "q=smith&types=contact").await;
    assert_eq!(ids(&hits), vec![mailer.clone()]);
    assert_eq!(hits[0]["record_type"], "contact");
}

async fn the_index_follows_changes_and_deletes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Grace", "last_name": "Hopper"}),
    )
    .await;
    let account = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Babbage Engines"}),
    )
    .await;
    assert_eq!(
        ids(&search(&app, &admin, "q=lovelace").await),
        vec![lead.clone()]
    );

    let changed = app
        .patch(
            &format!("/leads/{lead}"),
            &admin,
            json!({"last_name": "Byron"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert!(search(&app, &admin, "q=lovelace").await.is_empty());
    let hits = search(&app, &admin, "q=ada%20byron").await;
    assert_eq!(ids(&hits), vec![lead.clone()]);
    assert_eq!(hits[0]["title"], "Ada Byron");
    // A change of a field search ignores leaves the entry as it was.
    let changed = app
        .patch(
            &format!("/leads/{lead}"),
            &admin,
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        ids(&search(&app, &admin, "q=byron").await),
        vec![lead.clone()]
    );

    let renamed = app
        .patch(
            &format!("/accounts/{account}"),
            &admin,
            json!({"name": "Difference Engines"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert!(search(&app, &admin, "q=babbage").await.is_empty());
    assert_eq!(
        ids(&search(&app, &admin, "q=difference").await),
        vec![account.clone()]
    );

    for (path, q) in [
        (format!("/leads/{lead}"), "q=byron"),
        (format!("/contacts/{contact}"), "q=hopper"),
        (format!("/accounts/{account}"), "q=difference"),
    ] {
        assert_eq!(app.delete(&path, &admin).await.status(), 204, "{path}");
        assert!(
            search(&app, &admin, q).await.is_empty(),
            "{path} still found"
        );
    }
}

async fn another_companys_records_are_never_found(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let ours = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Hank", "last_name": "Scorpio"}),
    )
    .await;
    let theirs = create(
        &app,
        &globex,
        "/leads",
        json!({"first_name": "Hank", "last_name": "Scorpio"}),
    )
    .await;
    let their_account = create(&app, &globex, "/accounts", json!({"name": "Scorpio Ltd"})).await;
    for q in ["q=hank%20scorpio", "q=hnak%20scorpoi", "q=scorpio"] {
        assert_eq!(
            ids(&search(&app, &admin, q).await),
            vec![ours.clone()],
            "{q}"
        );
    }
    let mut found = ids(&search(&app, &globex, "q=scorpio").await);
    found.sort();
    let mut expected = vec![theirs, their_account];
    expected.sort();
    assert_eq!(found, expected);
}

async fn a_sales_rep_finds_only_their_own_records(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep_a = app.member(&admin, "sales").await;
    let rep_b = app.member(&admin, "sales").await;
    let a_lead = create(
        &app,
        &rep_a,
        "/leads",
        json!({"first_name": "Zed", "last_name": "Alpha"}),
    )
    .await;
    let b_lead = create(
        &app,
        &rep_b,
        "/leads",
        json!({"first_name": "Zed", "last_name": "Alpha"}),
    )
    .await;
    let b_contact = create(
        &app,
        &rep_b,
        "/contacts",
        json!({"first_name": "Zed", "last_name": "Alphaville"}),
    )
    .await;
    let admin_account = create(&app, &admin, "/accounts", json!({"name": "Alpha Zed Inc"})).await;
    for q in ["q=zed%20alpha", "q=zde%20alpah", "q=alpha"] {
        assert_eq!(
            ids(&search(&app, &rep_a, q).await),
            vec![a_lead.clone()],
            "{q}"
        );
    }
    let mut seen = ids(&search(&app, &admin, "q=zed%20alpha").await);
    seen.sort();
    let mut all = vec![a_lead, b_lead, b_contact, admin_account];
    all.sort();
    assert_eq!(seen, all);
}

async fn bad_parameters_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let long = "x".repeat(201);
    for query in [
        String::new(),
        "q=".into(),
        "q=a".into(),
        "q=%20a%20".into(),
        format!("q={long}"),
        "q=john&limit=0".into(),
        "q=john&limit=51".into(),
        "q=john&limit=ten".into(),
        "q=john&types=lead,planet".into(),
        "q=john&sort=name".into(),
    ] {
        let problem = assert_problem(app.get(&format!("/search?{query}"), &admin).await, 400).await;
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{query}"
        );
    }
    assert_eq!(
        app.get(&format!("/search?q={}", "x".repeat(200)), &admin)
            .await
            .status(),
        200
    );
    let anonymous = app.api(Method::GET, "/search?q=john", None).send().await;
    assert_problem(anonymous.unwrap(), 401).await;
}

async fn deals_are_found_by_name_and_follow_changes_within_scope(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Quantum Anvil Rollout", "amount": "12500.50", "currency": "EUR"}),
    )
    .await;
    let hits = search(&app, &admin, "q=quantum%20anvil").await;
    assert_eq!(ids(&hits), vec![deal.clone()]);
    assert_eq!(hits[0]["record_type"], "deal");
    assert_eq!(hits[0]["title"], "Quantum Anvil Rollout");
    assert_eq!(hits[0]["subtitle"], "EUR 12500");
    assert_eq!(
        ids(&search(&app, &admin, "q=quantmu&types=deal").await),
        vec![deal.clone()]
    );
    assert!(
        search(&app, &admin, "q=quantum&types=lead")
            .await
            .is_empty()
    );
    // A rep with own scope does not find the admin's deal, only their own.
    assert!(search(&app, &rep, "q=quantum").await.is_empty());
    let theirs = create(&app, &rep, "/deals", json!({"name": "Quantum Lite"})).await;
    assert_eq!(ids(&search(&app, &rep, "q=quantum").await), [theirs]);

    let path = format!("/deals/{deal}");
    let renamed = app
        .patch(&path, &admin, json!({"name": "Photon Rollout"}))
        .await;
    assert_eq!(renamed.status(), 200);
    assert!(search(&app, &admin, "q=anvil&types=deal").await.is_empty());
    assert_eq!(
        ids(&search(&app, &admin, "q=photon").await),
        vec![deal.clone()]
    );
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert!(search(&app, &admin, "q=photon").await.is_empty());
}

/// However many newer records share a typo's intact end ("…ht" of "smiht", "…er" of
/// "wlaker"), the record meant is found: the typo is corrected to a word first.
async fn a_typo_is_found_however_many_newer_records_share_its_other_end(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let smith = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Quentin", "last_name": "Smith"}),
    )
    .await;
    let walker = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Joanna", "last_name": "Walker"}),
    )
    .await;
    // More than the 200 candidates a read takes, all newer, all ending in "ht" and "er".
    for n in 0..205 {
        create(
            &app,
            &admin,
            "/leads",
            json!({"first_name": format!("Knight{n}"), "last_name": "Wright",
                   "company_name": "Parker Baker"}),
        )
        .await;
    }
    for (q, found) in [
        ("q=smiht", &smith),
        ("q=quentin%20smiht", &smith),
        ("q=quent%20smiht", &smith),
        ("q=wlaker", &walker),
        ("q=wlaker%20jo", &walker),
        ("q=joan%20wlaker", &walker),
    ] {
        let hits = search(&app, &admin, q).await;
        assert_eq!(ids(&hits), vec![found.clone()], "{q}: {hits:?}");
    }
}

/// One wrong, missing, extra or swapped letter anywhere in a word (two in a long word) still
/// finds the record, ranked below an exact match; noise and other words do not.
async fn every_kind_of_typo_finds_the_record(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let walker = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Tom", "last_name": "Walker", "company_name": "Kowalski Freight"}),
    )
    .await;
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Astrid", "last_name": "Lindqvist"}),
    )
    .await;
    let deal = create(&app, &admin, "/deals", json!({"name": "Marmalade Factory"})).await;
    for (q, expected) in [
        ("q=wolker", &walker),             // a wrong letter
        ("q=walkr", &walker),              // a missing letter
        ("q=wallker", &walker),            // an extra letter
        ("q=wlaker", &walker),             // a swap at the start
        ("q=walekr", &walker),             // a swap at the end
        ("q=tom%20wlaker", &walker),       // with an exact word
        ("q=kowalksi%20freihgt", &walker), // two words, each with a typo
        ("q=lindqivstt", &contact),        // two edits in a long word
        ("q=astrdi%20lindqvist", &contact),
        ("q=marmelade", &deal),
        ("q=amrmalade%20factroy", &deal),
    ] {
        let hits = search(&app, &admin, q).await;
        assert_eq!(ids(&hits), vec![expected.clone()], "{q}: {hits:?}");
        let score = hits[0]["score"].as_f64().unwrap();
        assert!(score > 0.5 && score < 1.0, "{q}: {score}");
    }
    for q in [
        "q=wxyzker", // three edits
        "q=tom%20wxyzker",
        "q=walker%20xqzvwk",
        "q=lindqvist%20walker",
        "q=wlaker&types=contact",
    ] {
        assert!(search(&app, &admin, q).await.is_empty(), "{q}");
    }
}

/// A typo is corrected to the caller's company's words and answered within their scope: a rep
/// with own scope finds only their own records, another company's are never found, and a
/// record given to someone else leaves the old owner's answers (exact and typo alike).
async fn typo_results_stay_within_scope_and_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let rep_a = app.member(&admin, "sales").await;
    let rep_b = app.member(&admin, "sales").await;
    let a_lead = create(
        &app,
        &rep_a,
        "/leads",
        json!({"first_name": "Vera", "last_name": "Walker"}),
    )
    .await;
    let b_lead = create(
        &app,
        &rep_b,
        "/leads",
        json!({"first_name": "Vera", "last_name": "Walker"}),
    )
    .await;
    let b_contact = create(
        &app,
        &rep_b,
        "/contacts",
        json!({"first_name": "Vera", "last_name": "Walker"}),
    )
    .await;
    let account = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Walker Holdings"}),
    )
    .await;
    let theirs = create(
        &app,
        &globex,
        "/leads",
        json!({"first_name": "Vera", "last_name": "Walker", "company_name": "Zanzibar"}),
    )
    .await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    for q in ["q=walker", "q=wlaker", "q=vrea%20wlaker", "q=walkre"] {
        assert_eq!(
            ids(&search(&app, &rep_a, q).await),
            vec![a_lead.clone()],
            "{q}"
        );
        assert_eq!(
            sorted(ids(&search(&app, &rep_b, q).await)),
            sorted(vec![b_lead.clone(), b_contact.clone()]),
            "{q}"
        );
        assert_eq!(
            sorted(ids(&search(&app, &admin, q).await)),
            sorted(if q.contains("vrea") {
                vec![a_lead.clone(), b_lead.clone(), b_contact.clone()]
            } else {
                vec![
                    a_lead.clone(),
                    b_lead.clone(),
                    b_contact.clone(),
                    account.clone(),
                ]
            }),
            "{q}"
        );
        assert_eq!(
            ids(&search(&app, &globex, q).await),
            vec![theirs.clone()],
            "{q}"
        );
    }
    // Another company's words are not ours to be corrected to.
    assert!(search(&app, &admin, "q=zanzibra").await.is_empty());
    assert_eq!(
        ids(&search(&app, &globex, "q=zanzibra").await),
        vec![theirs.clone()]
    );

    // Given to rep B, the lead leaves rep A's answers and joins rep B's.
    let given = app
        .patch(
            &format!("/leads/{a_lead}"),
            &admin,
            json!({"owner_id": rep_b.user_id}),
        )
        .await;
    assert_eq!(given.status(), 200);
    for q in ["q=walker", "q=wlaker"] {
        assert!(search(&app, &rep_a, q).await.is_empty(), "{q}");
        assert_eq!(
            sorted(ids(&search(&app, &rep_b, q).await)),
            sorted(vec![a_lead.clone(), b_lead.clone(), b_contact.clone()]),
            "{q}"
        );
    }
    // Renamed, it is found by its new name only, typo or not.
    let renamed = app
        .patch(
            &format!("/leads/{a_lead}"),
            &admin,
            json!({"last_name": "Fairweather"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    for q in ["q=fairweather", "q=fariweather"] {
        assert_eq!(
            ids(&search(&app, &rep_b, q).await),
            vec![a_lead.clone()],
            "{q}"
        );
    }
    assert_eq!(
        sorted(ids(&search(&app, &rep_b, "q=wlaker").await)),
        sorted(vec![b_lead.clone(), b_contact.clone()])
    );
}

/// A typo search reads through one database connection: correcting the word does not take a
/// second one while the search holds the first (under load every request held one and waited
/// for another, until the pool's time-out).
async fn a_typo_search_needs_one_database_connection(db: Db) {
    let app = spawn_app_with(db, |c| c.db_max_connections = 1).await;
    let admin = app.admin().await;
    let walker = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Tom", "last_name": "Walker"}),
    )
    .await;
    let started = std::time::Instant::now();
    for q in ["q=wlaker", "q=tom%20wlaker", "q=walker"] {
        assert_eq!(
            ids(&search(&app, &admin, q).await),
            vec![walker.clone()],
            "{q}"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Record every write to the search index from now on: each updated `search_docs` row and, on
/// PostgreSQL, each word posting written (`search_terms`), as "<table> <operation>".
async fn watch_index_writes(app: &TestApp) {
    use rivet_store::sea_orm::ConnectionTrait;
    let statements: &[&str] = match app.db {
        Db::Sqlite => &[
            "CREATE TABLE test_index_writes (what TEXT NOT NULL)",
            "CREATE TRIGGER test_docs_au AFTER UPDATE ON search_docs \
             BEGIN INSERT INTO test_index_writes VALUES ('search_docs UPDATE'); END",
        ],
        Db::Postgres => &[
            "CREATE TABLE test_index_writes (what text NOT NULL)",
            "GRANT INSERT ON test_index_writes TO rivet_tenant",
            "CREATE FUNCTION test_index_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               INSERT INTO test_index_writes VALUES (TG_TABLE_NAME || ' ' || TG_OP); \
               RETURN NULL; END $$",
            "CREATE TRIGGER test_docs AFTER UPDATE ON search_docs \
             FOR EACH ROW EXECUTE FUNCTION test_index_write()",
            "CREATE TRIGGER test_terms AFTER INSERT OR UPDATE OR DELETE ON search_terms \
             FOR EACH ROW EXECUTE FUNCTION test_index_write()",
        ],
    };
    for sql in statements {
        app.state
            .store
            .system()
            .execute_unprepared(sql)
            .await
            .unwrap();
    }
}

/// The index writes recorded since the last call, sorted.
async fn index_writes(app: &TestApp) -> Vec<String> {
    use rivet_store::sea_orm::{ConnectionTrait, Statement};
    let system = app.state.store.system();
    let rows = system
        .query_all_raw(Statement::from_string(
            system.get_database_backend(),
            "SELECT what FROM test_index_writes ORDER BY what",
        ))
        .await
        .unwrap();
    system
        .execute_unprepared("DELETE FROM test_index_writes")
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "what").unwrap())
        .collect()
}

/// An update that leaves every searched field and the owner as they were (a lead's status, a
/// deal's stage move) does not touch the index (`m0016_search_changes_only`); one that changes
/// them rewrites the entry and, on PostgreSQL, only the postings of the words that changed.
async fn the_index_is_written_only_when_what_it_holds_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let deal = create(&app, &admin, "/deals", json!({"name": "Analytical Engine"})).await;
    let pipelines = json_of(app.get("/pipelines", &admin).await).await;
    let stages: Vec<String> = pipelines["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .unwrap()["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    watch_index_writes(&app).await;

    let lead_path = format!("/leads/{lead}");
    let unchanged = app
        .patch(&lead_path, &admin, json!({"status": "contacted"}))
        .await;
    assert_eq!(unchanged.status(), 200);
    let moved = app
        .patch(
            &format!("/deals/{deal}"),
            &admin,
            json!({"stage_id": stages[1]}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(index_writes(&app).await, Vec::<String>::new());

    // A change of what the index holds rewrites the entry; on PostgreSQL only the postings
    // that change are written.
    for (patch, postgres) in [
        // "ada" stays; "lovelace" goes, "byron" comes.
        (
            json!({"last_name": "Byron"}),
            ["search_terms DELETE", "search_terms INSERT"],
        ),
        // The same words, a new owner.
        (
            json!({"owner_id": rep.user_id}),
            ["search_terms UPDATE", "search_terms UPDATE"],
        ),
    ] {
        let changed = app.patch(&lead_path, &admin, patch.clone()).await;
        assert_eq!(changed.status(), 200);
        let mut expected = vec!["search_docs UPDATE".to_owned()];
        if db == Db::Postgres {
            expected.extend(postgres.map(String::from));
        }
        assert_eq!(index_writes(&app).await, expected, "{patch}");
    }

    // What the index holds is right: the new name, the new owner's, not the old name.
    assert!(search(&app, &admin, "q=lovelace").await.is_empty());
    for q in ["q=ada%20byron", "q=byron", "q=ada"] {
        assert_eq!(ids(&search(&app, &rep, q).await), vec![lead.clone()], "{q}");
    }
    assert_eq!(
        ids(&search(&app, &admin, "q=analytical").await),
        vec![deal.clone()]
    );
}

both!(
    the_index_is_written_only_when_what_it_holds_changes,
    a_typo_search_needs_one_database_connection,
    a_typo_is_found_however_many_newer_records_share_its_other_end,
    every_kind_of_typo_finds_the_record,
    typo_results_stay_within_scope_and_company,
    names_are_found_exactly_first_and_despite_typos,
    deals_are_found_by_name_and_follow_changes_within_scope,
    the_index_follows_changes_and_deletes,
    another_companys_records_are_never_found,
    a_sales_rep_finds_only_their_own_records,
    bad_parameters_are_refused,
);

/// On PostgreSQL the search tables are read without parallel workers (`m0015_search_serial`):
/// starting one cost more than the whole read of a page of candidates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn search_tables_have_no_parallel_workers_postgres() {
    use rivet_store::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let app = spawn_app(Db::Postgres).await;
    let rows = app
        .state
        .store
        .system()
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT relname::text AS name FROM pg_class \
             WHERE relname IN ('search_terms', 'search_docs') AND relkind = 'r' \
               AND 'parallel_workers=0' = ANY (reloptions)",
        ))
        .await
        .unwrap();
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["search_docs", "search_terms"]);
}
