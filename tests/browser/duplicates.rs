//! Duplicate warnings in the browser: typing an e-mail address into the new-lead form that
//! matches an existing lead (once normalized: case, Gmail dots and `+tags`) shows that lead,
//! linked, above the form before saving; saving is not held up, and the new lead's page lists
//! the same possible duplicate.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::json;
use std::time::Duration;

pub(super) async fn duplicate_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let ada = json_of(
        app.post(
            "/leads",
            &api,
            json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@gmail.com"}),
        )
        .await,
    )
    .await;
    let ada_id = ada["id"].as_str().context("the lead's id")?.to_owned();

    sign_in_at(page, "/leads/new").await?;
    page.fill("lead-last_name", "Byron").await?;
    page.fill("lead-email", "AdaLovelace+crm@gmail.com").await?;
    let link = page
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#lead-duplicates a"))
        .await
        .context("the duplicate warning's link")?;
    let href = link.attr("href").await?.unwrap_or_default();
    ensure!(href.ends_with(&format!("/leads/{ada_id}")), "link: {href}");
    ensure!(link.text().await? == "Ada Lovelace", "link text");
    page.expect_text("Possible duplicates").await?;
    page.expect_text("the same e-mail address").await?;
    page.shot("the duplicate warning").await?;

    // Saving is not held up, and the lead's page names the duplicate.
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Byron.").await?;
    page.expect_text("Possible duplicates").await?;
    page.expect_text("lead with the same e-mail").await?;
    page.client
        .find(Locator::Css(&format!("a[href='/leads/{ada_id}']")))
        .await
        .context("the link to the duplicate on the lead's page")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_lead_form_warns_of_a_duplicate_as_the_email_is_typed() {
    super::journey_on_both(super::Journey::Duplicates).await;
}
