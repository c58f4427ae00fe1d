//! Rate limits: per IP on every route, stricter on sign-in, shared through Redis when set.

use reqwest::Method;
use rivet_tests::serde_json::json;
use rivet_tests::{Db, assert_problem, both, spawn_app_with};

async fn requests_over_the_per_ip_limit_get_429_with_retry_after(db: Db) {
    let app = spawn_app_with(db, |c| c.ip_rate_limit = 20).await;
    let admin = app.admin().await;
    let mut limited = None;
    for _ in 0..30 {
        let response = app.get("/me", &admin).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the limit is enforced");
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 429).await;
    // Health checks are never limited.
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

async fn instances_sharing_redis_enforce_one_login_limit(db: Db) {
    let redis = rivet_tests::redis_url();
    let prefix = format!("rivet-test-{}", uuid::Uuid::new_v4().simple());
    let configure = |c: &mut rivet_server::Config| {
        c.redis_url = Some(redis.clone());
        c.redis_prefix = prefix.clone();
        c.login_rate_limit = 4;
    };
    let one = spawn_app_with(db, configure).await;
    let two = spawn_app_with(db, configure).await;
    assert!(one.state.limiter.is_shared());
    for app in [&one, &two, &one, &two] {
        let response = app
            .api(Method::POST, "/auth/login", None)
            .json(&json!({"email": "x@y.z", "password": "nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let fifth = two
        .api(Method::POST, "/auth/login", None)
        .json(&json!({"email": "x@y.z", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_problem(fifth, 429).await;
}

both!(requests_over_the_per_ip_limit_get_429_with_retry_after);

/// Needs Redis (and, for its second half, PostgreSQL): ignored unless asked for.
mod instances_sharing_redis_enforce_one_login_limit {
    use rivet_tests::Db;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis: set RIVET_TEST_REDIS_URL, run with --include-ignored"]
    async fn sqlite() {
        super::instances_sharing_redis_enforce_one_login_limit(Db::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis and PostgreSQL: set RIVET_TEST_REDIS_URL and RIVET_TEST_DATABASE_URL, \
                run with --include-ignored"]
    async fn postgres() {
        super::instances_sharing_redis_enforce_one_login_limit(Db::Postgres).await;
    }
}
