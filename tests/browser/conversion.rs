//! Converting a lead in the browser (issue 14 §3 UI): the lead page's "Convert" opens the
//! convert page, which suggests the account that looks like the lead's company; an amount
//! that is not one comes back next to its field; the conversion lands on the new contact, and
//! the lead says what it became.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::json;

pub(super) async fn conversion_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let acme = json_of(
        app.post(
            "/accounts",
            &api,
            json!({"name": "Acme Inc", "domain": "acme.co.uk"}),
        )
        .await,
    )
    .await;
    let acme = acme["id"].as_str().context("the account's id")?.to_owned();
    let lead = json_of(
        app.post(
            "/leads",
            &api,
            json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.co.uk",
                   "company_name": "ACME Inc.", "website": "https://www.acme.co.uk"}),
        )
        .await,
    )
    .await;
    let lead = lead["id"].as_str().context("the lead's id")?.to_owned();

    sign_in_at(page, &format!("/leads/{lead}")).await?;
    page.client
        .find(Locator::Id("convert-lead"))
        .await
        .context("the Convert button")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    page.expect_text("Convert Grace Hopper").await?;
    // The account like the lead's company is offered, and chosen first.
    let suggested = page
        .client
        .find(Locator::Css(&format!(
            "input[name='account'][value='{acme}']"
        )))
        .await
        .context("the suggested account")?;
    ensure!(
        suggested.prop("checked").await?.as_deref() == Some("true"),
        "the suggested account is chosen"
    );
    page.expect_text("Acme Inc").await?;
    page.shot("the convert page").await?;
    // A deal with an amount that is not one: the page again, the message next to it.
    page.client
        .find(Locator::Id("convert-create_deal"))
        .await?
        .click()
        .await?;
    page.fill("convert-deal_amount", "a lot").await?;
    page.click_button("Convert").await?;
    page.expect_text("There is a problem").await?;
    let error = page
        .client
        .find(Locator::Id("convert-deal_amount-error"))
        .await
        .context("the amount's message")?
        .text()
        .await?;
    ensure!(error.starts_with("Amount"), "{error}");
    let still = json_of(app.get(&format!("/leads/{lead}"), &api).await).await;
    ensure!(still["status"] == "new", "nothing converted yet: {still}");

    page.fill("convert-deal_amount", "12500").await?;
    page.fill("convert-deal_name", "Acme pilot").await?;
    page.click_button("Convert").await?;
    page.expect_text("Converted Grace Hopper into the account Acme Inc")
        .await?;
    let path = page.path().await?;
    ensure!(path.starts_with("/contacts/"), "after converting: {path}");
    page.expect_text("Acme pilot").await?;

    // The lead says what it became, and offers no second conversion.
    page.goto(&format!("/leads/{lead}")).await?;
    page.expect_text("This lead became").await?;
    page.expect_text("Acme pilot").await?;
    ensure!(
        page.client.find(Locator::Id("convert-lead")).await.is_err(),
        "a converted lead has no Convert button"
    );
    let converted = json_of(app.get(&format!("/leads/{lead}"), &api).await).await;
    ensure!(
        converted["status"] == "converted" && converted["converted_account_id"] == acme.as_str(),
        "{converted}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_lead_is_converted_from_its_page_into_the_suggested_account() {
    super::journey_on_both(super::Journey::Conversion).await;
}
