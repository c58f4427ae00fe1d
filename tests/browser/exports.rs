//! The export buttons of the list pages, over plain HTTP with the session cookie: each list's
//! "Export CSV" and "Export Excel" links carry what the page shows (its filters, its sort, the
//! tasks' tab as the API's shortcut), and the CSV they download holds exactly the page's rows.
//! Then, in the browser, "Export in the background": the Exports page follows the job by
//! reloading itself until the file's link shows, and deletes it.

use super::{Page, get_page, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, TestApp, spawn_app};
use serde_json::json;
use std::time::Duration;

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
    // Statuses are set freely here (no qualification gates).
    let free = json!({"gates": []});
    assert_eq!(
        app.put("/qualification/settings", &api_admin, free)
            .await
            .status(),
        200
    );
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

pub(super) async fn background_export_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api_admin = app.admin().await;
    let free = json!({"gates": []});
    ensure!(
        app.put("/qualification/settings", &api_admin, free)
            .await
            .status()
            == 200
    );
    for body in [
        json!({"last_name": "Newer", "status": "new"}),
        json!({"last_name": "Won", "status": "qualified"}),
    ] {
        ensure!(app.post("/leads", &api_admin, body).await.status() == 201);
    }
    sign_in_at(page, "/leads").await?;
    page.goto("/leads?status=new").await?;
    page.choose("#background-export-format", "Excel").await?;
    page.click_button("Export in the background").await?;
    ensure!(
        page.path().await? == "/exports",
        "on {}",
        page.path().await?
    );
    page.expect_text("The export is being written").await?;
    page.expect_text("leads (xlsx)").await?;
    // A worker writes the file; the page reloads itself until its link shows.
    let workers = app.start_workers();
    let link = page
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("a[data-export-download]"))
        .await
        .context("the file's link once the export is written")?;
    drop(workers);
    let href = link.attr("href").await?.unwrap_or_default();
    ensure!(
        href.starts_with("/api/v1/exports/") && href.ends_with("/file"),
        "{href}"
    );
    page.expect_text("completed").await?;
    page.shot("exports").await?;
    // Delete it (the confirmation answered yes).
    page.client
        .execute(
            "window.confirm = function () { return true; }; return null;",
            vec![],
        )
        .await?;
    page.click_button("Delete").await?;
    page.expect_text("The export was deleted.").await?;
    page.expect_text("No exports yet.").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_list_exported_in_the_background_is_followed_and_downloaded_on_the_exports_page() {
    super::journey_on_both(super::Journey::BackgroundExport).await;
}
