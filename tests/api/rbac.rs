//! Permissions: every route declares one, and each built-in role can call exactly the routes
//! its grants allow. Scopes narrow what a permitted caller sees.

use reqwest::Method;
use rivet_domain::BuiltinRole;
use rivet_server::http::router::Access;
use rivet_tests::serde_json::json;
use rivet_tests::{Db, assert_problem, both, json_of, spawn_app};

#[test]
fn every_api_route_declares_a_permission_and_public_routes_are_listed() {
    let routes = rivet_server::api::api_route_list();
    assert!(
        routes.len() > 30,
        "the registry holds the API ({} routes)",
        routes.len()
    );
    let mut public: Vec<(String, String)> = routes
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    public.sort();
    let mut listed: Vec<(String, String)> = rivet_server::api::PUBLIC_API_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    listed.sort();
    assert_eq!(
        public, listed,
        "public routes must be exactly the listed ones"
    );
    for route in &routes {
        assert!(
            !route.summary.is_empty(),
            "{} {} has no summary",
            route.method,
            route.path
        );
    }
    let mut seen = std::collections::HashSet::new();
    for route in &routes {
        assert!(
            seen.insert((route.method.clone(), route.path.clone())),
            "{} {} registered twice",
            route.method,
            route.path
        );
    }
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn each_builtin_role_can_call_exactly_what_its_grants_allow(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let routes = rivet_server::api::api_route_list();
    for role in BuiltinRole::ALL {
        let who = app.member(&admin, role.as_str()).await;
        let grants = role.default_permissions();
        for route in &routes {
            if route.path.starts_with("/auth/") {
                continue; // logout would end the session the matrix runs on
            }
            let allowed = match route.access {
                Access::Public | Access::Authenticated => true,
                Access::Allow(r, a) => grants.allows(r, a),
                Access::AnyOf(pairs) => pairs.iter().any(|&(r, a)| grants.allows(r, a)),
                // Members made here are not installation administrators.
                Access::SystemAdmin(_, _) => false,
            };
            let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
            let response = app
                .api(method, &concrete(&route.path), Some(&who))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            if allowed {
                assert!(
                    status != 403 && status != 401 && status < 500,
                    "{role} should reach {} {} (got {status})",
                    route.method,
                    route.path
                );
            } else {
                assert_eq!(
                    status, 403,
                    "{role} must be refused {} {}",
                    route.method, route.path
                );
            }
        }
    }
}

async fn the_first_admin_administers_the_installation_but_other_company_admins_do_not(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let routes = rivet_server::api::api_route_list();
    for route in routes
        .iter()
        .filter(|r| matches!(r.access, Access::SystemAdmin(..)))
    {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let theirs = app
            .api(method.clone(), &concrete(&route.path), Some(&globex))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            theirs.status(),
            403,
            "{} {} for a company admin",
            route.method,
            route.path
        );
        let ours = app
            .api(method, &concrete(&route.path), Some(&admin))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_ne!(
            ours.status(),
            403,
            "{} {} for the system admin",
            route.method,
            route.path
        );
    }
}

async fn a_manager_sees_the_members_of_their_team_only(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let east = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let east_id = east["id"].as_str().unwrap().to_owned();
    let manager = app.member_in_team(&admin, "manager", Some(&east_id)).await;
    let teammate = app.member_in_team(&admin, "sales", Some(&east_id)).await;
    let outsider = app.member(&admin, "sales").await;
    let listed = json_of(app.get("/users", &manager).await).await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert!(ids.contains(&teammate.user_id.to_string().as_str()));
    assert!(ids.contains(&manager.user_id.to_string().as_str()));
    assert!(!ids.contains(&outsider.user_id.to_string().as_str()));
    assert!(!ids.contains(&admin.user_id.to_string().as_str()));
    assert_eq!(
        app.get(&format!("/users/{}", teammate.user_id), &manager)
            .await
            .status(),
        200
    );
    assert_problem(
        app.get(&format!("/users/{}", outsider.user_id), &manager)
            .await,
        404,
    )
    .await;
    // Managing a team (not only being in one) also brings it into scope.
    let west = json_of(
        app.post(
            "/teams",
            &admin,
            json!({"name": "West", "manager_id": manager.user_id}),
        )
        .await,
    )
    .await;
    let west_rep = app
        .member_in_team(&admin, "sales", west["id"].as_str())
        .await;
    assert_eq!(
        app.get(&format!("/users/{}", west_rep.user_id), &manager)
            .await
            .status(),
        200
    );
}

async fn a_custom_role_grants_exactly_what_it_lists(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app
        .post(
            "/roles",
            &admin,
            json!({"name": "Auditor", "description": "reads the trail", "permissions": [
                {"resource": "audit", "action": "read", "scope": "all"},
                {"resource": "leads", "action": "read", "scope": "own"}
            ]}),
        )
        .await;
    assert_eq!(role.status(), 201);
    let role = json_of(role).await;
    let email = "auditor@acme.test";
    let created = app
        .post("/users", &admin, json!({"email": email, "name": "Aud", "role_id": role["id"], "password": rivet_tests::PASSWORD}))
        .await;
    assert_eq!(created.status(), 201);
    let auditor = app.login(email, rivet_tests::PASSWORD).await;
    assert_eq!(app.get("/audit", &auditor).await.status(), 200);
    assert_problem(app.get("/users", &auditor).await, 403).await;
    // Taking the grant away takes effect on the next request.
    let set = app
        .put(
            &format!("/roles/{}/permissions", role["id"].as_str().unwrap()),
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(set.status(), 200);
    assert_problem(app.get("/audit", &auditor).await, 403).await;
}

async fn built_in_roles_cannot_be_deleted_or_renamed_and_used_roles_cannot_be_deleted(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = app.role_id(&admin, "sales").await;
    assert_problem(app.delete(&format!("/roles/{sales}"), &admin).await, 409).await;
    let renamed = app
        .patch(
            &format!("/roles/{sales}"),
            &admin,
            json!({"name": "closers"}),
        )
        .await;
    assert_problem(renamed, 422).await;
    // Description of a built-in role may change.
    let described = app
        .patch(
            &format!("/roles/{sales}"),
            &admin,
            json!({"description": "Field sales"}),
        )
        .await;
    assert_eq!(json_of(described).await["description"], "Field sales");
    let custom = json_of(app.post("/roles", &admin, json!({"name": "Temp"})).await).await;
    let custom_id = custom["id"].as_str().unwrap();
    app.post("/users", &admin, json!({"email": "t@acme.test", "name": "T", "role_id": custom_id, "password": rivet_tests::PASSWORD}))
        .await;
    assert_problem(
        app.delete(&format!("/roles/{custom_id}"), &admin).await,
        409,
    )
    .await;
    let unused = json_of(app.post("/roles", &admin, json!({"name": "Unused"})).await).await;
    assert_eq!(
        app.delete(
            &format!("/roles/{}", unused["id"].as_str().unwrap()),
            &admin
        )
        .await
        .status(),
        204
    );
    let duplicate = app.post("/roles", &admin, json!({"name": "Temp"})).await;
    let problem = assert_problem(duplicate, 409).await;
    assert_eq!(problem["errors"][0]["field"], "name");
    // An admin cannot remove their own role's right to change roles.
    let admin_role = app.role_id(&admin, "admin").await;
    let lockout = app
        .put(
            &format!("/roles/{admin_role}/permissions"),
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert_problem(lockout, 422).await;
}

both!(
    each_builtin_role_can_call_exactly_what_its_grants_allow,
    the_first_admin_administers_the_installation_but_other_company_admins_do_not,
    a_manager_sees_the_members_of_their_team_only,
    a_custom_role_grants_exactly_what_it_lists,
    built_in_roles_cannot_be_deleted_or_renamed_and_used_roles_cannot_be_deleted,
);
