//! Administration › Assignment rules in Chromium: a rule refused for a missing name (the
//! message next to the field, nothing saved), two rules created through the form (a territory
//! rule for one member, a round robin over ticked members with a follow-up task), the second
//! moved above the first, the "test this rule" box naming the rule and the member, and an edit
//! that switches a rule off.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use rivet_tests::{TestApp, json_of};
use serde_json::Value;

async fn rule_names(app: &TestApp, api: &rivet_tests::Session) -> Vec<String> {
    let page = json_of(app.get("/assignment-rules", api).await).await;
    page["data"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn assignment_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let rep = app.member(&api, "sales").await;
    let rep_row = json_of(app.get(&format!("/users/{}", rep.user_id), &api).await).await;
    let rep_label = format!(
        "{} ({})",
        rep_row["name"].as_str().context("rep name")?,
        rep_row["email"].as_str().context("rep e-mail")?
    );

    sign_in_at(page, "/admin/assignment-rules/new").await?;
    // No name: the message sits next to the field and nothing is saved.
    page.choose("#c0-c0_op", "territory").await?;
    page.fill("c0-c0_value", "DE, AT").await?;
    page.choose("#rule-action_user", &rep_label).await?;
    page.click_button("Create rule").await?;
    let error = page
        .client
        .find(fantoccini::Locator::Id("rule-name-error"))
        .await
        .context("the message next to the name")?
        .text()
        .await?;
    ensure!(error == "Name must not be empty", "message: {error}");
    ensure!(rule_names(app, &api).await.is_empty(), "nothing saved");

    page.fill("rule-name", "DACH").await?;
    page.click_button("Create rule").await?;
    page.expect_text("Saved the rule DACH.").await?;

    page.goto("/admin/assignment-rules/new").await?;
    page.fill("rule-name", "Web leads").await?;
    page.choose("#c0-c0_op", "source").await?;
    page.fill("c0-c0_value", "web, landing page").await?;
    page.choose("#rule-action_kind", "Round robin").await?;
    page.client
        .find(fantoccini::Locator::Id(&format!("rule-u_{}", rep.user_id)))
        .await
        .context("the rep's box")?
        .click()
        .await?;
    page.fill("rule-task_title", "Call back today").await?;
    page.click_button("Create rule").await?;
    page.expect_text("Saved the rule Web leads.").await?;
    page.expect_text("Round robin over").await?;
    ensure!(rule_names(app, &api).await == ["DACH", "Web leads"]);

    page.click_button("Move up Web leads").await?;
    page.expect_text("Moved the rule.").await?;
    ensure!(rule_names(app, &api).await == ["Web leads", "DACH"]);

    page.fill("test-t_country", "at").await?;
    page.click_button("Test").await?;
    let result = page
        .client
        .find(fantoccini::Locator::Id("test-result"))
        .await
        .context("the test's answer")?
        .text()
        .await?;
    ensure!(
        result == format!("The rule “DACH” matches: {rep_label}."),
        "test: {result}"
    );
    page.fill("test-t_source", "Web").await?;
    page.click_button("Test").await?;
    page.expect_text("The rule “Web leads” matches").await?;
    page.expect_text("round-robin turn 1").await?;
    page.expect_text("with the task “Call back today”").await?;

    // Switch DACH off: a German lead now matches nothing.
    let rules = json_of(app.get("/assignment-rules", &api).await).await;
    let dach = rules["data"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "DACH"))
        .and_then(|r| r["id"].as_str())
        .context("DACH's id")?
        .to_owned();
    page.goto(&format!("/admin/assignment-rules/{dach}"))
        .await?;
    page.client
        .find(fantoccini::Locator::Id("rule-active"))
        .await?
        .click()
        .await?;
    page.click_button("Save rule").await?;
    page.expect_text("Saved the rule DACH.").await?;
    page.fill("test-t_country", "DE").await?;
    page.click_button("Test").await?;
    page.expect_text("No rule matches and there is no fallback owner")
        .await?;
    let rule = json_of(app.get(&format!("/assignment-rules/{dach}"), &api).await).await;
    ensure!(rule["active"] == Value::Bool(false), "stored: {rule}");
    ensure!(
        rule["conditions"][0]["countries"] == serde_json::json!(["de", "at"]),
        "{rule}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn assignment_rules_are_created_ordered_and_tested_in_the_browser() {
    super::journey_on_both(super::Journey::Assignment).await;
}
