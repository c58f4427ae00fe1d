//! The administration pages for custom fields and pipelines, and a deal's time in each stage.
//!
//! In Chromium: an administrator defines a select field with options and finds it on the lead
//! form, edits it, reorders two fields and deletes one; creates a pipeline with its stages,
//! changes a stage's probability, reorders and removes stages; and a deal moved between stages
//! shows a row per stage on its page. Over plain HTTP: bad input comes back next to its field
//! with a 422 and writes nothing, the API's conflicts (an option in use, a stage with deals, the
//! default pipeline) are messages on the page and never a 500, every change is what the API then
//! shows, and a sales rep is refused every one of these pages.

use super::{Page, get_page, header, post_form, sign_in_at, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, json_of, spawn_app,
};
use serde_json::{Value, json};

async fn page_text(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = get_page(app, client, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Post a form with the CSRF token; answers the status and the page (or the redirect target).
async fn submit(
    client: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    pairs: &[(&str, &str)],
) -> (u16, String) {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(pairs);
    let response = post_form(app, client, path, &form).await;
    let status = response.status().as_u16();
    if status == 303 {
        return (status, header(&response, "location"));
    }
    (status, response.text().await.unwrap())
}

/// The company's custom field definitions of `record_type`, in display order.
async fn definitions(app: &TestApp, api: &Session, record_type: &str) -> Vec<Value> {
    let page = json_of(
        app.get(&format!("/custom-fields?record_type={record_type}"), api)
            .await,
    )
    .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

fn keys(defs: &[Value]) -> Vec<&str> {
    defs.iter().filter_map(|d| d["key"].as_str()).collect()
}

async fn pipeline(app: &TestApp, api: &Session, id: &str) -> Value {
    json_of(app.get(&format!("/pipelines/{id}"), api).await).await
}

fn stage_names(pipeline: &Value) -> Vec<String> {
    pipeline["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect()
}

fn stage<'a>(pipeline: &'a Value, name: &str) -> &'a Value {
    pipeline["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no stage {name} in {pipeline}"))
}

fn str_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A signed-in sales rep's web client.
async fn sales_rep(app: &TestApp, api: &Session) -> (reqwest::Client, String) {
    let sales = app.member(api, "sales").await;
    let me = json_of(app.get("/me", &sales).await).await;
    web_sign_in(app, me["user"]["email"].as_str().unwrap(), PASSWORD).await
}

// ---------------------------------------------------------------------------------------------
// Custom fields over HTTP

async fn custom_field_pages_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    const LIST: &str = "/admin/custom-fields";

    let (status, page) = page_text(&admin, &app, LIST).await;
    assert_eq!(status, 200);
    assert!(page.contains("New custom field") && page.contains(r#"href="/admin/custom-fields""#));
    assert!(page.contains(r#"<option value="multi_select">"#), "{page}");
    let (_, settings) = page_text(&admin, &app, "/settings").await;
    assert!(
        settings.contains(r#"href="/admin/pipelines""#),
        "{settings}"
    );

    // Bad input: each message next to its field, what was typed kept, nothing written.
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &[
            ("record_type", "lead"),
            ("label", "  "),
            ("key", "Bad Key"),
            ("kind", "select"),
            ("options", "\n"),
            ("position", "first"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(
            r#"<p class="field-error" id="field-position-error">Position must be a whole number"#
        ),
        "{page}"
    );
    assert!(page.contains(r#"value="Bad Key""#));
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &[
            ("record_type", "lead"),
            ("label", "  "),
            ("key", "Bad Key"),
            ("kind", "select"),
            ("options", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="field-label-error">Label must be 1 to 100 characters</p>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="field-key-error">Key must be"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="field-options-error">Options a select field needs"#),
        "{page}"
    );
    assert!(page.contains(r#"aria-invalid="true" aria-describedby="field-label-error"#));
    assert!(page.contains(r#"<option value="select" selected>"#));
    assert!(definitions(&app, &api, "lead").await.is_empty());

    // A select field with its options, required.
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &[
            ("record_type", "lead"),
            ("label", "Tier"),
            ("key", "tier"),
            ("kind", "select"),
            ("options", "Gold\r\n Silver \r\n\r\n"),
            ("required", "true"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, LIST));
    let defs = definitions(&app, &api, "lead").await;
    assert_eq!(defs.len(), 1);
    assert_eq!(defs[0]["options"], json!(["Gold", "Silver"]));
    assert_eq!(defs[0]["required"], true);
    let tier = str_of(&defs[0]["id"]);
    let (_, page) = page_text(&admin, &app, LIST).await;
    assert!(
        page.contains("Added the custom field Tier to leads."),
        "{page}"
    );
    let (_, form) = page_text(&admin, &app, "/leads/new").await;
    assert!(form.contains(r#"<select id="lead-cf-tier" name="cf.tier" required>"#));

    // The same key again is the API's conflict, next to the key.
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &[
            ("record_type", "lead"),
            ("label", "Tier again"),
            ("key", "tier"),
            ("kind", "text"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="field-key-error">Key is already a lead custom field</p>"#),
        "{page}"
    );

    // Editing: an empty label is refused; an option a lead uses cannot be removed.
    let edit = format!("{LIST}/{tier}");
    let (status, page) = page_text(&admin, &app, &edit).await;
    assert_eq!(status, 200);
    assert!(page.contains("Gold\nSilver</textarea>"), "{page}");
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &edit,
        &[
            ("label", ""),
            ("kind", "select"),
            ("options", "Gold\nSilver"),
            ("position", "1"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="field-label-error">Label must be 1 to 100 characters</p>"#),
        "{page}"
    );
    let lead = app
        .post(
            "/leads",
            &api,
            json!({"last_name": "Lovelace", "custom_fields": {"tier": "Gold"}}),
        )
        .await;
    assert_eq!(lead.status(), 201);
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &edit,
        &[
            ("label", "Tier"),
            ("kind", "select"),
            ("options", "Silver"),
            ("position", "1"),
            ("required", "true"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(
            r#"id="field-options-error">Options cannot remove options that 1 record(s) use"#
        ),
        "{page}"
    );
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        &edit,
        &[
            ("label", "Customer tier"),
            ("kind", "select"),
            ("options", "Gold\nSilver\nBronze"),
            ("position", "1"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, edit.as_str()));
    let defs = definitions(&app, &api, "lead").await;
    assert_eq!(defs[0]["label"], "Customer tier");
    assert_eq!(defs[0]["options"], json!(["Gold", "Silver", "Bronze"]));
    assert_eq!(
        defs[0]["required"], false,
        "an unticked box clears required"
    );

    // Reordering: the second field moves up, and the lead form follows.
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &[
            ("record_type", "lead"),
            ("label", "Region"),
            ("key", "region"),
            ("kind", "text"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let defs = definitions(&app, &api, "lead").await;
    assert_eq!(keys(&defs), ["tier", "region"]);
    let region = str_of(&defs[1]["id"]);
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{LIST}/{region}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, LIST));
    let defs = definitions(&app, &api, "lead").await;
    assert_eq!(keys(&defs), ["region", "tier"]);
    let (_, form) = page_text(&admin, &app, "/leads/new").await;
    assert!(
        form.find("cf.region").unwrap() < form.find("cf.tier").unwrap(),
        "the lead form follows the new order"
    );
    // The first cannot move further up: a message, nothing changes.
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{LIST}/{region}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = page_text(&admin, &app, LIST).await;
    assert!(page.contains("Region cannot move up"), "{page}");
    assert_eq!(
        keys(&definitions(&app, &api, "lead").await),
        ["region", "tier"]
    );

    // Deleting removes the definition and its values, audited like the API's delete.
    let (status, location) = submit(&admin, &app, &csrf, &format!("{edit}/delete"), &[]).await;
    assert_eq!((status, location.as_str()), (303, LIST));
    assert_eq!(keys(&definitions(&app, &api, "lead").await), ["region"]);
    let leads = json_of(app.get("/leads", &api).await).await;
    assert_eq!(leads["data"][0]["custom_fields"], json!({}));
    let audit = json_of(
        app.get(
            &format!("/audit?resource=custom_fields&resource_id={tier}"),
            &api,
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(actions, ["delete", "update", "update", "create"]);
    assert_eq!(page_text(&admin, &app, &edit).await.0, 404);

    // A sales rep may fill custom fields in but not define them.
    let (rep, rep_csrf) = sales_rep(&app, &api).await;
    let (_, home) = page_text(&rep, &app, "/").await;
    assert!(!home.contains(r#"href="/admin/custom-fields""#));
    let region_page = format!("{LIST}/{region}");
    for path in [LIST, region_page.as_str()] {
        let (status, page) = page_text(&rep, &app, path).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("have access to this page"));
    }
    for path in [
        LIST.to_owned(),
        region_page.clone(),
        format!("{region_page}/move"),
        format!("{region_page}/delete"),
    ] {
        let (status, _) = submit(
            &rep,
            &app,
            &rep_csrf,
            &path,
            &[
                ("record_type", "lead"),
                ("label", "X"),
                ("key", "x"),
                ("kind", "text"),
                ("direction", "up"),
            ],
        )
        .await;
        assert_eq!(status, 403, "{path}");
    }
    assert_eq!(keys(&definitions(&app, &api, "lead").await), ["region"]);

    // Another company's field is not found.
    let other = app.other_company("Other Ltd").await;
    let me = json_of(app.get("/me", &other).await).await;
    let (outsider, outsider_csrf) =
        web_sign_in(&app, me["user"]["email"].as_str().unwrap(), ADMIN_PASSWORD).await;
    assert_eq!(page_text(&outsider, &app, &region_page).await.0, 404);
    let (status, _) = submit(
        &outsider,
        &app,
        &outsider_csrf,
        &format!("{region_page}/delete"),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(keys(&definitions(&app, &api, "lead").await), ["region"]);
}

rivet_tests::both!(custom_fields_are_defined_edited_reordered_and_deleted_on_their_admin_page => custom_field_pages_over_http);

// ---------------------------------------------------------------------------------------------
// Pipelines over HTTP

/// The new-pipeline form's fields: the name, then a row per stage.
fn pipeline_form<'a>(
    name: &'a str,
    stages: &[(&'a str, &'a str, &'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![("name", name)];
    for (stage, probability, category, outcome) in stages {
        pairs.extend([
            ("stage_name", *stage),
            ("stage_probability", *probability),
            ("stage_forecast_category", *category),
            ("stage_outcome", *outcome),
        ]);
    }
    pairs
}

async fn pipeline_pages_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    const LIST: &str = "/admin/pipelines";

    let (status, page) = page_text(&admin, &app, LIST).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Sales</a> <span class=\"badge badge-role\">default</span>"),
        "{page}"
    );
    // The new form starts with the default stages and spare rows.
    assert!(page.contains(r#"id="new-stage-0-name" name="stage_name" type="text" autocomplete="off" value="Qualification""#), "{page}");
    assert!(
        page.contains(r#"id="new-stage-7-name""#) && !page.contains(r#"id="new-stage-8-name""#)
    );

    // Bad rows: each message next to its row's field; an empty row is left out.
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &pipeline_form(
            "",
            &[
                ("Discovery", "10", "pipeline", "open"),
                ("", "", "pipeline", "open"),
                ("Commit", "140", "commit", "open"),
                ("Won", "100", "closed", "won"),
                ("Lost", "0", "omitted", "lost"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="pipeline-name-error">Name "#), "{page}");
    assert!(
        page.contains(r#"id="new-stage-2-probability-error">Stage 3 probability (%) must be between 0 and 100</p>"#),
        "{page}"
    );
    assert!(page.contains(r#"value="Discovery""#) && page.contains(r#"value="140""#));
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &pipeline_form(
            "Renewals",
            &[
                ("Discovery", "ten", "pipeline", "open"),
                ("Won", "100", "closed", "won"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(
            r#"id="new-stage-0-probability-error">Stage 1 probability (%) must be a whole number"#
        ),
        "{page}"
    );
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &pipeline_form(
            "Renewals",
            &[
                ("Discovery", "10", "pipeline", "open"),
                ("Won", "100", "closed", "won"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="pipeline-stages-error">Stages: a pipeline needs at least one open, one won and one lost stage (missing: lost)</p>"#),
        "{page}"
    );
    let listed = json_of(app.get("/pipelines", &api).await).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "nothing written"
    );

    // A valid pipeline: its page, the stages in order with their values.
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &pipeline_form(
            "Renewals",
            &[
                ("Discovery", "10", "pipeline", "open"),
                ("Commit", "70", "commit", "open"),
                ("", "", "pipeline", "open"),
                ("Won", "100", "closed", "won"),
                ("Lost", "0", "omitted", "lost"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 303);
    let id = location
        .strip_prefix("/admin/pipelines/")
        .expect("the pipeline's page")
        .to_owned();
    let renewals = pipeline(&app, &api, &id).await;
    assert_eq!(
        stage_names(&renewals),
        ["Discovery", "Commit", "Won", "Lost"]
    );
    assert_eq!(stage(&renewals, "Commit")["forecast_category"], "commit");
    assert_eq!(renewals["is_default"], false);
    let here = format!("{LIST}/{id}");
    let (status, page) = page_text(&admin, &app, &here).await;
    assert_eq!(status, 200);
    assert!(page.contains("Created the pipeline Renewals."));

    // A stage's probability changes; a bad one stays in its row with the message.
    let commit = str_of(&stage(&renewals, "Commit")["id"]);
    let commit_path = format!("{here}/stages/{commit}");
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &commit_path,
        &[
            ("name", "Commit"),
            ("probability", "101"),
            ("forecast_category", "commit"),
            ("outcome", "open"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!(r#"id="stage-{commit}-probability-error">Stage 2 probability (%) must be between 0 and 100</p>"#)),
        "{page}"
    );
    assert!(page.contains(r#"value="101""#));
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        &commit_path,
        &[
            ("name", "Commit"),
            ("probability", "75"),
            ("forecast_category", "best_case"),
            ("outcome", "open"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, here.as_str()));
    let renewals = pipeline(&app, &api, &id).await;
    assert_eq!(stage(&renewals, "Commit")["probability"], 75);
    assert_eq!(stage(&renewals, "Commit")["forecast_category"], "best_case");
    // The last won stage cannot become open: the API's rule next to the outcome.
    let won = str_of(&stage(&renewals, "Won")["id"]);
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{here}/stages/{won}"),
        &[
            ("name", "Won"),
            ("probability", "100"),
            ("forecast_category", "closed"),
            ("outcome", "open"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!(
            r#"id="stage-{won}-outcome-error">Stage 3 outcome a pipeline needs"#
        )),
        "{page}"
    );

    // Reordering and adding.
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{commit_path}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        stage_names(&pipeline(&app, &api, &id).await),
        ["Commit", "Discovery", "Won", "Lost"]
    );
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{here}/stages"),
        &[
            ("name", "Commit"),
            ("probability", "x"),
            ("forecast_category", "commit"),
            ("outcome", "open"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="new-stage-probability-error">Probability (%) must be a whole number"#),
        "{page}"
    );
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{here}/stages"),
        &[
            ("name", "Proposal"),
            ("probability", "40"),
            ("forecast_category", "nowhere"),
            ("outcome", "open"),
            ("position", "9"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="new-stage-forecast_category-error">"#),
        "{page}"
    );
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{here}/stages"),
        &[
            ("name", "Proposal"),
            ("probability", "40"),
            ("forecast_category", "best_case"),
            ("outcome", "open"),
            ("position", "2"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let renewals = pipeline(&app, &api, &id).await;
    assert_eq!(
        stage_names(&renewals),
        ["Commit", "Proposal", "Discovery", "Won", "Lost"]
    );

    // A stage with a deal in it is not deleted: the API's reason on the page, not a 500.
    let deal = app
        .post(
            "/deals",
            &api,
            json!({"name": "Renewal 2026", "pipeline_id": id, "stage_id": commit}),
        )
        .await;
    assert_eq!(deal.status(), 201);
    let (status, location) =
        submit(&admin, &app, &csrf, &format!("{commit_path}/delete"), &[]).await;
    assert_eq!((status, location.as_str()), (303, here.as_str()));
    let (_, page) = page_text(&admin, &app, &here).await;
    assert!(
        page.contains("The stage Commit is used by 1 records; move them to another stage first."),
        "{page}"
    );
    assert_eq!(stage_names(&pipeline(&app, &api, &id).await).len(), 5);
    let discovery = str_of(&stage(&renewals, "Discovery")["id"]);
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{here}/stages/{discovery}/delete"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        stage_names(&pipeline(&app, &api, &id).await),
        ["Commit", "Proposal", "Won", "Lost"]
    );

    // Settings: rename, and the default cannot be simply unset.
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &here,
        &[("name", "Renewals EMEA"), ("is_default", "true")],
    )
    .await;
    assert_eq!(status, 303);
    let renewals = pipeline(&app, &api, &id).await;
    assert_eq!(
        (renewals["name"].as_str(), renewals["is_default"].as_bool()),
        (Some("Renewals EMEA"), Some(true))
    );
    let (status, page) = submit(&admin, &app, &csrf, &here, &[("name", "Renewals EMEA")]).await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="pipeline-is_default-error">Default pipeline: a company always has a default pipeline"#), "{page}");
    let (status, page) = submit(
        &admin,
        &app,
        &csrf,
        &here,
        &[("name", " "), ("is_default", "true")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="pipeline-name-error">"#), "{page}");

    // Deleting: refused while deals are in it (or it is the default), done once empty.
    let sales = json_of(app.get("/pipelines", &api).await).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Sales")
        .map(|p| str_of(&p["id"]))
        .unwrap();
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{LIST}/{sales}"),
        &[("name", "Sales"), ("is_default", "true")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = submit(&admin, &app, &csrf, &format!("{here}/delete"), &[]).await;
    assert_eq!(status, 303);
    let (_, page) = page_text(&admin, &app, &here).await;
    assert!(
        page.contains("The pipeline Renewals EMEA is used by 1 records"),
        "{page}"
    );
    let (status, location) = submit(
        &admin,
        &app,
        &csrf,
        LIST,
        &pipeline_form(
            "Scratch",
            &[
                ("Open", "10", "pipeline", "open"),
                ("Won", "100", "closed", "won"),
                ("Lost", "0", "omitted", "lost"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 303);
    let (status, location) = submit(&admin, &app, &csrf, &format!("{location}/delete"), &[]).await;
    assert_eq!((status, location.as_str()), (303, LIST));
    assert_eq!(
        json_of(app.get("/pipelines", &api).await).await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Every change is in the pipeline's audit history, as the API writes it.
    let audit = json_of(
        app.get(&format!("/audit?resource=pipelines&resource_id={id}"), &api)
            .await,
    )
    .await;
    assert!(audit["data"].as_array().unwrap().len() >= 6, "{audit}");

    // A sales rep may open none of it; a wrong stage id is a 404.
    let (rep, rep_csrf) = sales_rep(&app, &api).await;
    for path in [LIST.to_owned(), here.clone()] {
        assert_eq!(page_text(&rep, &app, &path).await.0, 403, "{path}");
    }
    for path in [
        LIST.to_owned(),
        here.clone(),
        format!("{here}/delete"),
        format!("{here}/stages"),
        commit_path.clone(),
        format!("{commit_path}/move"),
        format!("{commit_path}/delete"),
    ] {
        let (status, _) = submit(
            &rep,
            &app,
            &rep_csrf,
            &path,
            &[("name", "X"), ("probability", "1"), ("direction", "up")],
        )
        .await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = submit(
        &admin,
        &app,
        &csrf,
        &format!("{LIST}/{sales}/stages/{commit}"),
        &[
            ("name", "X"),
            ("probability", "1"),
            ("forecast_category", "commit"),
            ("outcome", "open"),
        ],
    )
    .await;
    assert_eq!(status, 404, "a stage of another pipeline");
    assert_eq!(
        stage(&pipeline(&app, &api, &id).await, "Commit")["probability"],
        75
    );
}

rivet_tests::both!(pipelines_and_stages_are_created_edited_reordered_and_deleted_on_their_admin_pages => pipeline_pages_over_http);

// ---------------------------------------------------------------------------------------------
// A deal's time in each stage, over HTTP

async fn stage_times_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api = app.admin().await;
    let sales = json_of(app.get("/pipelines", &api).await).await["data"][0].clone();
    let deal = json_of(app.post("/deals", &api, json!({"name": "Anvils"})).await).await;
    let path = format!("/deals/{}", str_of(&deal["id"]));
    for name in ["Proposal", "Negotiation"] {
        let moved = app
            .patch(&path, &api, json!({"stage_id": stage(&sales, name)["id"]}))
            .await;
        assert_eq!(moved.status(), 200);
    }
    let (admin, _) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, page) = page_text(&admin, &app, &path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Time in each stage"), "{page}");
    let rows: Vec<&str> = page.split("<tr data-stage-time").skip(1).collect();
    assert_eq!(rows.len(), 3, "{page}");
    assert!(rows[0].contains("Qualification") && !rows[0].contains("aria-current"));
    assert!(rows[1].contains("Proposal") && rows[1].contains("<time datetime="));
    assert!(
        rows[2].contains(r#" aria-current="step""#)
            && rows[2].contains("Negotiation <span class=\"badge badge-role\">current</span>")
            && rows[2].contains(" so far"),
        "{}",
        rows[2]
    );
    // The left column of the current stage is empty; the others have a time.
    assert!(rows[2].contains(r#"<span class="muted">—</span>"#));
    assert!(rows[0].matches("<time datetime=").count() == 2);
}

rivet_tests::both!(a_deals_page_shows_how_long_it_spent_in_each_stage => stage_times_over_http);

// ---------------------------------------------------------------------------------------------
// In Chromium

/// Click the element at `xpath` and wait for the page it leads to; `confirm` accepts the
/// "are you sure" dialog of a destructive button first.
async fn click_and_wait(page: &Page<'_>, xpath: &str, confirm: bool) -> Result<()> {
    let here = page.path().await?;
    let target = page
        .client
        .find(Locator::XPath(xpath))
        .await
        .with_context(|| format!("{xpath} on {here}"))?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    target.click().await?;
    if confirm {
        page.client.accept_alert().await?;
    }
    page.wait_for_new_page()
        .await
        .with_context(|| format!("no new page after {xpath} on {here}"))?;
    page.shot(&format!("after {xpath}")).await
}

/// The labels of a custom fields table's rows, in order.
async fn field_labels(page: &Page<'_>, record_type: &str) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    for cell in page
        .client
        .find_all(Locator::Css(&format!(
            "#fields-{record_type} tbody td:nth-child(2) a"
        )))
        .await?
    {
        labels.push(cell.text().await?);
    }
    Ok(labels)
}

pub(super) async fn custom_field_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    sign_in_at(page, "/admin/custom-fields").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Custom fields") && nav.contains("Pipelines"),
        "admin navigation: {nav}"
    );

    // A select field with its options; an empty label first comes back next to its field.
    page.choose("#field-record_type", "Leads").await?;
    page.fill("field-key", "tier").await?;
    page.choose("#field-kind", "Select (one option)").await?;
    page.fill("field-options", "Gold\nSilver").await?;
    page.click_button("Add field").await?;
    let error = page
        .client
        .find(Locator::Id("field-label-error"))
        .await
        .context("the message next to the label")?
        .text()
        .await?;
    ensure!(
        error.contains("Label must be 1 to 100 characters"),
        "label message: {error}"
    );
    page.fill("field-label", "Tier").await?;
    page.client
        .find(Locator::Id("field-required"))
        .await?
        .click()
        .await?;
    page.click_button("Add field").await?;
    page.expect_text("Added the custom field Tier to leads.")
        .await?;

    // It is on the lead form, with its options.
    page.goto("/leads/new").await?;
    let options = page
        .client
        .find(Locator::Id("lead-cf-tier"))
        .await
        .context("the tier select on the lead form")?
        .text()
        .await?;
    ensure!(
        options.contains("Gold") && options.contains("Silver"),
        "options: {options}"
    );

    // Edit it: a new label and one more option.
    page.goto("/admin/custom-fields").await?;
    click_and_wait(
        page,
        "//a[starts-with(normalize-space(.), 'Edit') and contains(., 'Tier')]",
        false,
    )
    .await?;
    page.fill("field-label", "Customer tier").await?;
    page.fill("field-options", "Gold\nSilver\nBronze").await?;
    page.click_button("Save changes").await?;
    page.expect_text("Saved the custom field Customer tier.")
        .await?;

    // A second field, then it moves above the first.
    page.goto("/admin/custom-fields").await?;
    page.choose("#field-record_type", "Leads").await?;
    page.fill("field-label", "Region").await?;
    page.fill("field-key", "region").await?;
    page.choose("#field-kind", "Text").await?;
    page.click_button("Add field").await?;
    page.expect_text("Added the custom field Region to leads.")
        .await?;
    let before = field_labels(page, "lead").await?;
    ensure!(
        before == ["Customer tier", "Region"],
        "order before: {before:?}"
    );
    click_and_wait(
        page,
        "//tr[.//a[normalize-space(.)='Region']]//button[@value='up']",
        false,
    )
    .await?;
    page.expect_text("Moved Region up.").await?;
    let after = field_labels(page, "lead").await?;
    ensure!(
        after == ["Region", "Customer tier"],
        "order after: {after:?}"
    );
    let defs = definitions(app, &api, "lead").await;
    ensure!(keys(&defs) == ["region", "tier"], "stored order: {defs:?}");

    // Delete the tier field; the dialog asks first.
    click_and_wait(
        page,
        "//a[starts-with(normalize-space(.), 'Edit') and contains(., 'Customer tier')]",
        false,
    )
    .await?;
    click_and_wait(
        page,
        "//button[starts-with(normalize-space(.), 'Delete')]",
        true,
    )
    .await?;
    page.expect_text("Deleted the custom field Customer tier")
        .await?;
    let defs = definitions(app, &api, "lead").await;
    ensure!(keys(&defs) == ["region"], "left: {defs:?}");
    Ok(())
}

/// The stage names in a pipeline page's table, in order.
async fn stage_rows(page: &Page<'_>) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for input in page
        .client
        .find_all(Locator::Css("tr[data-stage-id] input[name='name']"))
        .await?
    {
        names.push(input.prop("value").await?.unwrap_or_default());
    }
    Ok(names)
}

pub(super) async fn pipeline_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let api = app.admin().await;
    sign_in_at(page, "/admin/pipelines").await?;

    // A new pipeline: its own stages over the prefilled default rows, the rest left empty.
    page.fill("pipeline-name", "Partners").await?;
    for (row, (name, probability, category, outcome)) in [
        ("Sourced", "10", "Pipeline", "Open"),
        ("Vetted", "30", "Pipeline", "Open"),
        ("Signed", "100", "Closed", "Won"),
        ("Declined", "0", "Omitted", "Lost"),
        ("", "", "Pipeline", "Open"),
        ("", "", "Pipeline", "Open"),
    ]
    .into_iter()
    .enumerate()
    {
        page.fill(&format!("new-stage-{row}-name"), name).await?;
        page.fill(&format!("new-stage-{row}-probability"), probability)
            .await?;
        page.choose(&format!("#new-stage-{row}-forecast_category"), category)
            .await?;
        page.choose(&format!("#new-stage-{row}-outcome"), outcome)
            .await?;
    }
    page.click_button("Create pipeline").await?;
    page.expect_text("Created the pipeline Partners.").await?;
    let path = page.path().await?;
    let id = path
        .strip_prefix("/admin/pipelines/")
        .with_context(|| format!("on the pipeline's page: {path}"))?
        .to_owned();
    let names = stage_rows(page).await?;
    ensure!(
        names == ["Sourced", "Vetted", "Signed", "Declined"],
        "stages: {names:?}"
    );

    // Change a stage's probability in its row.
    let stored = pipeline(app, &api, &id).await;
    let vetted = str_of(&stage(&stored, "Vetted")["id"]);
    page.fill(&format!("stage-{vetted}-probability"), "35")
        .await?;
    click_and_wait(
        page,
        &format!("//tr[@data-stage-id='{vetted}']//button[@data-save-stage]"),
        false,
    )
    .await?;
    page.expect_text("Saved the stage Vetted.").await?;
    let stored = pipeline(app, &api, &id).await;
    ensure!(
        stage(&stored, "Vetted")["probability"] == 35,
        "probability: {stored}"
    );

    // Reorder: Vetted moves up, above Sourced.
    click_and_wait(
        page,
        &format!("//tr[@data-stage-id='{vetted}']//button[@data-move-up]"),
        false,
    )
    .await?;
    page.expect_text("Moved the stage Vetted up.").await?;
    let names = stage_rows(page).await?;
    ensure!(
        names == ["Vetted", "Sourced", "Signed", "Declined"],
        "reordered: {names:?}"
    );

    // Add a stage, then remove Sourced.
    page.fill("new-stage-name", "Onboarding").await?;
    page.fill("new-stage-probability", "90").await?;
    page.choose("#new-stage-forecast_category", "Commit")
        .await?;
    page.fill("new-stage-position", "3").await?;
    page.click_button("Add stage").await?;
    page.expect_text("Added the stage Onboarding.").await?;
    let sourced = str_of(&stage(&stored, "Sourced")["id"]);
    click_and_wait(
        page,
        &format!("//tr[@data-stage-id='{sourced}']//button[@data-delete-stage]"),
        true,
    )
    .await?;
    page.expect_text("Deleted the stage Sourced.").await?;
    let names = stage_rows(page).await?;
    ensure!(
        names == ["Vetted", "Onboarding", "Signed", "Declined"],
        "after removing: {names:?}"
    );
    ensure!(
        stage_names(&pipeline(app, &api, &id).await) == names,
        "stored as shown"
    );

    // A deal of the pipeline moved on its page shows its time in each stage.
    let stored = pipeline(app, &api, &id).await;
    let deal = json_of(
        app.post(
            "/deals",
            &api,
            json!({"name": "Partner deal", "pipeline_id": id, "stage_id": stage(&stored, "Vetted")["id"]}),
        )
        .await,
    )
    .await;
    let deal_path = format!("/deals/{}", str_of(&deal["id"]));
    page.goto(&deal_path).await?;
    page.choose("#deal-stage_id", "Onboarding").await?;
    page.click_button("Move").await?;
    page.expect_text("Moved Partner deal.").await?;
    page.expect_text("Time in each stage").await?;
    let mut rows = Vec::new();
    for row in page
        .client
        .find_all(Locator::Css("tr[data-stage-time]"))
        .await?
    {
        rows.push(row.text().await?);
    }
    ensure!(rows.len() == 2, "two stays: {rows:?}");
    ensure!(
        rows[0].starts_with("Vetted") && !rows[0].contains("current"),
        "first: {}",
        rows[0]
    );
    ensure!(
        rows[1].starts_with("Onboarding current") && rows[1].ends_with("so far"),
        "current: {}",
        rows[1]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_admin_defines_edits_reorders_and_deletes_custom_fields_in_the_browser() {
    super::journey_on_both(super::Journey::AdminCustomFields).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_admin_builds_a_pipeline_in_the_browser_and_a_deal_shows_its_time_in_each_stage() {
    super::journey_on_both(super::Journey::AdminPipelines).await;
}
