//! The WhatsApp conversation on a contact's page: a message received through the webhook shows
//! in the thread, and a reply typed in the send box (free text, inside the service window)
//! reaches the Graph API (a local fake over real HTTP) and joins the thread.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use rivet_tests::graph::Graph;
use rivet_tests::{TestApp, json_of};
use serde_json::json;

pub(super) async fn whatsapp_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let graph = Graph::start().await;
    let secret = "browser-app-secret-zz9";
    let saved = app
        .put(
            "/settings/whatsapp",
            &api,
            json!({"phone_number_id": "1200300", "access_token": "browser-token", "app_secret": secret,
                   "verify_token": "browser-verify", "api_base_url": graph.base_url(), "enabled": true}),
        )
        .await;
    ensure!(saved.status() == 200, "settings saved: {}", saved.status());
    let contact = json_of(
        app.post(
            "/contacts",
            &api,
            json!({"first_name": "Wanda", "last_name": "Whats", "phone": "+447911123459", "whatsapp_consent": true}),
        )
        .await,
    )
    .await;
    let id = contact["id"]
        .as_str()
        .context("the contact's id")?
        .to_owned();
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1200300"},
        "contacts": [{"profile": {"name": "Wanda"}, "wa_id": "447911123459"}],
        "messages": [{"from": "447911123459", "id": "wamid.BROWSER1", "timestamp": "1765000000", "type": "text", "text": {"body": "Is my order on its way?"}}]
    }}]}]})
    .to_string();
    let delivered = app
        .api(reqwest::Method::POST, "/whatsapp/webhook", None)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            rivet_domain::whatsapp::signature(secret, payload.as_bytes()),
        )
        .body(payload)
        .send()
        .await?;
    ensure!(
        delivered.status() == 200,
        "webhook taken: {}",
        delivered.status()
    );

    sign_in_at(page, &format!("/contacts/{id}")).await?;
    page.expect_text("Is my order on its way?").await?;
    page.shot("the conversation").await?;
    page.fill("wa-text", "Yes, it arrives tomorrow.").await?;
    page.click_button("Send on WhatsApp").await?;
    page.expect_text("Sent on WhatsApp.").await?;
    page.expect_text("Yes, it arrives tomorrow.").await?;
    let sent = graph.sent();
    ensure!(sent.len() == 1, "one send reached WhatsApp: {sent:?}");
    ensure!(
        sent[0].body["text"]["body"] == "Yes, it arrives tomorrow."
            && sent[0].body["to"] == "447911123459"
            && sent[0].token.as_deref() == Some("browser-token"),
        "what WhatsApp got: {:?}",
        sent[0]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_conversation_shows_an_inbound_message_and_sends_a_reply() {
    super::journey_on_both(super::Journey::Whatsapp).await;
}
