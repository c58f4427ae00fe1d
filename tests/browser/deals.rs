//! The deals list and form: in the browser, a deal created through "New deal" shows on its page
//! and in the list; over plain HTTP, the form's errors sit next to their fields and write
//! nothing, the list takes the API's filters, edits and deletes go through, a sales rep sees only
//! their own deals, and another company's deal is a 404 page.

use super::{Page, get_page, header, post_form, record_id_of, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, spawn_app};
use serde_json::{Value, json};

/// The id of a stage of the default pipeline, by name.
async fn stage_id(app: &TestApp, admin: &Session, name: &str) -> String {
    let page: Value = app.get("/pipelines", admin).await.json().await.unwrap();
    page["data"][0]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Create a record through the API; returns the answer's body.
async fn post(app: &TestApp, path: &str, who: &Session, body: Value) -> Value {
    app.post(path, who, body).await.json().await.unwrap()
}

pub(super) async fn deal_steps(page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/deals").await?;
    page.expect_text("There are no deals yet.").await?;
    page.client
        .find(Locator::LinkText("New deal"))
        .await
        .context("the new deal button")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == "/deals/new",
        "on the form: {}",
        page.path().await?
    );
    page.shot("the new deal form").await?;
    page.fill("deal-name", "Browser expansion").await?;
    page.fill("deal-amount", "4200.50").await?;
    page.fill("deal-currency", "EUR").await?;
    page.choose("#deal-stage_id", "Proposal").await?;
    page.fill("deal-next_step", "Send the quote").await?;
    page.click_button("Create deal").await?;
    page.expect_text("Created the deal Browser expansion.")
        .await?;
    let path = page.path().await?;
    let id = record_id_of("deals", &path).with_context(|| format!("on the deal's page: {path}"))?;
    page.expect_text("€4,200.50").await?;
    page.expect_text("Proposal").await?;
    page.expect_text("Send the quote").await?;

    page.goto("/deals").await?;
    let link = page
        .client
        .find(Locator::Css(&format!("table a[href=\"/deals/{id}\"]")))
        .await
        .context("the deal in the list")?;
    ensure!(link.text().await? == "Browser expansion", "list link text");
    page.expect_text("€4,200.50").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_deal_created_through_the_form_shows_on_its_page_and_in_the_list() {
    super::journey_on_both(super::Journey::Deal).await;
}

// ---------------------------------------------------------------------------------------------
// Over plain HTTP

async fn deals_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let account = post(
        &app,
        "/accounts",
        &api_admin,
        json!({"name": "Anvil Works"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact = post(
        &app,
        "/contacts",
        &api_admin,
        json!({"first_name": "Ada", "last_name": "Lovelace", "account_id": account}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proposal = stage_id(&app, &api_admin, "Proposal").await;
    let negotiation = stage_id(&app, &api_admin, "Negotiation").await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (app_ref, admin_ref) = (&app, &api_admin);
    let api_deals = move || async move {
        app_ref
            .get("/deals", admin_ref)
            .await
            .json::<Value>()
            .await
            .unwrap()["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    // The empty list links to the form and the board; the account's page starts a deal there.
    let list = get_page(&app, &admin, "/deals").await.text().await.unwrap();
    assert!(list.contains("There are no deals yet."), "{list}");
    assert!(list.contains(r#"href="/deals/new""#) && list.contains(r#"href="/deals/board""#));
    let page = get_page(&app, &admin, &format!("/accounts/{account}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/deals/new?account_id={account}")),
        "{page}"
    );
    let page = get_page(&app, &admin, &format!("/deals/new?account_id={account}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"value="Anvil Works""#), "{page}");
    assert!(
        page.contains(&format!(r#"<option value="{contact}""#)),
        "{page}"
    );

    // Bad values come back next to their fields, and nothing is written.
    let response = post_form(
        &app,
        &admin,
        "/deals/new",
        &[
            ("csrf_token", csrf.as_str()),
            ("name", ""),
            ("amount", "12.3.4"),
            ("probability", "140"),
            ("account_name", "No Such Company"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for field in ["name", "amount", "probability", "account_id"] {
        assert!(
            page.contains(&format!(r#"id="deal-{field}-error""#)),
            "{field}: {page}"
        );
    }
    assert!(page.contains(r#"value="12.3.4""#), "what was typed stays");
    assert!(api_deals().await.is_empty(), "nothing written");

    // A good form creates the deal with the account (by name), contact and stage chosen.
    let response = post_form(
        &app,
        &admin,
        "/deals/new",
        &[
            ("csrf_token", csrf.as_str()),
            ("name", "Anvil expansion"),
            ("account_name", "Anvil Works"),
            ("account_id", ""),
            ("contact_id", contact.as_str()),
            ("amount", "12500.10"),
            ("currency", "EUR"),
            ("close_date", "2026-03-31"),
            ("stage_id", proposal.as_str()),
            ("probability", ""),
            ("forecast_category", ""),
            ("tags", "big, q1"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let location = header(&response, "location");
    let id = record_id_of("deals", &location).expect("the deal's page");
    let deal: Value = app
        .get(&format!("/deals/{id}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deal["account_id"], account.as_str());
    assert_eq!(deal["contact_id"], contact.as_str());
    assert_eq!(deal["amount"], "12500.10");
    assert_eq!(deal["stage_id"], proposal.as_str());
    assert_eq!(deal["probability"], 50, "the stage's probability");
    assert_eq!(deal["tags"], json!(["big", "q1"]));
    let page = get_page(&app, &admin, &format!("/deals/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(r#"href="/deals/{id}/edit""#)),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"action="/deals/{id}/delete""#)),
        "{page}"
    );

    // The list takes the API's filters, and refuses a wrong one.
    let list = get_page(&app, &admin, "/deals").await.text().await.unwrap();
    assert!(
        list.contains("Anvil expansion") && list.contains("Anvil Works"),
        "{list}"
    );
    let list = get_page(&app,
        &admin,
        &format!(
            "/deals?amount%5Bgte%5D=10000&close_date%5Blte%5D=2026-12-31&status=open&stage_id={proposal}&sort=-amount"
        ),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(list.contains("Anvil expansion"), "{list}");
    for query in ["amount%5Bgte%5D=20000", "status=won", "q=nothing+like+it"] {
        let list = get_page(&app, &admin, &format!("/deals?{query}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            list.contains("No deals match these filters."),
            "{query}: {list}"
        );
    }
    for query in ["sort=colour", "amount%5Bgte%5D=lots", "status=maybe"] {
        assert_eq!(
            get_page(&app, &admin, &format!("/deals?{query}"))
                .await
                .status(),
            400,
            "{query}"
        );
    }

    // Editing: an empty name is refused next to its field and changes nothing; a move to
    // another stage takes that stage's probability.
    let page = get_page(&app, &admin, &format!("/deals/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"value="Anvil expansion""#) && page.contains(r#"value="Anvil Works""#),
        "{page}"
    );
    let edit = |name: &'static str| {
        let fields = [
            ("csrf_token", csrf.clone()),
            ("name", name.to_owned()),
            ("account_name", "Anvil Works".to_owned()),
            ("account_id", account.clone()),
            ("contact_id", contact.clone()),
            ("amount", "15000".to_owned()),
            ("currency", "EUR".to_owned()),
            ("close_date", "2026-04-30".to_owned()),
            ("stage_id", negotiation.clone()),
            ("probability", "50".to_owned()),
            ("forecast_category", "best_case".to_owned()),
            ("owner_id", String::new()),
            ("tags", "big".to_owned()),
        ];
        admin
            .post(format!("{}/deals/{id}/edit", app.base))
            .form(&fields)
            .send()
    };
    let response = edit("").await.unwrap();
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="deal-name-error""#)
    );
    let unchanged: Value = app
        .get(&format!("/deals/{id}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["name"], "Anvil expansion");
    assert_eq!(unchanged["amount"], "12500.10");
    let response = edit("Anvil expansion II").await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), format!("/deals/{id}"));
    let changed: Value = app
        .get(&format!("/deals/{id}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["name"], "Anvil expansion II");
    assert_eq!(changed["amount"], "15000.00");
    assert_eq!(changed["stage_id"], negotiation.as_str());
    assert_eq!(changed["probability"], 80, "the new stage's probability");
    assert_eq!(changed["forecast_category"], "commit");

    // A sales rep sees only their own deals; the admin's deal is a 404 page to them.
    let sales = app.member(&api_admin, "sales").await;
    post(&app, "/deals", &sales, json!({"name": "Rep pipeline deal"})).await;
    let me: Value = app.get("/me", &sales).await.json().await.unwrap();
    let (rep, rep_csrf) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let list = get_page(&app, &rep, "/deals").await.text().await.unwrap();
    assert!(
        list.contains("Rep pipeline deal") && !list.contains("Anvil expansion"),
        "{list}"
    );
    assert_eq!(
        get_page(&app, &rep, &format!("/deals/{id}")).await.status(),
        404
    );
    assert_eq!(
        get_page(&app, &rep, &format!("/deals/{id}/edit"))
            .await
            .status(),
        404
    );
    let response = post_form(
        &app,
        &rep,
        &format!("/deals/{id}/delete"),
        &[("csrf_token", rep_csrf.as_str())],
    )
    .await;
    assert_eq!(response.status(), 404);

    // Another company's deal is not found on any deal page.
    let other = app.other_company("Other Ltd").await;
    let me: Value = app.get("/me", &other).await.json().await.unwrap();
    let (outsider, outsider_csrf) =
        web_sign_in(&app, me["user"]["email"].as_str().unwrap(), ADMIN_PASSWORD).await;
    for path in [format!("/deals/{id}"), format!("/deals/{id}/edit")] {
        assert_eq!(
            get_page(&app, &outsider, &path).await.status(),
            404,
            "{path}"
        );
    }
    let response = post_form(
        &app,
        &outsider,
        &format!("/deals/{id}/edit"),
        &[
            ("csrf_token", outsider_csrf.as_str()),
            ("name", "Taken over"),
        ],
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = post_form(
        &app,
        &outsider,
        &format!("/deals/{id}/delete"),
        &[("csrf_token", outsider_csrf.as_str())],
    )
    .await;
    assert_eq!(response.status(), 404);
    assert!(
        !get_page(&app, &outsider, "/deals")
            .await
            .text()
            .await
            .unwrap()
            .contains("Anvil expansion")
    );

    // Bulk: a new owner for the deal, then a delete that asks first.
    let rep_id = sales.user_id.to_string();
    let response = post_form(
        &app,
        &admin,
        "/deals/bulk",
        &[
            ("csrf_token", csrf.as_str()),
            ("ids", id.as_str()),
            ("action", "owner"),
            ("owner_id", rep_id.as_str()),
            ("back", "/deals?q=anvil"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/deals?q=anvil");
    let moved: Value = app
        .get(&format!("/deals/{id}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["owner_id"], rep_id.as_str());
    let response = post_form(
        &app,
        &admin,
        "/deals/bulk",
        &[
            ("csrf_token", csrf.as_str()),
            ("ids", id.as_str()),
            ("action", "delete"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Delete 1 deal?"));
    assert_eq!(api_deals().await.len(), 2, "asked, not deleted");

    // Deleting from the deal's page.
    let response = post_form(
        &app,
        &admin,
        &format!("/deals/{id}/delete"),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/deals");
    assert_eq!(
        app.get(&format!("/deals/{id}"), &api_admin).await.status(),
        404
    );

    // A saved view of the deals list: the page's "won" is kept as the won stages, and the
    // view's link (in the bar of the list) brings the filter back.
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", csrf.as_str()),
            ("resource", "deals"),
            ("name", "Won deals"),
            ("return_to", "/deals?status=won&sort=-amount"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let views: Value = app
        .get("/views?resource=deals", &api_admin)
        .await
        .json()
        .await
        .unwrap();
    let query = views["data"][0]["query"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let won: Vec<String> = app
        .get("/pipelines", &api_admin)
        .await
        .json::<Value>()
        .await
        .unwrap()["data"][0]["stages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["outcome"] == "won")
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    assert!(!won.is_empty());
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://view/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        pairs.contains(&("stage_id[in]".to_owned(), won.join(","))),
        "{query}"
    );
    assert!(
        pairs.contains(&("sort".to_owned(), "-amount".to_owned())),
        "{query}"
    );
    let list = get_page(&app, &admin, "/deals?view=all")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Won deals"),
        "the views bar lists the view: {list}"
    );
}

rivet_tests::both!(deal_pages_create_edit_and_delete_within_the_callers_scope => deals_over_http);
