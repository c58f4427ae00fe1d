//! The web form builder in the browser: its preview follows the builder as an admin ticks
//! fields, relabels them and writes a consent line, before anything is saved; saving shows the
//! snippet to embed; and a visitor who fills in the form's own page becomes a lead.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};

/// Whether the preview shows the field `name`.
async fn shown(page: &Page<'_>, name: &str) -> Result<bool> {
    Ok(page
        .client
        .find(Locator::Css(&format!("[data-preview-field='{name}']")))
        .await
        .with_context(|| format!("the preview of {name}"))?
        .is_displayed()
        .await?)
}

async fn preview_text(page: &Page<'_>) -> Result<String> {
    Ok(page
        .client
        .find(Locator::Css("[data-form-preview]"))
        .await?
        .text()
        .await?)
}

pub(super) async fn lead_form_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/admin/lead-forms/new").await?;
    ensure!(shown(page, "email").await?, "e-mail is on a new form");
    ensure!(!shown(page, "phone").await?, "phone is not");

    // The preview follows the builder before anything is saved.
    page.fill("lf-name", "Talk to sales").await?;
    page.client
        .find(Locator::Id("show-phone"))
        .await?
        .click()
        .await?;
    page.client
        .find(Locator::Css("input[name='label_phone']"))
        .await?
        .send_keys("Direct line")
        .await?;
    page.fill("lf-consent_text", "You may call me about Rivet.")
        .await?;
    ensure!(
        shown(page, "phone").await?,
        "the ticked phone shows in the preview"
    );
    let preview = preview_text(page).await?;
    ensure!(preview.contains("Talk to sales"), "preview: {preview}");
    ensure!(preview.contains("Direct line"), "preview: {preview}");
    ensure!(
        preview.contains("You may call me about Rivet."),
        "preview: {preview}"
    );
    page.shot("the live preview").await?;

    page.click_button("Create form").await?;
    page.expect_text("Created the form Talk to sales").await?;
    let snippet = page
        .client
        .find(Locator::Css("[data-embed-snippet]"))
        .await
        .context("the snippet to embed")?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(snippet.starts_with("<form"), "snippet: {snippet}");
    ensure!(snippet.contains("Direct line"), "snippet: {snippet}");
    let action = snippet
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the snippet's action")?
        .to_owned();
    let path = action
        .find("/f/")
        .map(|i| action[i..].to_owned())
        .context("the form's address")?;

    // A visitor fills in the form's own page.
    page.goto(&path).await?;
    page.fill("rivet-last_name", "Hopper").await?;
    page.fill("rivet-email", "grace@navy.test").await?;
    page.fill("rivet-phone", "+1 555 0100").await?;
    page.client
        .find(Locator::Css("input[name='consent']"))
        .await?
        .click()
        .await?;
    page.click_button("Send").await?;
    page.expect_text("Thank you").await?;
    let api = app.admin().await;
    let leads = json_of(app.get("/leads?q=Hopper", &api).await).await;
    let lead = &leads["data"][0];
    ensure!(lead["email"] == "grace@navy.test", "the lead: {leads}");
    ensure!(lead["source"] == "web form", "the lead: {leads}");
    ensure!(lead["phone"] == "+1 555 0100", "the lead: {leads}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_form_builder_previews_live_and_its_form_makes_leads() {
    super::journey_on_both(super::Journey::LeadForms).await;
}
