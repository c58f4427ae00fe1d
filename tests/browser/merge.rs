//! Merging duplicates in the browser (issue 13 UI): from a lead's "Possible duplicates" card,
//! "Review and merge" opens the records side by side; the survivor keeps its own values by
//! default, a radio takes the other lead's phone, and "Merge" leaves one lead holding both
//! leads' activities, the other gone.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{TestApp, json_of};
use serde_json::json;

pub(super) async fn merge_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    let mut ids = Vec::new();
    for body in [
        json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example",
               "title": "Rear Admiral"}),
        json!({"first_name": "Amazing", "last_name": "Grace", "email": "Grace@Navy.example",
               "phone": "+1 202 555 0143", "title": "Captain"}),
    ] {
        let lead = json_of(app.post("/leads", &api, body).await).await;
        ids.push(lead["id"].as_str().context("the lead's id")?.to_owned());
    }
    let (grace, other) = (ids[0].clone(), ids[1].clone());
    let note = json_of(
        app.post(
            "/activities",
            &api,
            json!({"kind": "note", "body": "Met at the conference",
                   "links": [{"record_type": "lead", "record_id": other}]}),
        )
        .await,
    )
    .await;
    let note = note["id"].as_str().context("the note's id")?.to_owned();

    sign_in_at(page, &format!("/leads/{grace}")).await?;
    page.expect_text("Possible duplicates").await?;
    let review = page
        .client
        .find(Locator::LinkText("Review and merge"))
        .await
        .context("the Review and merge link")?;
    review.click().await?;
    page.wait_for_new_page().await.ok();
    page.expect_text("Records side by side").await?;
    page.expect_text("Rear Admiral").await?;
    page.expect_text("Captain").await?;
    page.shot("the merge page").await?;
    // The survivor (the older lead) keeps its title by default; take the other's phone.
    let title = page
        .client
        .find(Locator::Css(&format!(
            "input[name='f.title'][value='{grace}']"
        )))
        .await
        .context("the title radio of the survivor")?;
    ensure!(
        title.prop("checked").await?.as_deref() == Some("true"),
        "the survivor's title is chosen by default"
    );
    page.client
        .find(Locator::Css(&format!(
            "input[name='f.phone'][value='{other}']"
        )))
        .await
        .context("the phone radio of the other lead")?
        .click()
        .await?;
    page.click_button("Merge").await?;
    page.expect_text("Merged 1 records into this one.").await?;
    let path = page.path().await?;
    ensure!(path == format!("/leads/{grace}"), "after the merge: {path}");
    page.expect_text("+1 202 555 0143").await?;
    page.expect_text("Rear Admiral").await?;
    page.expect_text("Met at the conference").await?;

    let gone = app.get(&format!("/leads/{other}"), &api).await;
    ensure!(gone.status() == 404, "the merged lead is gone");
    let note = json_of(app.get(&format!("/activities/{note}"), &api).await).await;
    ensure!(
        note["links"][0]["record_id"] == grace.as_str(),
        "the note moved: {note}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn duplicate_leads_are_reviewed_side_by_side_and_merged() {
    super::journey_on_both(super::Journey::Merge).await;
}
