//! Workflow rules in Chromium: the administration navigation links the rules; a rule built on
//! the page without a task subject comes back with the message next to the action's subject
//! and nothing saved; then "lead.created → create a task" is saved, a lead created through the
//! lead form gets the task (on "My tasks", with the workers running), and the rule's page shows
//! the run in its execution log. A rule edited on its page (the builder filled with it) gives
//! the next lead the edited task. Over plain HTTP: the builder for another record type offers
//! that record's fields and events, a schedule trigger is saved from the form, the edit form
//! shows the rule, offers the task assignee and the new owner from the members (round robin over
//! a team too), keeps what it does not show (on/off, the loop depth), and a
//! sales rep is refused the pages.

use super::custom_fields::post_form;
use super::sequences::click;
use super::{Page, get_page, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::serde_json::json;
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, TestApp, both, json_of, spawn_app};
use std::time::{Duration, Instant};

/// The edit form of the rule "Hand new leads to the rep" (a lead rule on `lead.created`) with
/// `rest`.
fn rep_rule<'a>(rest: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Hand new leads to the rep"),
        ("record_type", "lead"),
        ("event", "lead.created"),
    ];
    form.extend_from_slice(rest);
    form
}

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
    wait_for_task(page, "Call the new lead").await?;
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

/// Wait (up to 20 s) until "My tasks" lists `subject`.
async fn wait_for_task(page: &Page<'_>, subject: &str) -> Result<String> {
    let started = Instant::now();
    loop {
        page.goto("/tasks").await?;
        let text = page.main_text().await?;
        if text.contains(subject) {
            return Ok(text);
        }
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the rule's task {subject:?} on My tasks: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub(super) async fn workflow_edit_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let _workers = app.start_workers();
    let api = app.admin().await;
    let rule = json_of(
        app.post(
            "/workflows",
            &api,
            json!({
                "name": "Call new leads",
                "record_type": "lead",
                "trigger": {"kind": "event", "event": "lead.created"},
                "actions": [{"kind": "create_task", "subject": "Call the lead",
                             "due_in_business_days": 1}],
            }),
        )
        .await,
    )
    .await;
    let id = rule["id"].as_str().context("the rule's id")?.to_owned();

    sign_in_at(page, &format!("/workflows/{id}")).await?;
    click(page, Locator::LinkText("Edit")).await?;
    ensure!(
        page.path().await? == format!("/workflows/{id}/edit"),
        "on the edit page: {}",
        page.path().await?
    );
    page.expect_text("Edit workflow rule").await?;
    let subject = page
        .client
        .find(Locator::Id("a0-a0_subject"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        subject.as_deref() == Some("Call the lead"),
        "the form shows the rule's task: {subject:?}"
    );
    page.fill("a0-a0_subject", "E-mail the lead").await?;
    page.fill("a0-a0_days", "2").await?;
    page.click_button("Save rule").await?;
    page.expect_text("Saved the rule “Call new leads”.").await?;
    ensure!(
        page.path().await? == format!("/workflows/{id}"),
        "back on the rule: {}",
        page.path().await?
    );
    page.expect_text("create the task “E-mail the lead” due in 2 business days")
        .await?;

    // The next lead gets the edited task, not the old one.
    page.goto("/leads/new").await?;
    page.fill("lead-first_name", "Grace").await?;
    page.fill("lead-last_name", "Hopper").await?;
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Grace Hopper.").await?;
    let tasks = wait_for_task(page, "E-mail the lead").await?;
    ensure!(
        !tasks.contains("Call the lead"),
        "no task of the old rule: {tasks}"
    );
    page.shot("the edited rule's task").await?;
    let rules = json_of(app.get("/workflows", &api).await).await;
    ensure!(
        rules["data"].as_array().map(Vec::len) == Some(1),
        "edited in place, not copied: {rules}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_rule_edited_on_its_page_gives_the_next_lead_the_edited_task() {
    super::journey_on_both(super::Journey::WorkflowEdit).await;
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

    // The edit form shows the rule: its trigger, condition and both actions, in rows 0 and 1.
    let edit = format!("/workflows/{id}/edit");
    let html = get_page(&app, &admin, &edit).await.text().await.unwrap();
    assert!(html.contains("Edit workflow rule"), "{html}");
    assert!(html.contains(&format!(r#"action="{edit}""#)), "{html}");
    assert!(
        html.contains(r#"name="days" type="text" value="14""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="c0_gte" type="text" value="1000""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="a0_tag" type="text" value="quiet""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="a1_subject" type="text" value="Wake it up""#),
        "{html}"
    );

    // A rule with more actions than the builder's spare rows shows them all.
    let tags: Vec<_> = (1..=4)
        .map(|n| json!({"kind": "add_tag", "tag": format!("t{n}")}))
        .collect();
    let tagged = json_of(
        app.post(
            "/workflows",
            &api,
            json!({"name": "Four tags", "record_type": "lead",
                   "trigger": {"kind": "event", "event": "lead.created"}, "actions": tags}),
        )
        .await,
    )
    .await;
    let path = format!("/workflows/{}/edit", tagged["id"].as_str().unwrap());
    let html = get_page(&app, &admin, &path).await.text().await.unwrap();
    assert!(
        html.contains(r#"name="a3_tag" type="text" value="t4""#),
        "{html}"
    );

    // What the form does not show is kept: a task's assignee, on/off and the loop depth.
    let assigned = json_of(
        app.post(
            "/workflows",
            &api,
            json!({
                "name": "Hand new leads to the rep",
                "record_type": "lead",
                "active": false,
                "max_depth": 5,
                "trigger": {"kind": "event", "event": "lead.created"},
                "actions": [{"kind": "create_task", "subject": "Call", "due_in_business_days": 1,
                             "assignee": {"kind": "user", "user_id": rep.user_id}}],
            }),
        )
        .await,
    )
    .await;
    let assigned_id = assigned["id"].as_str().unwrap();
    let edit = format!("/workflows/{assigned_id}/edit");
    let html = get_page(&app, &admin, &edit).await.text().await.unwrap();
    assert!(html.contains(r#"name="a0_assignee""#), "{html}");
    let assignee = json!({"kind": "user", "user_id": rep.user_id}).to_string();
    // The rule saved from the form with the task assigned to `assignee` (the API's JSON).
    let save_assigned = |assignee: String| {
        let (admin, app, edit, csrf, api) = (&admin, &app, &edit, &csrf, &api);
        async move {
            let response = post_form(
                admin,
                app,
                edit,
                csrf,
                &[
                    ("name", "Hand new leads to the rep"),
                    ("record_type", "lead"),
                    ("trigger_kind", "event"),
                    ("event", "lead.created"),
                    ("a0_kind", "create_task"),
                    ("a0_subject", "Call today"),
                    ("a0_days", "0"),
                    ("a0_assignee", &assignee),
                ],
            )
            .await;
            assert_eq!(response.status(), 303, "{:?}", response.text().await);
            json_of(app.get(&format!("/workflows/{assigned_id}"), api).await).await
        }
    };
    let saved = save_assigned(assignee.clone()).await;
    assert_eq!(saved["actions"][0]["subject"], "Call today", "{saved}");
    assert_eq!(
        saved["actions"][0]["assignee"]["user_id"],
        json!(rep.user_id)
    );
    assert_eq!(saved["active"], false, "{saved}");
    assert_eq!(saved["max_depth"], 5, "{saved}");
    // The assignee is a choice: the rep is the one chosen; round robin over a team is saved.
    let team = json_of(app.post("/teams", &api, json!({"name": "Inside"})).await).await;
    let html = get_page(&app, &admin, &edit).await.text().await.unwrap();
    let escaped = assignee.replace('"', "&#34;");
    assert!(
        html.contains(&format!(r#"<option value="{escaped}" selected>"#)),
        "{html}"
    );
    assert!(html.contains("Round robin over the team Inside"), "{html}");
    let round_robin = json!({"kind": "round_robin", "team_id": team["id"]}).to_string();
    let saved = save_assigned(round_robin).await;
    assert_eq!(saved["actions"][0]["assignee"]["kind"], "round_robin");
    assert_eq!(saved["actions"][0]["assignee"]["team_id"], team["id"]);
    // A bad edit comes back next to its field, the rule unchanged.
    let response = post_form(
        &admin,
        &app,
        &edit,
        &csrf,
        &rep_rule(&[("a0_kind", "create_task"), ("a0_days", "1")]),
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="a0-a0_subject-error""#), "{html}");
    let saved = json_of(app.get(&format!("/workflows/{assigned_id}"), &api).await).await;
    assert_eq!(saved["actions"][0]["subject"], "Call today", "{saved}");

    // A new owner is picked from the members, as the task's assignee is.
    let rep_id = rep.user_id.to_string();
    let html = get_page(&app, &admin, &edit).await.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<option value="{rep_id}">"#)),
        "{html}"
    );
    let response = post_form(
        &admin,
        &app,
        &edit,
        &csrf,
        &rep_rule(&[
            ("trigger_kind", "event"),
            ("a0_kind", "assign_owner"),
            ("a0_owner", &rep_id),
        ]),
    )
    .await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let saved = json_of(app.get(&format!("/workflows/{assigned_id}"), &api).await).await;
    assert_eq!(saved["actions"][0]["kind"], "assign_owner", "{saved}");
    assert_eq!(
        saved["actions"][0]["user_id"],
        json!(rep.user_id),
        "{saved}"
    );
    let html = get_page(&app, &admin, &edit).await.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<option value="{rep_id}" selected>"#)),
        "{html}"
    );

    let email = json_of(app.get(&format!("/users/{}", rep.user_id), &api).await).await;
    let (rep_client, rep_csrf) =
        web_sign_in(&app, email["email"].as_str().unwrap(), PASSWORD).await;
    let response = post_form(&rep_client, &app, &edit, &rep_csrf, &[("name", "Mine now")]).await;
    assert_eq!(response.status(), 403);
    for path in [
        "/workflows",
        "/workflows/new",
        &format!("/workflows/{id}"),
        &edit,
    ] {
        let page = get_page(&app, &rep_client, path).await;
        assert_eq!(page.status(), 403, "{path}");
    }
}

both!(the_builder_over_http);
