//! Typed ids (issue 12.2) are the UUIDs they wrap on both databases: a row's ids read back
//! through the record layer (sqlx's decoders, by position) and through sea-orm's `TryGetable`
//! (by name) equal the UUIDs the table holds and the ids the API answered with.

use rivet_domain::ids::{CompanyId, LeadId, UserId};
use rivet_store::leads::Lead;
use rivet_store::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use rivet_tests::serde_json::json;
use rivet_tests::{Db, both, json_of, spawn_app};
use uuid::Uuid;

async fn a_records_typed_ids_read_back_as_the_uuids_stored(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app
        .post("/leads", &admin, json!({"last_name": "Doe"}))
        .await;
    assert_eq!(response.status(), 201);
    let created = json_of(response).await;
    let id: LeadId = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(created["owner_id"], json!(admin.user_id));

    let store = &app.state.store;
    let actor =
        rivet_store::sessions::load_actor(store, admin.company_id, admin.user_id, None, None)
            .await
            .unwrap()
            .expect("the admin's actor");
    let lead: Lead = rivet_store::record::get(store, &actor, id).await.unwrap();
    assert_eq!(lead.id, id);
    assert_eq!(lead.owner_id, admin.user_id);
    assert_eq!(lead.created_by, admin.user_id);

    let (backend, sql) = match db {
        Db::Sqlite => (
            DatabaseBackend::Sqlite,
            "SELECT id, owner_id, company_id FROM leads WHERE id = ?",
        ),
        Db::Postgres => (
            DatabaseBackend::Postgres,
            "SELECT id, owner_id, company_id FROM leads WHERE id = $1",
        ),
    };
    let row = store
        .system()
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
        .await
        .unwrap()
        .expect("the lead's row");
    let (typed, owner, company): (LeadId, UserId, CompanyId) = (
        row.try_get("", "id").unwrap(),
        row.try_get("", "owner_id").unwrap(),
        row.try_get("", "company_id").unwrap(),
    );
    let (plain, plain_owner): (Uuid, Uuid) = (
        row.try_get("", "id").unwrap(),
        row.try_get("", "owner_id").unwrap(),
    );
    assert_eq!(
        (typed, owner, company),
        (id, admin.user_id, admin.company_id)
    );
    assert_eq!((typed.uuid(), owner.uuid()), (plain, plain_owner));
    let none: Option<UserId> = row.try_get("", "owner_id").unwrap();
    assert_eq!(none, Some(admin.user_id));
}

both!(a_records_typed_ids_read_back_as_the_uuids_stored);
