//! Administration › Assignment rules in Chromium: a rule refused for a missing name (the
//! message next to the field, nothing saved), two rules created through the form (a territory
//! rule for one member, a round robin over ticked members with a follow-up task), the second
//! moved above the first, the "test this rule" box naming the rule and the member, and an edit
//! that switches a rule off.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, TestApp, both, json_of, spawn_app};
use serde_json::{Value, json};

use super::custom_fields::post_form as post;

/// Over plain HTTP: a bad condition comes back next to its row with nothing saved, moving down,
/// the fallback owner, deleting, and a sales rep refused the page.
async fn the_rules_page_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    let rep = app.member(&api, "sales").await;
    let (admin, csrf) = super::web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = api.user_id.to_string();
    let response = post(
        &admin,
        &app,
        "/admin/assignment-rules",
        &csrf,
        &[
            ("name", "Big"),
            ("active", "true"),
            ("c0_op", ""),
            ("c1_op", "range"),
            ("c1_field", "city"),
            ("c1_gte", "5"),
            ("action_kind", "user"),
            ("action_user", &me),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="c1-c1_op-error""#), "{page}");
    assert!(rule_names(&app, &api).await.is_empty());
    for name in ["One", "Two"] {
        let response = post(
            &admin,
            &app,
            "/admin/assignment-rules",
            &csrf,
            &[
                ("name", name),
                ("active", "true"),
                ("c0_op", ""),
                ("action_kind", "user"),
                ("action_user", &me),
            ],
        )
        .await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
    }
    let rules = json_of(app.get("/assignment-rules", &api).await).await;
    let one = rules["data"][0]["id"].as_str().unwrap().to_owned();
    let response = post(
        &admin,
        &app,
        &format!("/admin/assignment-rules/{one}/move"),
        &csrf,
        &[("direction", "down")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(rule_names(&app, &api).await, ["Two", "One"]);
    let rep_id = rep.user_id.to_string();
    let response = post(
        &admin,
        &app,
        "/admin/assignment-rules/settings",
        &csrf,
        &[("fallback_owner_id", &rep_id)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let settings = json_of(app.get("/assignment-rules/settings", &api).await).await;
    assert_eq!(settings["fallback_owner_id"], json!(rep.user_id));
    let response = post(
        &admin,
        &app,
        &format!("/admin/assignment-rules/{one}/delete"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(rule_names(&app, &api).await, ["Two"]);
    let page = super::get_page(&app, &admin, "/admin/assignment-rules").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Assign to"));

    let rep_email = json_of(app.get(&format!("/users/{}", rep.user_id), &api).await).await;
    let (rep_client, _) =
        super::web_sign_in(&app, rep_email["email"].as_str().unwrap(), PASSWORD).await;
    let page = super::get_page(&app, &rep_client, "/admin/assignment-rules").await;
    assert_eq!(page.status(), 403);
}

both!(the_rules_page_over_http);

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
