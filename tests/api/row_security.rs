//! Tenancy enforced a second time, by PostgreSQL's row-level security (`rivet_store::migrations::m0013_row_level_security`):
//! through Rivet's own connection, a query that forgets the company filter still sees and
//! changes only the current company's rows, and none when no company is set. SQLite has no
//! such second guard, so these tests are PostgreSQL's only.

use rivet_domain::Actor;
use rivet_store::Store;
use rivet_store::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use rivet_store::tables::{POLICY, TENANT_ROLE};
use rivet_tests::serde_json::json;
use rivet_tests::{Db, Session, TestApp, spawn_app, spawn_app_with};

const NEEDS_PG: &str = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored";

async fn actor_of(app: &TestApp, who: &Session) -> Actor {
    rivet_store::sessions::load_actor(&app.state.store, who.company_id, who.user_id, None, None)
        .await
        .unwrap()
        .expect("the member's actor")
}

/// The first column of the one row `sql` returns.
async fn scalar<T: rivet_store::sea_orm::TryGetable, C: ConnectionTrait>(conn: &C, sql: &str) -> T {
    let row = conn
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap()
        .expect("a row");
    row.try_get_by_index::<T>(0).unwrap()
}

async fn count<C: ConnectionTrait>(conn: &C, sql: &str) -> i64 {
    scalar(conn, sql).await
}

async fn add_leads(app: &TestApp, who: &Session, n: usize) {
    for i in 0..n {
        let response = app
            .post("/leads", who, json!({"last_name": format!("Lead {i}")}))
            .await;
        assert_eq!(response.status(), 201);
    }
}

/// Acme with 2 leads, Globex with 3; their admins.
async fn two_companies(app: &TestApp) -> (Session, Session) {
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    add_leads(app, &acme, 2).await;
    add_leads(app, &globex, 3).await;
    (acme, globex)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn an_unscoped_select_and_update_touch_only_the_current_companys_rows() {
    let app = spawn_app(Db::Postgres).await;
    let store = &app.state.store;
    let (acme, globex) = two_companies(&app).await;
    let acme_actor = actor_of(&app, &acme).await;

    // The harness connects as a superuser, which every policy would let through.
    assert_eq!(
        count(
            store.system(),
            "SELECT count(*) FROM pg_roles WHERE rolname = session_user AND rolsuper"
        )
        .await,
        1,
        "{NEEDS_PG} as a superuser, as the test harness does"
    );
    assert_eq!(count(store.system(), "SELECT count(*) FROM leads").await, 5);

    let read = store.read(&acme_actor).await.unwrap();
    assert_eq!(
        scalar::<String, _>(read.conn(), "SELECT current_user::text").await,
        TENANT_ROLE
    );
    assert_eq!(count(read.conn(), "SELECT count(*) FROM leads").await, 2);
    assert_eq!(
        count(read.conn(), "SELECT count(*) FROM search_docs").await,
        2
    );
    assert_eq!(
        count(read.conn(), "SELECT count(*) FROM memberships").await,
        1
    );
    drop(read);

    let tx = store.write(&acme_actor).await.unwrap();
    let changed = tx
        .conn()
        .execute_unprepared("UPDATE leads SET city = 'x'")
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 2);
    tx.commit().await.unwrap();
    assert_eq!(
        count(
            store.system(),
            &format!(
                "SELECT count(*) FROM leads WHERE city = 'x' AND company_id = '{}'",
                acme.company_id
            )
        )
        .await,
        2
    );
    assert_eq!(
        count(
            store.system(),
            &format!(
                "SELECT count(*) FROM leads WHERE city IS NULL AND company_id = '{}'",
                globex.company_id
            )
        )
        .await,
        3,
        "another company's rows are not changed"
    );

    // A row cannot be moved to, or written into, another company.
    let tx = store.write(&acme_actor).await.unwrap();
    let moved = tx
        .conn()
        .execute_unprepared(&format!(
            "UPDATE leads SET company_id = '{}'",
            globex.company_id
        ))
        .await;
    let message = moved
        .expect_err("moving rows out of the company")
        .to_string();
    assert!(message.contains("row-level security"), "{message}");
    drop(tx);

    // The API still serves each company its own.
    let page: rivet_tests::serde_json::Value =
        app.get("/leads", &globex).await.json().await.unwrap();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn the_tenant_role_without_a_company_sees_and_changes_nothing() {
    let app = spawn_app(Db::Postgres).await;
    let (acme, _) = two_companies(&app).await;
    let acme_actor = actor_of(&app, &acme).await;
    // One connection, so the tenant read before leaves the setting behind as '' (not NULL).
    let url = app.state.config.database_url.clone().unwrap();
    let store = Store::connect(&url, 1).await.unwrap();
    drop(store.read(&acme_actor).await.unwrap());

    let tx = store.system().begin().await.unwrap();
    tx.execute_unprepared(&format!("SET LOCAL ROLE {TENANT_ROLE}"))
        .await
        .unwrap();
    assert_eq!(count(&tx, "SELECT count(*) FROM leads").await, 0);
    assert_eq!(count(&tx, "SELECT count(*) FROM memberships").await, 0);
    let changed = tx
        .execute_unprepared("UPDATE leads SET city = 'y'")
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0);
    let deleted = tx
        .execute_unprepared("DELETE FROM leads")
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(deleted, 0);
    tx.commit().await.unwrap();
    assert_eq!(count(store.system(), "SELECT count(*) FROM leads").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn every_table_with_a_company_id_has_the_tenant_policy() {
    let app = spawn_app(Db::Postgres).await;
    let db = app.state.store.system();
    let tables = rivet_store::migrations::m0013_row_level_security::tenant_tables(db)
        .await
        .unwrap();
    for expected in [
        "memberships",
        "sessions",
        "jobs",
        "system_logs",
        "outbox",
        "search_docs",
        "leads",
        "audit_log",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected}: {tables:?}"
        );
    }
    let unguarded = db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!(
                "SELECT c.table_name::text FROM information_schema.columns c \
                 JOIN information_schema.tables t \
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                 JOIN pg_class k ON k.oid = format('%I.%I', c.table_schema, c.table_name)::regclass \
                 WHERE c.table_schema = current_schema() AND c.column_name = 'company_id' \
                   AND t.table_type = 'BASE TABLE' \
                   AND NOT (k.relrowsecurity AND EXISTS ( \
                     SELECT 1 FROM pg_policies p \
                     WHERE p.schemaname = c.table_schema AND p.tablename = c.table_name \
                       AND p.policyname = '{POLICY}' AND p.cmd = 'ALL' \
                       AND p.roles = ARRAY['{TENANT_ROLE}']::name[] \
                       AND p.qual LIKE '%rivet.company_id%' \
                       AND p.with_check LIKE '%rivet.company_id%')) \
                 ORDER BY 1"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>();
    assert!(
        unguarded.is_empty(),
        "tables with a company_id but without row-level security and the {POLICY} policy: \
         {unguarded:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn with_rivet_pg_rls_off_tenant_reads_are_not_bound_but_still_filtered() {
    let app = spawn_app_with(Db::Postgres, |c| c.pg_rls = false).await;
    let (acme, _) = two_companies(&app).await;
    let acme_actor = actor_of(&app, &acme).await;
    let read = app.state.store.read(&acme_actor).await.unwrap();
    assert_eq!(count(read.conn(), "SELECT count(*) FROM leads").await, 5);
    drop(read);
    let page: rivet_tests::serde_json::Value = app.get("/leads", &acme).await.json().await.unwrap();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let found: rivet_tests::serde_json::Value =
        app.get("/search?q=lead", &acme).await.json().await.unwrap();
    assert_eq!(found["data"].as_array().map(Vec::len), Some(2), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn an_owner_that_is_no_superuser_migrates_and_is_bound_the_same_way() {
    let admin_url = rivet_tests::postgres_admin_url();
    let admin = Store::connect(&admin_url, 1).await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (owner, name) = (
        format!("rivet_owner_{suffix}"),
        format!("rivet_test_{suffix}"),
    );
    for sql in [
        format!("CREATE ROLE {owner} LOGIN CREATEROLE NOSUPERUSER"),
        format!("CREATE DATABASE {name} OWNER {owner}"),
    ] {
        admin
            .system()
            .execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{NEEDS_PG} with a user that may create roles: {e}"));
    }
    let (scheme, rest) = admin_url.split_once("://").unwrap();
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_and_db.split_once('/').map_or(host_and_db, |(h, _)| h);
    let url = format!("{scheme}://{owner}@{host}/{name}");
    let dir = tempfile::tempdir().unwrap();
    let config = rivet_tests::test_config(&dir, url);
    let result = async {
        let state = rivet_server::build_state(config, None).await.unwrap();
        let store = &state.store;
        let created = rivet_server::bootstrap::first_run(store, &state.config)
            .await
            .unwrap()
            .unwrap();
        let actor = rivet_store::sessions::load_actor(
            store,
            created.company_id,
            created.admin_user_id,
            None,
            None,
        )
        .await
        .unwrap()
        .unwrap();
        let tx = store.write(&actor).await.unwrap();
        let insert = |company: rivet_domain::ids::CompanyId| {
            format!(
                "INSERT INTO teams (company_id, id, name, created_at, updated_at) \
                 VALUES ('{company}', '{}', 'T {company}', now(), now())",
                uuid::Uuid::new_v4()
            )
        };
        tx.conn()
            .execute_unprepared(&insert(created.company_id))
            .await
            .unwrap();
        let foreign = tx
            .conn()
            .execute_unprepared(&insert(rivet_domain::ids::CompanyId::new()))
            .await;
        let message = foreign.expect_err("a row of another company").to_string();
        assert!(message.contains("row-level security"), "{message}");
        drop(tx);
        let read = store.read(&actor).await.unwrap();
        assert_eq!(
            scalar::<String, _>(read.conn(), "SELECT current_user::text").await,
            TENANT_ROLE
        );
        let own_teams = format!(
            "SELECT count(*) FROM teams WHERE company_id = '{}'",
            created.company_id
        );
        assert_eq!(
            count(read.conn(), "SELECT count(*) FROM teams").await,
            count(store.system(), &own_teams).await
        );
    };
    let outcome = tokio::spawn(result).await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS {owner}"),
    ] {
        admin.system().execute_unprepared(&sql).await.unwrap();
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// The pool checks a connection it hands out only when the connection has been idle for a
/// while (it was checked when it came back): one the server closed meanwhile is replaced, for a
/// plain statement and for a tenant read alike, not handed out broken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn a_pooled_connection_closed_by_the_server_while_idle_is_replaced() {
    let app = spawn_app(Db::Postgres).await;
    let (acme, _) = two_companies(&app).await;
    let acme_actor = actor_of(&app, &acme).await;
    let url = app.state.config.database_url.clone().unwrap();
    let store = Store::connect(&url, 1).await.unwrap();
    let backend = "SELECT pg_backend_pid()";
    for step in ["a plain statement", "a tenant read"] {
        let pid: i32 = scalar(store.system(), backend).await;
        let ended: bool = scalar(
            app.state.store.system(),
            &format!("SELECT pg_terminate_backend({pid})"),
        )
        .await;
        assert!(ended);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let now: i32 = match step {
            "a plain statement" => scalar(store.system(), backend).await,
            _ => scalar(store.read(&acme_actor).await.unwrap().conn(), backend).await,
        };
        assert_ne!(now, pid, "{step}");
    }
}

/// What a connection is left with after a tenant read or write, seen by the next user of the
/// pool's only connection: "<role is the session's>/<rivet.company_id>/<in a transaction>". A
/// connection left inside a transaction answers `now()` (the transaction's start) twice alike.
async fn left_behind(store: &Store) -> String {
    let bound: String = scalar(
        store.system(),
        "SELECT (current_user = session_user)::text || '/' \
         || coalesce(current_setting('rivet.company_id', true), '')",
    )
    .await;
    let first: String = scalar(store.system(), "SELECT now()::text").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second: String = scalar(store.system(), "SELECT now()::text").await;
    format!("{bound}/{}", first == second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn a_connection_goes_back_to_the_pool_unbound_after_every_tenant_read_and_write() {
    let app = spawn_app(Db::Postgres).await;
    let (acme, _) = two_companies(&app).await;
    let acme_actor = actor_of(&app, &acme).await;
    // One connection, so the next user of the pool gets whatever a read or write left behind.
    let url = app.state.config.database_url.clone().unwrap();
    let store = Store::connect(&url, 1).await.unwrap();
    let clean = "true//false";
    let bound = "SELECT current_user::text || '/' || current_setting('rivet.company_id')";
    let bound_to_acme = format!("{TENANT_ROLE}/{}", acme.company_id);

    // A read, bound while it lasts.
    let read = store.read(&acme_actor).await.unwrap();
    assert_eq!(scalar::<String, _>(read.conn(), bound).await, bound_to_acme);
    assert_eq!(count(read.conn(), "SELECT count(*) FROM leads").await, 2);
    drop(read);
    assert_eq!(left_behind(&store).await, clean, "after a read");

    // A read whose statement failed.
    let read = store.read(&acme_actor).await.unwrap();
    assert!(
        read.conn()
            .execute_unprepared("SELECT * FROM no_such_table")
            .await
            .is_err()
    );
    drop(read);
    assert_eq!(left_behind(&store).await, clean, "after a failed read");

    // A read dropped while its statement runs (a request cancelled by its client).
    let read = store.read(&acme_actor).await.unwrap();
    let slow = read.conn().execute_unprepared("SELECT pg_sleep(1)");
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(100), slow)
            .await
            .is_err()
    );
    drop(read);
    assert_eq!(left_behind(&store).await, clean, "after a cancelled read");

    // A write dropped without commit changes nothing.
    let tx = store.write(&acme_actor).await.unwrap();
    assert_eq!(scalar::<String, _>(tx.conn(), bound).await, bound_to_acme);
    tx.conn()
        .execute_unprepared("UPDATE leads SET city = 'dropped'")
        .await
        .unwrap();
    drop(tx);
    assert_eq!(left_behind(&store).await, clean, "after a dropped write");

    // A committed write.
    let tx = store.write(&acme_actor).await.unwrap();
    tx.conn()
        .execute_unprepared("UPDATE leads SET city = 'kept'")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(left_behind(&store).await, clean, "after a committed write");
    assert_eq!(
        count(
            store.system(),
            "SELECT count(*) FROM leads WHERE city = 'dropped'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            store.system(),
            "SELECT count(*) FROM leads WHERE city = 'kept'"
        )
        .await,
        2,
        "the committed write changed the company's two leads, not the other's three"
    );

    // A write the policies refused.
    let tx = store.write(&acme_actor).await.unwrap();
    assert!(
        tx.conn()
            .execute_unprepared("UPDATE leads SET company_id = gen_random_uuid()")
            .await
            .is_err()
    );
    drop(tx);
    assert_eq!(left_behind(&store).await, clean, "after a refused write");
}
