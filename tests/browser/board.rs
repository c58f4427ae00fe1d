//! The pipeline board in the browser: a deal card dragged with the mouse onto another stage's
//! column moves the deal (saved through the API, audited, with a stage history row), the column
//! headers follow, and the move survives a reload; the deal's page shows it on the timeline, takes
//! a note from the quick-add form, and the search box finds the deal despite a typo.

use super::{Page, sign_in_at};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use rivet_tests::{Session, TestApp, json_of};
use serde_json::{Value, json};
use std::time::Duration;

async fn stage_id(app: &TestApp, admin: &Session, name: &str) -> String {
    let page = json_of(app.get("/pipelines", admin).await).await;
    page["data"][0]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The text of a column header's count.
async fn count_in(page: &Page<'_>, stage: &str) -> Result<String> {
    let css = format!("section[data-stage-name=\"{stage}\"] [data-count]");
    Ok(page.client.find(Locator::Css(&css)).await?.text().await?)
}

pub(super) async fn board_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let response = app
        .post(
            "/deals",
            &admin,
            json!({"name": "Dragged deal", "amount": "1000.00", "currency": "EUR"}),
        )
        .await;
    ensure!(
        response.status() == 201,
        "create the deal: {}",
        response.status()
    );
    let deal = json_of(response).await;
    let deal_id = deal["id"].as_str().context("deal id")?.to_owned();

    sign_in_at(page, "/deals/board").await?;
    page.expect_text("Dragged deal").await?;
    ensure!(
        count_in(page, "Qualification").await? == "1",
        "one deal in Qualification"
    );
    ensure!(count_in(page, "Proposal").await? == "0", "none in Proposal");

    let card = page
        .client
        .find(Locator::Css(&format!(
            "[data-deal-id=\"{deal_id}\"] .deal-card-amount"
        )))
        .await
        .context("the deal's card")?;
    let target = page
        .client
        .find(Locator::Css(
            "section[data-stage-name=\"Proposal\"] .board-col-head",
        ))
        .await
        .context("the Proposal column")?;
    let step = |x: i64, y: i64| PointerAction::MoveBy {
        duration: Some(Duration::from_millis(50)),
        x,
        y,
    };
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: card,
            duration: None,
            x: 0,
            y: 0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(step(10, 0))
        .then(step(10, 5))
        .then(PointerAction::MoveToElement {
            element: target.clone(),
            duration: Some(Duration::from_millis(200)),
            x: 0,
            y: 40,
        })
        .then(PointerAction::MoveToElement {
            element: target,
            duration: Some(Duration::from_millis(50)),
            x: 0,
            y: 45,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    page.client
        .perform_actions(drag)
        .await
        .context("drag the card")?;

    // The script saves the move and says so.
    let mut said = String::new();
    for _ in 0..100 {
        said = page
            .client
            .find(Locator::Css("[data-board-status]"))
            .await?
            .text()
            .await?;
        if said.starts_with("Moved") || said.contains("could not") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page.shot("board after the drag").await?;
    ensure!(
        said == "Moved Dragged deal to Proposal.",
        "status after the drop: {said:?}"
    );
    ensure!(
        count_in(page, "Proposal").await? == "1",
        "the Proposal header counts it"
    );
    ensure!(
        count_in(page, "Qualification").await? == "0",
        "Qualification is empty"
    );

    // Saved: the API shows the new stage with its probability, history and audit.
    let moved = json_of(app.get(&format!("/deals/{deal_id}"), &admin).await).await;
    ensure!(
        moved["stage_id"] == Value::String(stage_id(app, &admin, "Proposal").await),
        "the deal's stage: {moved}"
    );
    ensure!(
        moved["probability"] == 50,
        "the stage's probability: {moved}"
    );
    let history = json_of(app.get(&format!("/deals/{deal_id}/history"), &admin).await).await;
    ensure!(
        history["data"]
            .as_array()
            .is_some_and(|rows| rows.iter().any(|r| r["action"] == "update")),
        "the move is audited: {history}"
    );

    // And the board agrees after a reload.
    page.goto("/deals/board").await?;
    let in_proposal = page
        .client
        .find_all(Locator::Css(&format!(
            "section[data-stage-name=\"Proposal\"] [data-deal-id=\"{deal_id}\"]"
        )))
        .await?;
    ensure!(
        in_proposal.len() == 1,
        "the card sits in Proposal after a reload"
    );

    // The deal's page tells the story on its timeline, and a note added there joins it.
    page.goto(&format!("/deals/{deal_id}")).await?;
    page.expect_text("Stage: Qualification → Proposal").await?;
    page.expect_text("Deal created").await?;
    page.fill("qa-note-body", "Asked for a discount").await?;
    page.click_button("Add note").await?;
    page.expect_text("Added the note.").await?;
    let first = page
        .client
        .find(Locator::Css("ol.timeline li"))
        .await?
        .text()
        .await?;
    ensure!(
        first.contains("Asked for a discount"),
        "newest entry: {first}"
    );
    // A task without a subject is refused with the reason, and nothing is added.
    page.client
        .execute(
            "document.getElementById('qa-task-subject').removeAttribute('required'); return null;",
            vec![],
        )
        .await?;
    page.click_button("Add task").await?;
    page.expect_text("The task was not added").await?;
    let tasks = json_of(
        app.get(&format!("/tasks?related_id={deal_id}"), &admin)
            .await,
    )
    .await;
    ensure!(
        tasks["data"].as_array().is_some_and(Vec::is_empty),
        "no task: {tasks}"
    );

    // The search box on every page finds the deal despite a typo, and leads to it.
    page.goto("/").await?;
    page.fill("global-search-q", "Draged deal").await?;
    page.click_button("Search").await?;
    let link = page
        .client
        .find(Locator::Css(&format!(
            ".search-results a[href=\"/deals/{deal_id}\"]"
        )))
        .await
        .context("the deal among the results")?;
    ensure!(link.text().await? == "Dragged deal", "result title");
    link.click().await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == format!("/deals/{deal_id}"),
        "on the deal's page"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_deal_dragged_to_another_stage_on_the_board_moves_is_audited_and_shows_on_its_timeline() {
    super::journey_on_both(super::Journey::Board).await;
}
