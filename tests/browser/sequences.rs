//! Sequences in the browser: an admin builds a sequence on its page (a step added, a wait
//! moved, a step removed), enrolls a lead from the lead's page, the runner runs, and the sent
//! e-mail is on the lead's timeline and counted on the sequence's page. From the leads list as
//! filtered, "Enroll list in sequence" enrolls the leads the filter lists (those without an
//! address skipped with the reason), and no others.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{Session, TestApp, json_of};

/// Click what `at` finds and wait for the page it leads to.
pub(super) async fn click(page: &Page<'_>, at: Locator<'_>) -> Result<()> {
    let element = page.client.find(at).await.context("the element to click")?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    element.click().await?;
    page.wait_for_new_page().await
}

/// E-mail through `sink` and the lead template "Intro" (`Hello {{ lead.first_name }}`).
async fn mail_and_template(app: &TestApp, admin: &Session, sink: &SmtpSink) -> Result<Value> {
    let response = app
        .put(
            "/settings/email",
            admin,
            json!({"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": "none",
                   "allow_plaintext": true, "from_address": "sales@acme.test"}),
        )
        .await;
    ensure!(response.status() == 200, "e-mail settings");
    Ok(json_of(
        app.post(
            "/email-templates",
            admin,
            json!({"name": "Intro", "record_type": "lead",
                   "subject": "Hello {{ lead.first_name }}", "text": "Hi {{ lead.first_name }}"}),
        )
        .await,
    )
    .await)
}

pub(super) async fn sequence_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    mail_and_template(app, &admin, &sink).await?;
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

pub(super) async fn enroll_list_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let sink = SmtpSink::start(Mode::Accept).await;
    let template = mail_and_template(app, &admin, &sink).await?;
    let sequence = json_of(
        app.post(
            "/sequences",
            &admin,
            json!({"name": "Webinar follow-up", "enrolls": "lead",
                   "steps": [{"type": "email", "template_id": template["id"]}]}),
        )
        .await,
    )
    .await;
    let sequence_id = sequence["id"]
        .as_str()
        .context("the sequence's id")?
        .to_owned();
    let mut new_with_email = Vec::new();
    for (first, email, status) in [
        ("Ada", Some("ada@example.com"), "new"),
        ("Alan", Some("alan@example.com"), "new"),
        ("Cy", None, "new"),
        ("Grace", Some("grace@example.com"), "contacted"),
    ] {
        let lead = json_of(
            app.post(
                "/leads",
                &admin,
                json!({"first_name": first, "last_name": "Tester", "email": email,
                       "status": status}),
            )
            .await,
        )
        .await;
        let id = lead["id"].as_str().context("a lead's id")?.to_owned();
        if email.is_some() && status == "new" {
            new_with_email.push(id);
        }
    }

    sign_in_at(page, "/leads?status=new").await?;
    click(page, Locator::LinkText("Enroll list in sequence")).await?;
    page.expect_text("as filtered").await?;
    page.expect_text("status=new").await?;
    page.choose("#enroll-sequence", "Webinar follow-up").await?;
    page.click_button("Enroll").await?;
    page.expect_text("Enrolled 2 in the sequence. Skipped 1: 1 no email.")
        .await?;
    let back = page.path().await?;
    ensure!(back.starts_with("/leads?"), "back on the list: {back}");

    // The two new leads with an address, not Cy (no address) nor Grace (not new).
    let page_of = json_of(
        app.get(&format!("/sequences/{sequence_id}/enrollments"), &admin)
            .await,
    )
    .await;
    let mut enrolled: Vec<String> = page_of["data"]
        .as_array()
        .context("the enrollments")?
        .iter()
        .filter_map(|e| e["record_id"].as_str().map(str::to_owned))
        .collect();
    enrolled.sort();
    new_with_email.sort();
    ensure!(
        enrolled == new_with_email,
        "enrolled {enrolled:?}, not {new_with_email:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn enroll_list_in_sequence_enrolls_what_the_filtered_list_shows() {
    super::journey_on_both(super::Journey::EnrollList).await;
}
