//! Workflow rules in Chromium: the administration navigation links the rules; a rule built on
//! the page without a task subject comes back with the message next to the action's subject
//! and nothing saved; then "lead.created → create a task" is saved, a lead created through the
//! lead form gets the task (on "My tasks", with the workers running), and the rule's page shows
//! the run in its execution log. Over plain HTTP: the builder for another record type offers
//! that record's fields and events, a schedule trigger is saved from the form, and a sales rep
//! is refused the pages.

use super::custom_fields::post_form;
use super::{Page, get_page, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, TestApp, both, json_of, spawn_app};
use std::time::{Duration, Instant};

async fn rule_names(app: &TestApp, api: &rivet_tests::Session) -> Vec<String> {
    let page = json_of(app.get("/workflows", api).await).await;
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

pub(super) async fn workflow_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let _workers = app.start_workers();
    let api = app.admin().await;
    sign_in_at(page, "/workflows/new").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Workflow rules"),
        "a Workflow rules link in the navigation: {nav}"
    );

    // No subject for the task: the message sits next to it and nothing is saved.
    page.fill("wf-name", "Call new leads").await?;
    page.choose("#wf-event", "lead.created").await?;
    page.choose("#a0-a0_kind", "create task").await?;
    page.click_button("Save rule").await?;
    let error = page
        .client
        .find(Locator::Id("a0-a0_subject-error"))
        .await
        .context("the message next to the task subject")?
        .text()
        .await?;
    ensure!(error.contains("Task subject"), "message: {error}");
    ensure!(rule_names(app, &api).await.is_empty(), "nothing saved");

    page.fill("a0-a0_subject", "Call the new lead").await?;
    page.fill("a0-a0_days", "1").await?;
    page.click_button("Save rule").await?;
    page.expect_text("Saved the rule “Call new leads”.").await?;
    let rule_path = page.path().await?;
    ensure!(
        rule_path.starts_with("/workflows/"),
        "on the rule: {rule_path}"
    );

    // A lead through the form: the rule gives its owner (the admin) the task.
    page.goto("/leads/new").await?;
    page.fill("lead-first_name", "Grace").await?;
    page.fill("lead-last_name", "Hopper").await?;
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Grace Hopper.").await?;
    let started = Instant::now();
    loop {
        page.goto("/tasks").await?;
        let text = page.main_text().await?;
        if text.contains("Call the new lead") {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the rule's task on My tasks: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    page.shot("the rule's task").await?;

    // The list shows the rule's last run; the rule's page its log.
    page.goto("/workflows").await?;
    let row = page
        .client
        .find(Locator::Css("table[data-workflows] tbody tr"))
        .await
        .context("the rule's row")?
        .text()
        .await?;
    ensure!(
        row.contains("Call new leads") && row.contains("lead.created") && row.contains("ok"),
        "row: {row}"
    );
    page.goto(&rule_path).await?;
    page.expect_text("Execution log").await?;
    let log = page
        .client
        .find(Locator::Css("table[data-runs]"))
        .await
        .context("the execution log")?
        .text()
        .await?;
    ensure!(
        log.contains("lead.created") && log.contains("ok") && log.contains("create_task: ok"),
        "log: {log}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_rule_built_on_the_page_gives_a_new_lead_its_task() {
    super::journey_on_both(super::Journey::Workflows).await;
}

/// Over plain HTTP: the builder per record type, a schedule trigger saved from the form, a bad
/// row's message in place, and a sales rep refused.
async fn the_builder_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    let rep = app.member(&api, "sales").await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let page = get_page(&app, &admin, "/workflows/new?record_type=deal").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<option value="deal.won""#), "deal events");
    assert!(
        !html.contains(r#"<option value="lead.created""#),
        "no lead events"
    );
    assert!(html.contains(r#"<option value="amount""#), "deal fields");

    // A bad condition row comes back next to its inputs, nothing saved.
    let response = post_form(
        &admin,
        &app,
        "/workflows/new",
        &csrf,
        &[
            ("name", "Quiet deals"),
            ("record_type", "deal"),
            ("trigger_kind", "no_activity"),
            ("days", "many"),
            ("c1_op", "equals"),
            ("a0_kind", "add_tag"),
            ("a0_tag", "quiet"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="wf-days-error""#), "{html}");
    assert!(html.contains(r#"id="c1-c1_field-error""#), "{html}");
    assert!(rule_names(&app, &api).await.is_empty());

    let response = post_form(
        &admin,
        &app,
        "/workflows/new",
        &csrf,
        &[
            ("name", "Quiet deals"),
            ("record_type", "deal"),
            ("trigger_kind", "no_activity"),
            ("days", "14"),
            ("c1_op", "range"),
            ("c1_field", "amount"),
            ("c1_gte", "1000"),
            ("a0_kind", "add_tag"),
            ("a0_tag", "quiet"),
            ("a2_kind", "create_task"),
            ("a2_subject", "Wake it up"),
            ("a2_hours", "4"),
            ("a2_escalate", "true"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let rules = json_of(app.get("/workflows", &api).await).await;
    let rule = &rules["data"][0];
    assert_eq!(rule["trigger"]["kind"], "no_activity", "{rule}");
    assert_eq!(rule["trigger"]["days"], 14);
    assert_eq!(rule["conditions"][0]["field"], "amount");
    assert_eq!(rule["actions"][1]["due_in_business_hours"], 4);
    assert_eq!(rule["actions"][1]["escalate_to_manager"], true);
    let id = rule["id"].as_str().unwrap();
    let page = get_page(&app, &admin, &format!("/workflows/{id}")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("no activity for 14 days"), "{html}");
    assert!(html.contains("told to the manager when overdue"), "{html}");

    let email = json_of(app.get(&format!("/users/{}", rep.user_id), &api).await).await;
    let (rep_client, _) = web_sign_in(&app, email["email"].as_str().unwrap(), PASSWORD).await;
    for path in ["/workflows", "/workflows/new", &format!("/workflows/{id}")] {
        let page = get_page(&app, &rep_client, path).await;
        assert_eq!(page.status(), 403, "{path}");
    }
}

both!(the_builder_over_http);
