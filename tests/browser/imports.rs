//! The import wizard end to end in the browser: from the leads list's "Import" link, a CSV file
//! is uploaded, its columns are found mapped by the suggestion (one changed by hand), the dry
//! run lists the bad row, the run's progress bar fills live to "completed", and the summary
//! links the imported leads' file and the error file.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_server::worker::{self, WorkerOptions};
use rivet_tests::TestApp;
use std::time::Duration;

pub(super) async fn import_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    // A worker runs the import's job, as `rivet serve` does.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let options = WorkerOptions {
        id: "browser-imports".into(),
        concurrency: 1,
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(100),
        backoff_base: chrono::Duration::milliseconds(100),
        shutdown_grace: Duration::from_secs(1),
    };
    let _worker = worker::spawn_with(app.state.clone(), options, rx);
    let result = steps(page).await;
    let _ = stop.send(true);
    result
}

/// Mark the document, so that [`Page::wait_for_new_page`] waits for the next one.
async fn mark(page: &Page<'_>) -> Result<()> {
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    Ok(())
}

async fn steps(page: &Page<'_>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("expo-leads.csv");
    std::fs::write(
        &file,
        "E-mail,First Name,Surname,Company\n\
         ada@example.com,Ada,Lovelace,Analytical\n\
         not-an-email,Bad,Row,Nowhere\n\
         grace@example.com,Grace,Hopper,Navy\n",
    )?;
    sign_in_at(page, "/leads").await?;
    mark(page).await?;
    page.client
        .find(Locator::LinkText("Import"))
        .await
        .context("the Import link on the leads list")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == "/imports?entity=leads",
        "on {}",
        page.path().await?
    );
    page.client
        .find(Locator::Id("import-file"))
        .await?
        .send_keys(&file.display().to_string())
        .await?;
    mark(page).await?;
    page.client
        .find(Locator::XPath("//button[normalize-space(.)='Upload']"))
        .await?
        .click()
        .await?;
    page.wait_for_new_page()
        .await
        .context("the import's page after the upload")?;
    let path = page.path().await?;
    ensure!(path.starts_with("/imports/"), "after the upload: {path}");
    page.shot("mapping").await?;

    // The suggested mapping is preset; "Surname" is mapped by hand.
    let selected = |css: &'static str| async move {
        page.client
            .find(Locator::Css(css))
            .await?
            .prop("value")
            .await
            .map(|v| v.unwrap_or_default())
            .map_err(anyhow::Error::from)
    };
    ensure!(selected("#map-0").await? == "email", "E-mail is email");
    ensure!(selected("#map-1").await? == "first_name", "First Name");
    ensure!(selected("#map-3").await? == "company_name", "Company");
    page.choose("#map-2", "last_name").await?;
    page.expect_text("Analytical").await?;

    page.click_button("3. Validate").await?;
    page.expect_text("2 of 3 rows are valid; 1 row has errors.")
        .await?;
    ensure!(
        selected("#map-2").await? == "last_name",
        "the hand-made mapping is kept"
    );

    page.click_button("4. Run import").await?;
    page.expect_text("The import is running.").await?;
    // The bar fills and the page ends on the summary, without reloading by hand.
    let summary = page
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-import-summary]:not([hidden])"))
        .await
        .context("the summary after the run")?;
    ensure!(summary.is_displayed().await?, "the summary shows");
    page.expect_text("completed").await?;
    page.expect_text("3 of 3 rows · 2 created · 0 updated · 0 skipped · 1 failed")
        .await?;
    let bar = page
        .client
        .find(Locator::Css("[data-import-bar]"))
        .await?
        .attr("value")
        .await?;
    ensure!(bar.as_deref() == Some("100"), "the bar is full: {bar:?}");
    page.shot("summary").await?;
    page.client
        .find(Locator::Css(
            "a[data-import-errors-link][href$='/errors.csv']",
        ))
        .await
        .context("the error file link")?;
    let records = page
        .client
        .find(Locator::Css("a[data-import-records-link]"))
        .await
        .context("the imported records' link")?
        .attr("href")
        .await?
        .unwrap_or_default();
    ensure!(
        records.starts_with("/api/v1/leads/export?import_id="),
        "records link: {records}"
    );
    page.goto("/leads").await?;
    page.expect_text("Lovelace").await?;
    page.expect_text("Hopper").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_import_wizard_uploads_maps_validates_and_runs_a_file_with_live_progress() {
    super::journey_on_both(super::Journey::Imports).await;
}
