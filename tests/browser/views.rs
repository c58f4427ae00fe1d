//! Saved views in the browser: the leads list filtered and saved as a view, the plain list
//! opened again, the view's link brings the filter back (highlighted); a view saved as the
//! default applies when the list opens without a query, "All" still shows everything, and the
//! current view can be deleted.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::json;

/// The lead names in the list's table.
async fn rows(page: &Page<'_>) -> Result<String> {
    Ok(page
        .client
        .find(Locator::Css("table.leads-table tbody"))
        .await
        .context("the leads table")?
        .text()
        .await?)
}

/// Follow a link and wait for the page it opens.
async fn click_link(page: &Page<'_>, css: &str) -> Result<()> {
    let here = page.path().await?;
    let link = page
        .client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("link {css} on {here}"))?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    link.click().await?;
    page.wait_for_new_page()
        .await
        .with_context(|| format!("no new page after following {css}"))?;
    page.shot(&format!("after {css}")).await
}

async fn save_view(page: &Page<'_>, name: &str, default: bool) -> Result<()> {
    page.client
        .find(Locator::Css("details.views-save summary"))
        .await
        .context("the save-view toggle")?
        .click()
        .await?;
    page.fill("views-name", name).await?;
    if default {
        page.client
            .find(Locator::Id("views-is_default"))
            .await?
            .click()
            .await?;
    }
    page.click_button("Save view").await?;
    page.expect_text(&format!("Saved the view “{name}”.")).await
}

pub(super) async fn views_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    // Statuses are set freely here (no qualification gates).
    let free = json!({"gates": []});
    ensure!(
        app.put("/qualification/settings", &admin, free)
            .await
            .status()
            == 200
    );
    for (name, status) in [
        ("Alpha", "new"),
        ("Beta", "qualified"),
        ("Gamma", "qualified"),
    ] {
        let response = app
            .post(
                "/leads",
                &admin,
                json!({"last_name": name, "status": status}),
            )
            .await;
        ensure!(response.status() == 201, "create {name}");
    }

    sign_in_at(page, "/leads").await?;
    let all = rows(page).await?;
    ensure!(
        all.contains("Alpha") && all.contains("Beta"),
        "everything at first: {all}"
    );

    // Filter, then save the filter as a view.
    page.choose("#leads-status", "Qualified").await?;
    page.click_button("Filter").await?;
    save_view(page, "Qualified leads", false).await?;
    let shown = rows(page).await?;
    ensure!(
        shown.contains("Beta") && shown.contains("Gamma") && !shown.contains("Alpha"),
        "the saved view shows the filtered rows: {shown}"
    );
    let saved = json_of(app.get("/views?resource=leads", &admin).await).await;
    ensure!(
        saved["data"][0]["name"] == "Qualified leads"
            && saved["data"][0]["query"] == "status=qualified",
        "saved through the same rules as the API: {saved}"
    );

    // The plain list again, then the view's link.
    page.goto("/leads").await?;
    let all = rows(page).await?;
    ensure!(all.contains("Alpha"), "the plain list: {all}");
    click_link(page, "nav[aria-label='Saved views'] a[data-view]").await?;
    let shown = rows(page).await?;
    ensure!(
        shown.contains("Beta") && shown.contains("Gamma") && !shown.contains("Alpha"),
        "the view's rows: {shown}"
    );
    let current = page
        .client
        .find(Locator::Css(
            "nav[aria-label='Saved views'] a[aria-current='page']",
        ))
        .await
        .context("the current view is marked")?
        .text()
        .await?;
    ensure!(current == "Qualified leads", "highlighted: {current:?}");
    let status = page
        .client
        .find(Locator::Id("leads-status"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        status.as_deref() == Some("qualified"),
        "the filter bar shows the view's filter: {status:?}"
    );

    // A default view applies when the list opens without a query; "All" shows everything.
    page.choose("#leads-status", "New").await?;
    page.click_button("Filter").await?;
    save_view(page, "New ones", true).await?;
    page.goto("/leads").await?;
    let shown = rows(page).await?;
    ensure!(
        shown.contains("Alpha") && !shown.contains("Beta"),
        "the default view: {shown}"
    );
    click_link(
        page,
        "nav[aria-label='Saved views'] a[href='/leads?view=all']",
    )
    .await?;
    let all = rows(page).await?;
    ensure!(
        all.contains("Alpha") && all.contains("Beta") && all.contains("Gamma"),
        "all leads: {all}"
    );

    // Delete the default view from its page: the list opens whole again.
    page.goto("/leads").await?;
    page.click_button("Delete view").await?;
    page.expect_text("Deleted the view “New ones”.").await?;
    page.goto("/leads").await?;
    let all = rows(page).await?;
    ensure!(
        all.contains("Alpha") && all.contains("Beta"),
        "no default any more: {all}"
    );
    let left = json_of(app.get("/views?resource=leads", &admin).await).await;
    ensure!(
        left["data"].as_array().map(Vec::len) == Some(1),
        "one view left: {left}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_filtered_leads_list_saved_as_a_view_comes_back_from_its_link() {
    super::journey_on_both(super::Journey::Views).await;
}
