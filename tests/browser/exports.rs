//! The export buttons of the list pages, over plain HTTP with the session cookie: each list's
//! "Export CSV" and "Export Excel" links carry what the page shows (its filters, its sort, the
//! tasks' tab as the API's shortcut), and the CSV they download holds exactly the page's rows.

use super::{get_page, web_sign_in};
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, TestApp, spawn_app};
use serde_json::json;

/// The href of the header link labelled `label` on `html`, unescaped.
fn link(html: &str, label: &str) -> String {
    let end = html
        .find(&format!("\">{label}</a>"))
        .unwrap_or_else(|| panic!("no {label} link in {html}"));
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    html[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

/// The column `name` of the CSV file at `href`.
async fn csv_column(
    app: &TestApp,
    client: &reqwest::Client,
    href: &str,
    name: &str,
) -> Vec<String> {
    let response = get_page(app, client, href).await;
    assert_eq!(response.status(), 200, "{href}");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name} column at {href}"));
    reader
        .records()
        .map(|r| r.unwrap()[at].to_owned())
        .collect()
}

async fn export_links_download_what_the_list_shows(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let rep = app.member(&api_admin, "sales").await;
    for body in [
        json!({"subject": "Mine, open"}),
        json!({"subject": "Mine, done", "status": "completed"}),
        json!({"subject": "The rep's", "assignee_id": rep.user_id}),
    ] {
        assert_eq!(app.post("/tasks", &api_admin, body).await.status(), 201);
    }
    for body in [
        json!({"last_name": "Newer", "status": "new"}),
        json!({"last_name": "Older", "status": "new"}),
        json!({"last_name": "Won", "status": "qualified"}),
    ] {
        assert_eq!(app.post("/leads", &api_admin, body).await.status(), 201);
    }
    let (admin, _) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // The tasks' "My tasks" tab: the API's `mine` shortcut, open tasks only.
    let page = get_page(&app, &admin, "/tasks?tab=mine")
        .await
        .text()
        .await
        .unwrap();
    let href = link(&page, "Export CSV");
    assert!(
        href.starts_with("/api/v1/tasks/export?format=csv&"),
        "{href}"
    );
    let subjects = csv_column(&app, &admin, &href, "subject").await;
    assert_eq!(subjects, ["Mine, open"], "{href}");

    // The leads list filtered and sorted: the same rows in the same order.
    let page = get_page(&app, &admin, "/leads?status=new&sort=last_name")
        .await
        .text()
        .await
        .unwrap();
    let href = link(&page, "Export CSV");
    let names = csv_column(&app, &admin, &href, "last_name").await;
    assert_eq!(names, ["Newer", "Older"], "{href}");
    let excel = link(&page, "Export Excel");
    assert!(
        excel.contains("format=xlsx") && excel.contains("status=new"),
        "{excel}"
    );
    let file = get_page(&app, &admin, &excel).await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"PK"));
}

rivet_tests::both!(export_links_download_what_the_list_shows);
