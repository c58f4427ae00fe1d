//! E-mail in the browser (issue 15 §1): an administrator sets up the company's SMTP server on
//! the e-mail settings page, presses "Send a test e-mail" and reads the server's reply; then a
//! one-off e-mail sent from a lead's page reaches the server and shows on the lead's timeline
//! with its Message-ID. The server is a real SMTP sink the test starts.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::smtp::{Mode, SmtpSink};
use rivet_tests::{TestApp, json_of};
use serde_json::json;

pub(super) async fn email_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let sink = SmtpSink::start(Mode::Accept).await;
    sign_in_at(page, "/settings/email").await?;
    page.expect_text("E-mail settings").await?;
    page.client
        .find(Locator::Id("email-enabled"))
        .await
        .context("the enabled box")?
        .click()
        .await?;
    page.fill("email-host", "127.0.0.1").await?;
    page.fill("email-port", &sink.port.to_string()).await?;
    page.client
        .find(Locator::Id("email-tls"))
        .await
        .context("the encryption select")?
        .select_by_value("none")
        .await?;
    page.client
        .find(Locator::Id("email-allow_plaintext"))
        .await
        .context("the plaintext box")?
        .click()
        .await?;
    page.fill("email-username", "sales@acme.test").await?;
    page.fill("email-password", "page-secret-1").await?;
    page.fill("email-from_name", "Acme Sales").await?;
    page.fill("email-from_address", "sales@acme.test").await?;
    page.click_button("Save e-mail settings").await?;
    page.expect_text("Saved the e-mail settings.").await?;
    page.expect_text("A password is stored").await?;

    page.fill("email-test-to", "tester@example.com").await?;
    page.click_button("Send a test e-mail").await?;
    page.expect_text("Test e-mail sent to tester@example.com")
        .await?;
    page.expect_text("The server replied: 250").await?;
    let got = sink.wait_for(1).await;
    ensure!(got[0].to == ["tester@example.com"], "{:?}", got[0].to);
    ensure!(got[0].password.as_deref() == Some("page-secret-1"));
    page.shot("a test e-mail sent").await?;

    // A one-off e-mail from a lead's page.
    let api = app.admin().await;
    let lead = json_of(
        app.post(
            "/leads",
            &api,
            json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
        )
        .await,
    )
    .await;
    let id = lead["id"].as_str().context("the lead's id")?.to_owned();
    page.goto(&format!("/leads/{id}")).await?;
    page.client
        .find(Locator::Css("#send-email > summary"))
        .await
        .context("the send e-mail summary")?
        .click()
        .await?;
    page.fill("em-subject", "Hello from the page").await?;
    page.fill("em-text", "Shall we talk on Monday?").await?;
    page.click_button("Send e-mail").await?;
    page.expect_text("E-mail sent to ann@example.com.").await?;
    page.expect_text("Hello from the page").await?;
    page.expect_text("Message-ID <").await?;
    let got = sink.wait_for(2).await;
    ensure!(got[1].to == ["ann@example.com"], "{:?}", got[1].to);
    page.shot("an e-mail on the timeline").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn email_is_set_up_tested_and_sent_from_a_lead_page() {
    super::journey_on_both(super::Journey::Email).await;
}
