//! The webhooks page, in Chromium: an administrator finds it in the navigation, is told next to
//! the field that a URL is bad, creates a webhook pointing at a real receiver started here, copies
//! the secret shown once, sends a test event and sees it delivered in the log (and the receiver
//! checks its signature with that secret), turns the webhook off, edits and deletes it. Over
//! plain HTTP: bad input is a 422 next to its field and writes nothing, and roles without the
//! webhooks grant are refused the page.

use super::{Driver, Page, get_page, post_form, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_server::dispatcher::{self, DispatchOptions};
use rivet_tests::receiver::{Behaviour, Receiver};
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, TestApp, json_of, spawn_app_with};
use std::time::Duration;

fn options() -> DispatchOptions {
    DispatchOptions {
        id: "browser-test".into(),
        poll_interval: Duration::from_millis(20),
        coalesce: Duration::from_millis(5),
        batch: 100,
        send_batch: 16,
        lease: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
        retry_base: Duration::from_millis(100),
        allow_private: true,
    }
}

async fn webhook_steps(app: &TestApp, page: &Page<'_>, receiver: &Receiver) -> Result<()> {
    sign_in_at(page, "/admin/webhooks").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(nav.contains("Webhooks"), "admin navigation: {nav}");

    // A bad URL comes back next to its field.
    page.fill("webhook-url", "ftp://example.com/hook").await?;
    page.fill("webhook-event_types", "*").await?;
    page.click_button("Create webhook").await?;
    let error = page
        .client
        .find(Locator::Id("webhook-url-error"))
        .await
        .context("the message next to the URL")?
        .text()
        .await?;
    ensure!(error.contains("http or https"), "URL error: {error}");

    // Created: the secret is shown once.
    page.fill("webhook-url", &receiver.url("/hook")).await?;
    page.fill("webhook-event_types", "lead.created, webhook.test")
        .await?;
    page.click_button("Create webhook").await?;
    let text = page.main_text().await?;
    ensure!(
        text.contains("webhook.test") || text.contains("is not an event type"),
        "an unknown type is refused: {text}"
    );
    page.fill("webhook-url", &receiver.url("/hook")).await?;
    page.fill("webhook-event_types", "lead.created, deal.won")
        .await?;
    page.fill("webhook-description", "CRM sync").await?;
    page.click_button("Create webhook").await?;
    page.expect_text("The webhook is ready").await?;
    let secret = page
        .client
        .find(Locator::Id("webhook-secret"))
        .await?
        .text()
        .await?;
    ensure!(secret.starts_with("whsec_"), "secret: {secret}");
    page.client
        .find(Locator::LinkText("Done"))
        .await?
        .click()
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let detail = page.path().await?;
    ensure!(detail.starts_with("/admin/webhooks/"), "on {detail}");
    ensure!(
        !page.main_text().await?.contains(&secret),
        "the secret is not on the webhook's page"
    );

    // A test event, delivered and signed with that secret.
    page.click_button("Send test event").await?;
    page.expect_text("A test event is on its way").await?;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let signature = got[0].header("x-rivet-signature").unwrap_or_default();
    ensure!(
        rivet_domain::events::verify_signature(secret.as_bytes(), &signature, &got[0].body),
        "the delivery verifies with the secret shown"
    );
    let mut delivered = false;
    for _ in 0..50 {
        page.goto(&detail).await?;
        if page.main_text().await?.contains("Delivered") {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        delivered,
        "the log shows the delivery: {}",
        page.main_text().await?
    );
    page.expect_text("webhook.test").await?;

    // Off, edited, deleted.
    page.click_button("Turn off").await?;
    page.expect_text("The webhook is off").await?;
    let api = app.admin().await;
    let list = json_of(app.get("/webhooks", &api).await).await;
    ensure!(list["data"][0]["active"] == false, "{list}");
    page.fill("webhook-description", "Nightly sync").await?;
    page.click_button("Save changes").await?;
    let list = json_of(app.get("/webhooks", &api).await).await;
    ensure!(list["data"][0]["description"] == "Nightly sync", "{list}");
    let delete = page
        .client
        .find(Locator::XPath(
            "//button[normalize-space(.)='Delete webhook']",
        ))
        .await?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    delete.click().await?;
    page.client.accept_alert().await?;
    page.wait_for_new_page().await?;
    page.expect_text("No webhooks yet.").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_admin_creates_tests_turns_off_and_deletes_a_webhook_in_the_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    for db in [Db::Sqlite, Db::Postgres] {
        let app = spawn_app_with(db, |c| c.webhook_allow_private = true).await;
        let receiver = Receiver::start(Behaviour::Ok {
            delay: Duration::ZERO,
        })
        .await;
        let (stop, rx) = tokio::sync::watch::channel(false);
        let running = dispatcher::spawn(app.state.clone(), options(), rx);
        let client = driver.browser().await;
        let page = Page {
            client: &client,
            base: &app.base,
            shots: None,
            label: format!("{db:?}-webhooks").to_lowercase(),
            step: Default::default(),
        };
        let result = webhook_steps(&app, &page, &receiver).await;
        client.close().await.ok();
        let _ = stop.send(true);
        let _ = running.await;
        if let Err(err) = result {
            panic!("{db:?}: {err:#}");
        }
    }
}

async fn webhook_pages_over_http(db: Db) {
    let app = spawn_app_with(db, |_| {}).await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = get_page(&app, &admin, "/admin/webhooks").await;
    assert_eq!(page.status(), 200);
    for (url, types, field) in [
        ("http://169.254.169.254/latest", "*", "webhook-url-error"),
        (
            "https://93.184.216.34/",
            "lead.exploded",
            "webhook-event_types-error",
        ),
    ] {
        let response = post_form(
            &app,
            &admin,
            "/admin/webhooks",
            &[
                ("csrf_token", csrf.as_str()),
                ("url", url),
                ("event_types", types),
            ],
        )
        .await;
        assert_eq!(response.status(), 422);
        let text = response.text().await.unwrap();
        assert!(text.contains(field), "{field} in {text}");
    }
    let api = app.admin().await;
    let list = json_of(app.get("/webhooks", &api).await).await;
    assert_eq!(list["data"], serde_json::json!([]), "nothing written");
    for role in ["sales", "manager", "support", "read_only"] {
        let email = format!("{role}@hooks.test");
        let role_id = app.role_id(&api, role).await;
        let created = app
            .post(
                "/users",
                &api,
                serde_json::json!({"email": email, "name": role, "role_id": role_id, "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status(), 201);
        let (client, _) = web_sign_in(&app, &email, PASSWORD).await;
        let response = get_page(&app, &client, "/admin/webhooks").await;
        assert_eq!(response.status(), 403, "{role}");
    }
}

rivet_tests::both!(webhook_pages_refuse_bad_input_and_other_roles => webhook_pages_over_http);
