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

/// Administration › Duplicate rules over HTTP: the page shows the company's rules and saves
/// what its table says, in its order, as `PUT /api/v1/duplicates/settings` would.
async fn the_duplicate_rules_page_saves_the_companys_rules(db: rivet_tests::Db) {
    use super::{get_page, post_form, web_sign_in};
    let app = rivet_tests::spawn_app(db).await;
    let (client, csrf) =
        web_sign_in(&app, rivet_tests::ADMIN_EMAIL, rivet_tests::ADMIN_PASSWORD).await;
    let page = get_page(&app, &client, "/admin/duplicate-rules").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Same e-mail address"), "{html}");

    let response = post_form(
        &app,
        &client,
        "/admin/duplicate-rules",
        &[
            ("csrf_token", &csrf),
            ("on_exact_phone", "on"),
            ("action_exact_phone", "block"),
            ("leads_exact_phone", "on"),
            ("position_exact_phone", "1"),
            ("on_domain_and_name", "on"),
            ("action_domain_and_name", "warn"),
            ("threshold_domain_and_name", "0.85"),
            ("leads_domain_and_name", "on"),
            ("contacts_domain_and_name", "on"),
            ("position_domain_and_name", "2"),
            ("default_country", "gb"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let admin = app.admin().await;
    let saved = json_of(app.get("/duplicates/settings", &admin).await).await;
    assert_eq!(
        saved,
        serde_json::json!({"default_country": "GB", "rules": [
            {"kind": "exact_phone", "action": "block", "against": ["leads"]},
            {"kind": "domain_and_name", "action": "warn", "threshold": 0.85,
             "against": ["leads", "contacts"]},
        ]})
    );
    // A bad threshold or country: the page again, nothing saved.
    for (field, value) in [
        ("threshold_domain_and_name", "high"),
        ("default_country", "XX"),
    ] {
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("on_domain_and_name", "on"),
            ("leads_domain_and_name", "on"),
        ];
        fields.push((field, value));
        let response = post_form(&app, &client, "/admin/duplicate-rules", &fields).await;
        assert_eq!(response.status(), 422, "{field}");
    }
    assert_eq!(
        json_of(app.get("/duplicates/settings", &admin).await).await,
        saved
    );
}

rivet_tests::both!(the_duplicate_rules_page_saves_the_companys_rules);
