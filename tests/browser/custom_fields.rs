//! Custom fields on the record forms and pages: the company's definitions become inputs of the
//! right kind on the lead, account and contact forms, the API's messages sit next to them (a
//! required field left empty, a value of the wrong kind) and nothing is written, valid values
//! reach the record's `custom_fields` (checked through the API), an edit changes and clears
//! them, and the record's page shows them. Over plain HTTP, and once in Chromium.

use super::{Page, header, record_id_of, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, json_of, spawn_app,
};
use serde_json::{Value, json};

async fn define(app: &TestApp, admin: &Session, body: Value) {
    let response = app.post("/custom-fields", admin, body.clone()).await;
    assert_eq!(response.status(), 201, "define {body}");
}

/// Post a form (with the CSRF token) to a page; `pairs` may repeat a name.
pub(super) async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    csrf: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(pairs);
    super::post_form(app, client, path, &form).await
}

async fn page_text(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = super::get_page(app, client, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The records of an API list.
async fn api_list(app: &TestApp, who: &Session, path: &str) -> Vec<Value> {
    let page = json_of(app.get(path, who).await).await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// The id at the end of a redirect to `/{list}/{id}`.
fn created_id(response: &reqwest::Response, list: &str) -> String {
    assert_eq!(response.status(), 303, "created");
    record_id_of(list, &header(response, "location")).expect("a record's page")
}

async fn lead_form_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    // Every kind that has an input of its own, and a field of accounts (not on the lead form).
    for body in [
        json!({"record_type": "lead", "key": "region", "label": "Region", "kind": "text", "required": true}),
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "select", "options": ["Gold", "Silver"]}),
        json!({"record_type": "lead", "key": "seats", "label": "Seats", "kind": "number"}),
        json!({"record_type": "lead", "key": "vip", "label": "VIP", "kind": "boolean"}),
        json!({"record_type": "lead", "key": "langs", "label": "Languages", "kind": "multi_select", "options": ["en", "de", "fr"]}),
        json!({"record_type": "account", "key": "segment", "label": "Segment", "kind": "text"}),
    ] {
        define(&app, &api, body).await;
    }
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // The form shows an input of the right kind for each field; the required one is marked.
    let (status, form) = page_text(&admin, &app, "/leads/new").await;
    assert_eq!(status, 200);
    assert!(
        form.contains(r#"id="lead-cf-region" name="cf.region" type="text" value="" autocomplete="off" required"#),
        "{form}"
    );
    assert!(form.contains(r#"<select id="lead-cf-tier" name="cf.tier">"#));
    assert!(form.contains(r#"<option value="Gold">Gold</option>"#));
    assert!(form.contains(r#"name="cf.seats" type="number""#));
    assert!(form.contains(r#"type="checkbox" id="lead-cf-vip" name="cf.vip" value="true""#));
    assert!(form.contains(r#"name="cf.langs" value="fr""#));
    assert!(form.contains(r#"Tier <span class="optional">(optional)</span>"#));
    assert!(!form.contains("cf.segment"));

    // The required field left empty: the form comes back with the message next to it, what was
    // typed stays, and nothing is written.
    let response = post_form(
        &admin,
        &app,
        "/leads/new",
        &csrf,
        &[
            ("last_name", "Lovelace"),
            ("status", "new"),
            ("cf.region", " "),
            ("cf.tier", "Silver"),
            ("cf.vip", "false"),
            ("cf.langs", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"<p class="field-error" id="lead-cf-region-error">Region is required</p>"#),
        "{page}"
    );
    assert!(page.contains(r#"aria-invalid="true" aria-describedby="lead-cf-region-error""#));
    assert!(page.contains(r#"<option value="Silver" selected>Silver</option>"#));
    assert!(page.contains(r#"value="Lovelace""#));
    assert!(api_list(&app, &api, "/leads").await.is_empty());

    // A value of the wrong kind: its own message, the value as typed.
    let response = post_form(
        &admin,
        &app,
        "/leads/new",
        &csrf,
        &[
            ("last_name", "Lovelace"),
            ("cf.region", "EMEA"),
            ("cf.seats", "abc"),
            ("cf.tier", "Bronze"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"id="lead-cf-seats-error">Seats must be a number</p>"#),
        "{page}"
    );
    assert!(page.contains(r#"id="lead-cf-tier-error">Tier must be one of: Gold, Silver</p>"#));
    assert!(page.contains(r#"value="abc""#));
    assert!(api_list(&app, &api, "/leads").await.is_empty());

    // Valid values create the lead with them.
    let response = post_form(
        &admin,
        &app,
        "/leads/new",
        &csrf,
        &[
            ("last_name", "Lovelace"),
            ("status", "new"),
            ("cf.region", " EMEA "),
            ("cf.tier", "Gold"),
            ("cf.seats", "12"),
            ("cf.vip", "false"),
            ("cf.vip", "true"),
            ("cf.langs", ""),
            ("cf.langs", "en"),
            ("cf.langs", "fr"),
        ],
    )
    .await;
    let id = created_id(&response, "leads");
    let lead = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    assert_eq!(
        lead["custom_fields"],
        json!({"region": "EMEA", "tier": "Gold", "seats": 12, "vip": true, "langs": ["en", "fr"]})
    );

    // The lead's page shows them.
    let (status, show) = page_text(&admin, &app, &format!("/leads/{id}")).await;
    assert_eq!(status, 200);
    for shown in [
        "<dt>Region</dt><dd>EMEA</dd>",
        "<dt>Tier</dt><dd>Gold</dd>",
        "<dt>Seats</dt><dd>12</dd>",
        "<dt>VIP</dt><dd>Yes</dd>",
        "<dt>Languages</dt><dd>en, fr</dd>",
    ] {
        assert!(show.contains(shown), "{shown} in {show}");
    }

    // The edit form holds them; saving changes one, clears others and keeps the rest.
    let (_, edit) = page_text(&admin, &app, &format!("/leads/{id}/edit")).await;
    assert!(edit.contains(r#"name="cf.region" type="text" value="EMEA""#));
    assert!(edit.contains(r#"<option value="Gold" selected>Gold</option>"#));
    assert!(edit.contains(r#"name="cf.vip" value="true" checked"#));
    assert!(edit.contains(r#"name="cf.langs" value="en" checked"#));
    let path = format!("/leads/{id}/edit");
    let response = post_form(
        &admin,
        &app,
        &path,
        &csrf,
        &[
            ("last_name", "Lovelace"),
            ("status", "new"),
            ("cf.region", "APAC"),
            ("cf.tier", ""),
            ("cf.seats", ""),
            ("cf.vip", "false"),
            ("cf.langs", ""),
            ("cf.langs", "de"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let lead = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    assert_eq!(
        lead["custom_fields"],
        json!({"region": "APAC", "vip": false, "langs": ["de"]})
    );

    // Emptying the required field is refused next to it, and the lead keeps its values.
    let response = post_form(
        &admin,
        &app,
        &path,
        &csrf,
        &[
            ("last_name", "Lovelace"),
            ("status", "new"),
            ("cf.region", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="lead-cf-region-error">Region is required</p>"#)
    );
    let lead = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    assert_eq!(lead["custom_fields"]["region"], "APAC");

    // A form that did not show the custom fields (opened before they were defined) leaves
    // them alone.
    let response = post_form(
        &admin,
        &app,
        &path,
        &csrf,
        &[("last_name", "Byron"), ("status", "new")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let lead = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    assert_eq!(lead["last_name"], "Byron");
    assert_eq!(lead["custom_fields"]["region"], "APAC");

    // A sales rep (who may not change definitions) fills them in like anyone.
    let sales = app.member(&api, "sales").await;
    let me = json_of(app.get("/me", &sales).await).await;
    let (rep, rep_csrf) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let (_, form) = page_text(&rep, &app, "/leads/new").await;
    assert!(form.contains(r#"name="cf.region""#));
    let response = post_form(
        &rep,
        &app,
        "/leads/new",
        &rep_csrf,
        &[("last_name", "Rep"), ("cf.region", "LATAM")],
    )
    .await;
    let rep_lead = created_id(&response, "leads");
    let lead = json_of(app.get(&format!("/leads/{rep_lead}"), &api).await).await;
    assert_eq!(lead["custom_fields"], json!({"region": "LATAM"}));

    // The list takes the API's custom-field filters and sorts, and its links keep them.
    let (status, list) = page_text(&admin, &app, "/leads?cf.region=LATAM").await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("/leads/{rep_lead}")), "{list}");
    assert!(!list.contains(&format!("/leads/{id}\"")), "{list}");
    assert!(list.contains("cf.region=LATAM&#38;sort="), "{list}");
    // Fields with a fixed set of values have a select in the filter bar; the others do not.
    let (status, list) = page_text(&admin, &app, "/leads?cf.vip=false").await;
    assert_eq!(status, 200);
    assert!(list.contains(r#"<select id="leads-cf.tier" name="cf.tier">"#));
    assert!(list.contains(r#"<option value="false" selected>No</option>"#));
    assert!(!list.contains(r#"name="cf.region""#));
    assert!(
        list.contains(&format!("/leads/{id}\"")) && !list.contains(&format!("/leads/{rep_lead}"))
    );
    let (status, list) = page_text(&admin, &app, "/leads?sort=-cf.region").await;
    assert_eq!(status, 200);
    let (rep_at, other_at) = (
        list.find(&format!("/leads/{rep_lead}")).unwrap(),
        list.find(&format!("/leads/{id}")).unwrap(),
    );
    assert!(rep_at < other_at, "LATAM before APAC, descending");
    let (status, list) = page_text(&admin, &app, "/leads?cf.colour=red").await;
    assert_eq!(status, 400);
    assert!(list.contains("cf.colour"), "{list}");

    // Another company neither sees these fields nor has to fill them in.
    rivet_server::bootstrap::create_company(
        &app.state.store,
        "Globex",
        "admin@globex.test",
        ADMIN_PASSWORD,
        false,
    )
    .await
    .unwrap();
    let (globex, globex_csrf) = web_sign_in(&app, "admin@globex.test", ADMIN_PASSWORD).await;
    let (_, form) = page_text(&globex, &app, "/leads/new").await;
    // (The navigation links an administrator to the custom fields page; the form has no section.)
    assert!(!form.contains("cf.region") && !form.contains(r#"id="lead-custom-title""#));
    let response = post_form(
        &globex,
        &app,
        "/leads/new",
        &globex_csrf,
        &[("last_name", "Elsewhere")],
    )
    .await;
    created_id(&response, "leads");
    let (status, _) = page_text(&globex, &app, &format!("/leads/{id}/edit")).await;
    assert_eq!(status, 404);
}

rivet_tests::both!(lead_custom_fields_are_filled_in_checked_edited_and_shown_through_the_web_form => lead_form_over_http);

async fn account_and_contact_forms_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    for body in [
        json!({"record_type": "account", "key": "segment", "label": "Segment", "kind": "select", "options": ["SMB", "Enterprise"], "required": true}),
        json!({"record_type": "account", "key": "portal", "label": "Portal", "kind": "url"}),
        json!({"record_type": "contact", "key": "birthday", "label": "Birthday", "kind": "date"}),
        json!({"record_type": "contact", "key": "assistant", "label": "Assistant", "kind": "email"}),
    ] {
        define(&app, &api, body).await;
    }
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let (_, form) = page_text(&admin, &app, "/accounts/new").await;
    assert!(form.contains(r#"<select id="account-cf-segment" name="cf.segment" required>"#));
    assert!(form.contains(r#"name="cf.portal" type="url""#));
    let response = post_form(
        &admin,
        &app,
        "/accounts/new",
        &csrf,
        &[
            ("name", "Initech"),
            ("cf.segment", ""),
            ("cf.portal", "not a web address"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="account-cf-segment-error">Segment is required</p>"#));
    assert!(
        page.contains(r#"id="account-cf-portal-error">Portal "#),
        "{page}"
    );
    assert!(api_list(&app, &api, "/accounts").await.is_empty());

    let response = post_form(
        &admin,
        &app,
        "/accounts/new",
        &csrf,
        &[
            ("name", "Initech"),
            ("cf.segment", "Enterprise"),
            ("cf.portal", "https://portal.initech.test"),
        ],
    )
    .await;
    let account = created_id(&response, "accounts");
    let record = json_of(app.get(&format!("/accounts/{account}"), &api).await).await;
    assert_eq!(
        record["custom_fields"],
        json!({"segment": "Enterprise", "portal": "https://portal.initech.test"})
    );
    let (_, show) = page_text(&admin, &app, &format!("/accounts/{account}")).await;
    assert!(
        show.contains("<dt>Segment</dt><dd>Enterprise</dd>"),
        "{show}"
    );
    assert!(show.contains(r#"<a href="https://portal.initech.test" rel="noopener noreferrer">"#));
    let response = post_form(
        &admin,
        &app,
        &format!("/accounts/{account}/edit"),
        &csrf,
        &[
            ("name", "Initech"),
            ("cf.segment", "SMB"),
            ("cf.portal", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let record = json_of(app.get(&format!("/accounts/{account}"), &api).await).await;
    assert_eq!(record["custom_fields"], json!({"segment": "SMB"}));

    // A contact: a date and an e-mail address.
    let (_, form) = page_text(&admin, &app, "/contacts/new").await;
    assert!(form.contains(r#"name="cf.birthday" type="date""#));
    let response = post_form(
        &admin,
        &app,
        "/contacts/new",
        &csrf,
        &[
            ("last_name", "Gibbons"),
            ("cf.birthday", "31/01/1990"),
            ("cf.assistant", "joanna"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"id="contact-cf-birthday-error">Birthday must be a date (YYYY-MM-DD)</p>"#)
    );
    assert!(page.contains(r#"id="contact-cf-assistant-error">Assistant "#));
    assert!(api_list(&app, &api, "/contacts").await.is_empty());
    let response = post_form(
        &admin,
        &app,
        "/contacts/new",
        &csrf,
        &[
            ("last_name", "Gibbons"),
            ("cf.birthday", "1990-01-31"),
            ("cf.assistant", "joanna@initech.test"),
        ],
    )
    .await;
    let contact = created_id(&response, "contacts");
    let record = json_of(app.get(&format!("/contacts/{contact}"), &api).await).await;
    assert_eq!(
        record["custom_fields"],
        json!({"birthday": "1990-01-31", "assistant": "joanna@initech.test"})
    );
    let (_, show) = page_text(&admin, &app, &format!("/contacts/{contact}")).await;
    assert!(
        show.contains("<dt>Birthday</dt><dd>1990-01-31</dd>"),
        "{show}"
    );
    assert!(show.contains(r#"href="mailto:joanna@initech.test""#));
    let (_, edit) = page_text(&admin, &app, &format!("/contacts/{contact}/edit")).await;
    assert!(edit.contains(r#"name="cf.birthday" type="date" value="1990-01-31""#));
}

rivet_tests::both!(account_and_contact_custom_fields_are_checked_saved_and_shown_through_the_web_forms => account_and_contact_forms_over_http);

async fn deal_form_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    define(
        &app,
        &api,
        json!({"record_type": "deal", "key": "seats", "label": "Seats", "kind": "number", "required": true}),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, form) = page_text(&admin, &app, "/deals/new").await;
    assert!(
        form.contains(r#"id="deal-cf-seats" name="cf.seats" type="number""#),
        "{form}"
    );
    let deal = [
        ("name", "Seat licences"),
        ("amount", "900.00"),
        ("currency", "EUR"),
    ];
    let response = post_form(&admin, &app, "/deals/new", &csrf, &deal).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"id="deal-cf-seats-error">Seats is required</p>"#),
        "{page}"
    );
    assert!(api_list(&app, &api, "/deals").await.is_empty());
    let mut filled = deal.to_vec();
    filled.push(("cf.seats", "40"));
    let response = post_form(&admin, &app, "/deals/new", &csrf, &filled).await;
    let id = created_id(&response, "deals");
    let record = json_of(app.get(&format!("/deals/{id}"), &api).await).await;
    assert_eq!(record["custom_fields"], json!({"seats": 40}));
    let (_, show) = page_text(&admin, &app, &format!("/deals/{id}")).await;
    assert!(show.contains("<dt>Seats</dt><dd>40</dd>"), "{show}");
    let (_, edit) = page_text(&admin, &app, &format!("/deals/{id}/edit")).await;
    assert!(edit.contains(r#"name="cf.seats" type="number" value="40""#));
    let mut changed = deal.to_vec();
    changed.push(("cf.seats", "41.5"));
    let path = format!("/deals/{id}/edit");
    let response = post_form(&admin, &app, &path, &csrf, &changed).await;
    assert_eq!(response.status(), 303);
    let record = json_of(app.get(&format!("/deals/{id}"), &api).await).await;
    assert_eq!(record["custom_fields"], json!({"seats": 41.5}));
}

rivet_tests::both!(deal_custom_fields_are_required_saved_and_shown_through_the_web_form => deal_form_over_http);

// ---------------------------------------------------------------------------------------------
// In Chromium

pub(super) async fn browser_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    define(
        app,
        &api,
        json!({"record_type": "lead", "key": "region", "label": "Region", "kind": "text", "required": true}),
    )
    .await;
    define(
        app,
        &api,
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "select", "options": ["Gold", "Silver"]}),
    )
    .await;

    sign_in_at(page, "/leads/new").await?;
    page.fill("lead-last_name", "Hopper").await?;
    page.choose("#lead-cf-tier", "Gold").await?;
    page.click_button("Create lead").await?;
    let error = page
        .client
        .find(fantoccini::Locator::Id("lead-cf-region-error"))
        .await
        .context("the message next to the region")?
        .text()
        .await?;
    ensure!(error == "Region is required", "message: {error}");
    page.client
        .execute(
            "document.getElementById('lead-custom-title').scrollIntoView(); return null;",
            vec![],
        )
        .await?;
    page.shot("the custom fields with their message").await?;
    page.fill("lead-cf-region", "EMEA").await?;
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Hopper.").await?;
    let path = page.path().await?;
    let id = record_id_of("leads", &path).with_context(|| format!("on the lead's page: {path}"))?;
    page.client
        .find(fantoccini::Locator::Id("custom-fields-title"))
        .await
        .context("the custom fields section of the lead's page")?;
    page.expect_text("EMEA").await?;
    page.expect_text("Gold").await?;
    let lead = json_of(app.get(&format!("/leads/{id}"), &api).await).await;
    ensure!(
        lead["custom_fields"] == json!({"region": "EMEA", "tier": "Gold"}),
        "stored: {}",
        lead["custom_fields"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_custom_field_filled_in_the_lead_form_in_the_browser_shows_on_the_lead_page() {
    super::journey_on_both(super::Journey::CustomFields).await;
}
