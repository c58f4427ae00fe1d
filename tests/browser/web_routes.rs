//! Every page and form action of the web UI declares the permission it needs
//! (`rivet_server::web::route_list`, the list the router is built from), the public ones are
//! exactly the listed ones, and each built-in role signed in with a cookie session is refused
//! (403) exactly the pages and actions its grants do not allow — walked over HTTP on SQLite and
//! PostgreSQL.

use super::{get_page, post_form, web_sign_in};
use reqwest::Method;
use rivet_domain::BuiltinRole;
use rivet_server::http::router::Access;
use rivet_tests::{Db, PASSWORD, json_of, spawn_app};

#[test]
fn every_web_route_declares_a_permission_and_public_pages_are_listed() {
    let routes = rivet_server::web::route_list();
    assert!(routes.len() > 80, "{} web routes", routes.len());
    let mut public: Vec<String> = routes
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /assets/web/{file}",
            "GET /f/{key}",
            "GET /f/{key}/embed",
            "GET /forgot-password",
            "GET /invite/{token}",
            "GET /login",
            "GET /reset-password/{token}",
            "GET /t/c/{token}",
            "GET /t/o/{token}",
            "GET /t/u/{token}",
            "POST /f/{key}",
            "POST /forgot-password",
            "POST /invite/{token}",
            "POST /login",
            "POST /logout",
            "POST /reset-password/{token}",
            "POST /t/u/{token}",
        ],
        "public pages must be exactly the listed ones"
    );
    let mut seen = std::collections::HashSet::new();
    for route in &routes {
        assert!(
            seen.insert((route.method.clone(), route.path.clone())),
            "{} {} declared twice",
            route.method,
            route.path
        );
    }
}

/// A path of the list with its parameters filled: a record kind, or an id nobody has.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| match s {
            "{record}" => "lead".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::now_v7().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn each_role_is_refused_exactly_the_pages_its_grants_do_not_allow(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let routes = rivet_server::web::route_list();
    for role in BuiltinRole::ALL {
        let member = app.member(&admin, role.as_str()).await;
        let me = json_of(app.get("/me", &member).await).await;
        let email = me["user"]["email"].as_str().unwrap().to_owned();
        let (client, csrf) = web_sign_in(&app, &email, PASSWORD).await;
        let grants = role.default_permissions();
        for route in &routes {
            let allowed = match route.access {
                // Signing out would end the session the walk runs on.
                Access::Public => continue,
                Access::Authenticated => true,
                Access::Allow(r, a) => grants.allows(r, a),
                Access::AnyOf(pairs) => pairs.iter().any(|&(r, a)| grants.allows(r, a)),
                // Members made here are not installation administrators.
                Access::SystemAdmin(_, _) => false,
            };
            let path = concrete(&route.path);
            let response = if route.method == Method::GET {
                get_page(&app, &client, &path).await
            } else {
                let fields = [
                    ("csrf_token", csrf.as_str()),
                    ("kind", "note"),
                    ("body", "x"),
                ];
                post_form(&app, &client, &path, &fields).await
            };
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

rivet_tests::both!(each_role_is_refused_exactly_the_web_pages_its_grants_do_not_allow => each_role_is_refused_exactly_the_pages_its_grants_do_not_allow);
