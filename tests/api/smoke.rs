use rivet_tests::{Db, both, json_of, spawn_app};

async fn admin_can_sign_in_and_read_me(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let me = json_of(app.get("/me", &admin).await).await;
    assert_eq!(me["user"]["email"], rivet_tests::ADMIN_EMAIL);
    assert_eq!(me["user"]["role_name"], "admin");
    assert_eq!(me["is_system_admin"], true);
}

both!(admin_can_sign_in_and_read_me);
