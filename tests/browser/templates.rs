//! The e-mail template editor in the browser: an admin writes a template on the page, saves it,
//! previews it for a lead and sees the lead's name in the rendered subject and text body; a
//! template that uses an unknown variable is refused with the line next to its field.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::serde_json::json;
use rivet_tests::{TestApp, json_of};

async fn text_of(page: &Page<'_>, css: &str) -> Result<String> {
    Ok(page
        .client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("{css} on the page"))?
        .text()
        .await?)
}

pub(super) async fn template_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let lead = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await,
    )
    .await;
    let lead_id = lead["id"].as_str().context("the lead's id")?.to_owned();

    sign_in_at(page, "/email-templates").await?;
    page.expect_text("No e-mail templates yet.").await?;
    page.goto("/email-templates/new").await?;
    page.fill("et-name", "First touch").await?;
    page.fill("et-subject", "Hello {{ lead.first_name }}")
        .await?;
    page.fill(
        "et-text",
        "Dear {{ lead.first_name }},\n{{ lead.nickname }}",
    )
    .await?;
    page.click_button("Create template").await?;
    page.expect_text("line 2: unknown variable lead.nickname")
        .await?;

    page.fill(
        "et-text",
        "Dear {{ lead.first_name }} {{ lead.last_name }},\nwelcome.",
    )
    .await?;
    page.click_button("Create template").await?;
    page.expect_text("Created the template First touch").await?;

    // The preview offers the newest leads to pick from, by name.
    let offered = page
        .client
        .find(Locator::Css(&format!(
            "#et-records option[value='{lead_id}']"
        )))
        .await
        .context("the lead among the records to preview for")?
        .prop("text")
        .await?
        .unwrap_or_default();
    ensure!(offered == "Ada Lovelace", "offered: {offered}");
    page.fill("et-record_id", &lead_id).await?;
    page.click_button("Preview").await?;
    let subject = text_of(page, "[data-preview-subject]").await?;
    ensure!(subject == "Hello Ada", "subject: {subject}");
    let text = text_of(page, "[data-preview-text]").await?;
    ensure!(text.contains("Dear Ada Lovelace,"), "text: {text}");
    page.shot("the preview").await?;

    page.goto("/email-templates").await?;
    page.expect_text("First touch").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_admin_writes_a_template_and_previews_it_for_a_lead() {
    super::journey_on_both(super::Journey::Templates).await;
}
