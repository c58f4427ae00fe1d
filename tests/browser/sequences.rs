//! Sequences in the browser: an admin builds a sequence on its page (a step added, a wait
//! moved, a step removed), enrolls a lead from the lead's page, the runner runs, and the sent
//! e-mail is on the lead's timeline and counted on the sequence's page.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::serde_json::json;
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{TestApp, json_of};

/// Click what `at` finds and wait for the page it leads to.
pub(super) async fn click(page: &Page<'_>, at: Locator<'_>) -> Result<()> {
    let element = page.client.find(at).await.context("the element to click")?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    element.click().await?;
    page.wait_for_new_page().await
}

pub(super) async fn sequence_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let response = app
        .put(
            "/settings/email",
            &admin,
            json!({"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": "none",
                   "allow_plaintext": true, "from_address": "sales@acme.test"}),
        )
        .await;
    ensure!(response.status() == 200, "e-mail settings");
    json_of(
        app.post(
            "/email-templates",
            &admin,
            json!({"name": "Intro", "record_type": "lead",
                   "subject": "Hello {{ lead.first_name }}", "text": "Hi {{ lead.first_name }}"}),
        )
        .await,
    )
    .await;
    let lead = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}),
        )
        .await,
    )
    .await;
    let lead_id = lead["id"].as_str().context("the lead's id")?.to_owned();

    sign_in_at(page, "/sequences").await?;
    page.expect_text("No sequences yet.").await?;
    page.goto("/sequences/new").await?;
    page.fill("sq-name", "Welcome").await?;
    // Every day, all day, so the step is due whenever the test runs.
    for day in ["sat", "sun"] {
        page.client
            .find(Locator::Css(&format!("input[name='day_{day}']")))
            .await?
            .click()
            .await?;
    }
    page.fill("sq-start", "00:00").await?;
    page.fill("sq-end", "23:59").await?;
    page.choose("#sq-step-0", "Intro (lead)").await?;
    page.click_button("Add wait").await?;
    page.click_button("Add task").await?;
    // The wait goes first, then the task is removed.
    click(page, Locator::Css("button[value='up_1']")).await?;
    click(page, Locator::Css("button[value='remove_2']")).await?;
    page.expect_text("Wait business days").await?;
    page.click_button("Create sequence").await?;
    page.expect_text("Created the sequence Welcome").await?;
    // The wait is first: the e-mail waits a business day; move it back behind the e-mail.
    click(page, Locator::Css("button[value='down_0']")).await?;
    page.click_button("Save sequence").await?;
    page.expect_text("Saved the sequence.").await?;

    page.goto(&format!("/leads/{lead_id}")).await?;
    click(page, Locator::Id("enroll-in-sequence")).await?;
    page.click_button("Enroll").await?;
    page.expect_text("Enrolled in the sequence.").await?;

    rivet_server::sequences::run_due(&app.state, "browser", 10).await?;
    let got = sink.wait_for(1).await;
    ensure!(got[0].to == ["ada@example.com"], "{:?}", got[0].to);
    page.goto(&format!("/leads/{lead_id}")).await?;
    page.expect_text("Hello Ada").await?;
    page.shot("the sent step on the timeline").await?;

    page.goto("/sequences").await?;
    click(page, Locator::LinkText("Welcome")).await?;
    page.expect_text("1 sent").await?;
    page.expect_text("finished").await?;
    // The figures: the step's sent e-mail, the enrollment counted as finished.
    page.expect_text("Enrollments: 0 active, 0 paused, 1 finished, 0 stopped")
        .await?;
    let first = page
        .client
        .find(Locator::Css(
            "#step-stats tr[data-step='0'] td:nth-child(3)",
        ))
        .await?
        .text()
        .await?;
    ensure!(first == "1", "step 1 sent: {first}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_admin_builds_a_sequence_and_enrolls_a_lead() {
    super::journey_on_both(super::Journey::Sequences).await;
}
