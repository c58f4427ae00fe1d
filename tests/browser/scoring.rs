//! Lead scoring and qualification in the browser (issue 14 UI): a blocked qualification
//! transition explains itself on the lead page (each missing requirement, nothing changed); the
//! list's score badge opens the breakdown in a popover; the lead page explains its score; the
//! scoring page saves a rule's new points; the BANT and MEDDICC checklist says what is missing
//! and saves what the form fills in.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::json;
use std::time::Duration;

pub(super) async fn scoring_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let lead = json_of(
        app.post(
            "/leads",
            &api,
            json!({"first_name": "Sam", "last_name": "Sparse", "email": "sam@sparse-corp.io",
                   "title": "Buyer", "budget": "20k"}),
        )
        .await,
    )
    .await;
    let id = lead["id"].as_str().context("the lead's id")?.to_owned();
    let total = lead["total_score"].as_i64().context("a total score")?;
    ensure!(total < 60, "a thin lead scores low: {lead}");

    // A blocked move to qualified says what is missing, and changes nothing.
    sign_in_at(page, &format!("/leads/{id}")).await?;
    page.expect_text("Qualification").await?;
    page.client
        .find(Locator::Id("transition-to"))
        .await
        .context("the move-to select")?
        .select_by_value("qualified")
        .await?;
    page.click_button("Move").await?;
    page.expect_text("Not moved to qualified").await?;
    page.expect_text("authority must be filled in to move to qualified")
        .await?;
    page.expect_text(&format!(
        "total score must be at least 60 to move to qualified (it is {total})"
    ))
    .await?;
    let still = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    ensure!(still["status"] == "new", "nothing moved: {still}");
    page.shot("a blocked transition").await?;

    // The BANT and MEDDICC checklist: what is missing, and a form that fills it in.
    page.expect_text("not confirmed, no amount").await?;
    page.client
        .find(Locator::Css("#checklist-edit > summary"))
        .await
        .context("the checklist's edit summary")?
        .click()
        .await?;
    page.client
        .find(Locator::Id("cl-authority_status"))
        .await
        .context("the authority's status")?
        .select_by_value("confirmed")
        .await?;
    page.fill("cl-budget_amount", "20000").await?;
    page.fill("cl-budget_currency", "EUR").await?;
    page.click_button("Save the checklist").await?;
    page.expect_text("Saved the checklist.").await?;
    let checked = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    ensure!(
        checked["authority_status"] == "confirmed"
            && checked["budget_amount"] == "20000.00"
            && checked["bant_score"] == 35,
        "the checklist was saved: {checked}"
    );
    page.expect_text("20000.00 EUR").await?;
    page.shot("the checklist").await?;

    // The lead page explains its score.
    page.client
        .find(Locator::Css("#score > summary"))
        .await
        .context("the score's summary")?
        .click()
        .await?;
    page.expect_text("Job title known").await?;
    page.expect_text("No engagement yet").await?;

    // The list's badge opens the same breakdown in place.
    page.goto("/leads").await?;
    page.client
        .find(Locator::Css(&format!(
            "tr[data-lead-id='{id}'] [data-score-popover]"
        )))
        .await
        .context("the lead's score badge")?
        .click()
        .await?;
    let mut shown = String::new();
    for _ in 0..100 {
        if let Ok(pop) = page.client.find(Locator::Css(".score-popover")).await {
            shown = pop.text().await.unwrap_or_default();
            if shown.contains("Fit") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(
        shown.contains("Work e-mail") && shown.contains("Thresholds"),
        "the popover shows the breakdown: {shown:?}"
    );
    ensure!(page.path().await? == "/leads", "the popover keeps the list");
    page.shot("the score popover").await?;

    // The scoring page: a rule's points changed and saved.
    page.goto("/admin/scoring").await?;
    page.expect_text("Lead scoring").await?;
    page.fill("r0-r0_points", "30").await?;
    page.click_button("Save scoring").await?;
    page.expect_text("Scoring saved").await?;
    let settings = json_of(app.get("/scoring/settings", &api).await).await;
    ensure!(
        settings["settings"]["fit_rules"][0]["points"] == 30,
        "saved: {settings}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_blocked_qualification_explains_itself_and_a_score_explains_its_points() {
    super::journey_on_both(super::Journey::Scoring).await;
}
