//! Notifications in the browser: the bell in the top bar counts the unread; it opens the
//! notifications page (newest first, the unread in bold); opening one follows its link and
//! marks it read; "Mark all read" empties the bell; the scoring page's "Notify the owner"
//! checkbox saves.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::{Value, json};

/// The bell's number, or `None` when it shows none.
async fn bell(page: &Page<'_>) -> Result<Option<String>> {
    Ok(
        match page.client.find(Locator::Css("[data-bell-count]")).await {
            Ok(count) => Some(count.text().await?),
            Err(_) => None,
        },
    )
}

pub(super) async fn notification_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    // Two leads rich enough for a new company's MQL (which notifies the owner), the admin's.
    let mut ids = Vec::new();
    for name in ["Nina", "Omar"] {
        let lead = json_of(
            app.post(
                "/leads",
                &api,
                json!({"first_name": name, "last_name": "Rich",
                       "email": format!("{name}@acme-corp.io"), "title": "CTO",
                       "company_name": "Acme", "industry": "Software", "employee_count": 500,
                       "annual_revenue": "2000000", "annual_revenue_currency": "EUR"}),
            )
            .await,
        )
        .await;
        ensure!(lead["total_score"] == 50, "the lead reaches MQL: {lead}");
        ids.push(lead["id"].as_str().context("the lead's id")?.to_owned());
    }

    // The bell counts them on every page and opens the notifications.
    sign_in_at(page, "/").await?;
    let count = bell(page).await?.unwrap_or_default();
    ensure!(count.starts_with('2'), "the bell counts two: {count:?}");
    let link = page
        .client
        .find(Locator::Css("a[data-bell]"))
        .await
        .context("the bell")?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    link.click().await?;
    page.wait_for_new_page().await?;
    ensure!(
        page.path().await? == "/notifications",
        "the bell opens the notifications: {}",
        page.path().await?
    );
    page.expect_text("Lead Omar Rich reached MQL (score 50)")
        .await?;
    let unread = page
        .client
        .find_all(Locator::Css("li[data-unread]"))
        .await?
        .len();
    ensure!(unread == 2, "two unread: {unread}");
    let weight = page
        .client
        .execute(
            "return getComputedStyle(document.querySelector('li[data-unread] .notification-open')).fontWeight;",
            vec![],
        )
        .await?;
    let weight: u32 = match &weight {
        Value::String(w) => w.parse().unwrap_or(0),
        Value::Number(w) => w.as_u64().unwrap_or(0) as u32,
        _ => 0,
    };
    ensure!(weight >= 700, "the unread are bold: {weight}");
    page.shot("the notifications").await?;

    // Opening the newest follows its link to the lead and marks it read.
    page.click_button("Lead Omar Rich reached MQL").await?;
    ensure!(
        page.path().await? == format!("/leads/{}", ids[1]),
        "opened the lead: {}",
        page.path().await?
    );
    page.expect_text("Omar Rich").await?;
    let count = bell(page).await?.unwrap_or_default();
    ensure!(count.starts_with('1'), "one left unread: {count:?}");

    // The rest at once.
    page.goto("/notifications").await?;
    let unread = page
        .client
        .find_all(Locator::Css("li[data-unread]"))
        .await?
        .len();
    ensure!(unread == 1, "one unread: {unread}");
    page.click_button("Mark all read").await?;
    page.expect_text("Marked 1 notification read.").await?;
    ensure!(bell(page).await?.is_none(), "the bell shows no number");
    let left = json_of(app.get("/notifications/unread-count", &api).await).await;
    ensure!(left["unread"] == 0, "nothing unread: {left}");

    // The scoring page: MQL stops notifying the owner.
    page.goto("/admin/scoring").await?;
    let notify = page
        .client
        .find(Locator::Id("t0-t0_notify"))
        .await
        .context("MQL's notify checkbox")?;
    ensure!(
        notify.prop("checked").await?.as_deref() == Some("true"),
        "a new company's MQL notifies"
    );
    notify.click().await?;
    page.click_button("Save scoring").await?;
    page.expect_text("Scoring saved").await?;
    let settings = json_of(app.get("/scoring/settings", &api).await).await;
    let flags = &settings["settings"]["thresholds"];
    ensure!(
        flags[0]["notify_owner"] == false && flags[1]["notify_owner"] == true,
        "saved: {flags}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_bell_counts_the_unread_and_a_notification_opens_its_lead() {
    super::journey_on_both(super::Journey::Notifications).await;
}
