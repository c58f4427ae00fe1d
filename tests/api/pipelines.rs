//! Pipelines and stages: the default pipeline of a new company, creating, renaming, reordering and
//! deleting with audit rows, one default at a time, bad input, tenant isolation and who may
//! change them (settings.update) or read them (deals.read).

use reqwest::Method;
use rivet_server::http::router::Access;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

async fn pipelines_of(app: &TestApp, who: &Session) -> Vec<Value> {
    let response = app.get("/pipelines", who).await;
    assert_eq!(response.status(), 200);
    json_of(response).await["data"].as_array().unwrap().clone()
}

fn stage_names(pipeline: &Value) -> Vec<String> {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn stage_id(pipeline: &Value, name: &str) -> String {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("stage {name}"))
        .to_owned()
}

fn three_stages() -> Value {
    json!([
        {"name": "Open", "probability": 30, "forecast_category": "pipeline"},
        {"name": "Won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
        {"name": "Lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
    ])
}

async fn create(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/pipelines", who, body).await;
    assert_eq!(response.status(), 201);
    json_of(response).await
}

async fn audit_actions(app: &TestApp, who: &Session, id: &str) -> Vec<String> {
    let page = json_of(
        app.get(
            &format!("/audit?resource=pipelines&resource_id={id}&limit=100"),
            who,
        )
        .await,
    )
    .await;
    let mut actions: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse(); // oldest first
    actions
}

async fn a_new_company_has_the_default_sales_pipeline_with_six_stages(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    for who in [&admin, &globex] {
        let pipelines = pipelines_of(&app, who).await;
        assert_eq!(pipelines.len(), 1);
        let sales = &pipelines[0];
        assert_eq!(sales["name"], "Sales");
        assert_eq!(sales["is_default"], true);
        let stages: Vec<(String, i64, String, String, i64)> = sales["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["probability"].as_i64().unwrap(),
                    s["forecast_category"].as_str().unwrap().to_owned(),
                    s["outcome"].as_str().unwrap().to_owned(),
                    s["position"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected = [
            ("Qualification", 10, "pipeline", "open"),
            ("Needs analysis", 20, "pipeline", "open"),
            ("Proposal", 50, "best_case", "open"),
            ("Negotiation", 80, "commit", "open"),
            ("Closed won", 100, "closed", "won"),
            ("Closed lost", 0, "omitted", "lost"),
        ];
        assert_eq!(stages.len(), expected.len());
        for (i, (got, want)) in stages.iter().zip(expected).enumerate() {
            assert_eq!(
                (got.0.as_str(), got.1, got.2.as_str(), got.3.as_str(), got.4),
                (want.0, want.1, want.2, want.3, i as i64 + 1)
            );
        }
    }
    // Its creation is on the record.
    let sales = &pipelines_of(&app, &admin).await[0];
    assert_eq!(
        audit_actions(&app, &admin, sales["id"].as_str().unwrap()).await,
        ["create"]
    );
}

async fn pipelines_are_created_renamed_reordered_and_deleted_with_audit_rows(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;

    // Without stages a pipeline gets the default ones.
    let renewals = create(&app, &admin, json!({"name": "Renewals"})).await;
    assert_eq!(renewals["is_default"], false);
    assert_eq!(renewals["position"], 2);
    assert_eq!(stage_names(&renewals).len(), 6);

    let partners = create(
        &app,
        &admin,
        json!({"name": "Partners", "stages": three_stages()}),
    )
    .await;
    let id = partners["id"].as_str().unwrap().to_owned();
    assert_eq!(stage_names(&partners), ["Open", "Won", "Lost"]);
    assert_eq!(partners["stages"][1]["outcome"], "won");
    assert_eq!(partners["stages"][0]["outcome"], "open");
    let shown = json_of(app.get(&format!("/pipelines/{id}"), &admin).await).await;
    assert_eq!(shown["stages"], partners["stages"]);

    // Rename.
    let renamed = json_of(
        app.patch(
            &format!("/pipelines/{id}"),
            &admin,
            json!({"name": "Channel partners"}),
        )
        .await,
    )
    .await;
    assert_eq!(renamed["name"], "Channel partners");

    // Add a stage in second place; the others move down.
    let response = app
        .post(
            &format!("/pipelines/{id}/stages"),
            &admin,
            json!({"name": "Demo", "probability": 40, "forecast_category": "best_case", "position": 2}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let demo = json_of(response).await;
    assert_eq!(demo["position"], 2);
    assert_eq!(demo["outcome"], "open");
    let now = json_of(app.get(&format!("/pipelines/{id}"), &admin).await).await;
    assert_eq!(stage_names(&now), ["Open", "Demo", "Won", "Lost"]);
    let positions: Vec<i64> = now["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3, 4]);

    // Move and edit a stage in one change.
    let demo_id = demo["id"].as_str().unwrap();
    let moved = json_of(
        app.patch(
            &format!("/pipelines/{id}/stages/{demo_id}"),
            &admin,
            json!({"position": 1, "probability": 25, "forecast_category": "commit", "name": "Live demo"}),
        )
        .await,
    )
    .await;
    assert_eq!(moved["position"], 1);
    assert_eq!(moved["probability"], 25);
    assert_eq!(moved["forecast_category"], "commit");
    assert_eq!(moved["id"], demo["id"], "a stage keeps its id");
    let now = json_of(app.get(&format!("/pipelines/{id}"), &admin).await).await;
    assert_eq!(stage_names(&now), ["Live demo", "Open", "Won", "Lost"]);

    // Reorder all at once.
    let order = [
        stage_id(&now, "Open"),
        stage_id(&now, "Live demo"),
        stage_id(&now, "Lost"),
        stage_id(&now, "Won"),
    ];
    let response = app
        .put(
            &format!("/pipelines/{id}/stages/order"),
            &admin,
            json!({"stage_ids": order}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let reordered = json_of(response).await;
    assert_eq!(
        stage_names(&reordered),
        ["Open", "Live demo", "Lost", "Won"]
    );

    // Delete a stage; the rest close the gap.
    let response = app
        .delete(&format!("/pipelines/{id}/stages/{demo_id}"), &admin)
        .await;
    assert_eq!(response.status(), 204);
    let now = json_of(app.get(&format!("/pipelines/{id}"), &admin).await).await;
    assert_eq!(stage_names(&now), ["Open", "Lost", "Won"]);
    assert_eq!(now["stages"][2]["position"], 3);

    // Delete the pipeline.
    let response = app.delete(&format!("/pipelines/{id}"), &admin).await;
    assert_eq!(response.status(), 204);
    assert_problem(app.get(&format!("/pipelines/{id}"), &admin).await, 404).await;
    assert_eq!(pipelines_of(&app, &admin).await.len(), 2);

    assert_eq!(
        audit_actions(&app, &admin, &id).await,
        [
            "create", "update", "update", "update", "update", "update", "delete"
        ]
    );
    let page = json_of(
        app.get(
            &format!("/audit?resource=pipelines&resource_id={id}&action=update&limit=100"),
            &admin,
        )
        .await,
    )
    .await;
    let rename = page["data"].as_array().unwrap().last().unwrap();
    assert_eq!(rename["changes"]["name"]["before"], "Partners");
    assert_eq!(rename["changes"]["name"]["after"], "Channel partners");
}

async fn a_company_has_one_default_pipeline_at_a_time(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let defaults = |pipelines: Vec<Value>| -> Vec<String> {
        pipelines
            .iter()
            .filter(|p| p["is_default"] == true)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let sales_id = pipelines_of(&app, &admin).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let other = create(&app, &admin, json!({"name": "Other"})).await;
    assert_eq!(defaults(pipelines_of(&app, &admin).await), ["Sales"]);

    let enterprise = create(
        &app,
        &admin,
        json!({"name": "Enterprise", "is_default": true}),
    )
    .await;
    assert_eq!(enterprise["is_default"], true);
    assert_eq!(defaults(pipelines_of(&app, &admin).await), ["Enterprise"]);

    let response = app
        .patch(
            &format!("/pipelines/{}", other["id"].as_str().unwrap()),
            &admin,
            json!({"is_default": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(defaults(pipelines_of(&app, &admin).await), ["Other"]);

    // The default is moved, never removed.
    let problem = assert_problem(
        app.patch(
            &format!("/pipelines/{}", other["id"].as_str().unwrap()),
            &admin,
            json!({"is_default": false}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "is_default");
    let problem = assert_problem(
        app.delete(
            &format!("/pipelines/{}", other["id"].as_str().unwrap()),
            &admin,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "is_default");
    // The former default is an ordinary pipeline now and may go.
    let response = app.delete(&format!("/pipelines/{sales_id}"), &admin).await;
    assert_eq!(response.status(), 204);
    assert_eq!(defaults(pipelines_of(&app, &admin).await), ["Other"]);
}

async fn bad_pipeline_and_stage_input_is_refused_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let stage = |probability: Value, category: &str| {
        json!([
            {"name": "Open", "probability": probability, "forecast_category": category},
            {"name": "Won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
            {"name": "Lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
        ])
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": ""}), 422, "name"),
        (json!({"name": "   "}), 422, "name"),
        (
            json!({"name": "P", "stages": stage(json!(-1), "pipeline")}),
            422,
            "stages[0].probability",
        ),
        (
            json!({"name": "P", "stages": stage(json!(101), "pipeline")}),
            422,
            "stages[0].probability",
        ),
        (
            json!({"name": "P", "stages": stage(json!("x"), "pipeline")}),
            422,
            "stages[0].probability",
        ),
        (
            json!({"name": "P", "stages": stage(json!(10), "maybe")}),
            422,
            "stages[0].forecast_category",
        ),
        (
            json!({"name": "P", "stages": [{"name": "Open", "probability": 10, "forecast_category": "pipeline"}]}),
            422,
            "stages",
        ),
        (json!({"name": "P", "stages": []}), 422, "stages"),
        (
            json!({"name": "P", "stages": [
                {"name": "Open", "probability": 10, "forecast_category": "pipeline", "outcome": "maybe"},
            ]}),
            422,
            "stages[0].outcome",
        ),
        (json!({"name": "Sales"}), 409, "name"),
    ];
    for (body, status, field) in cases {
        let problem =
            assert_problem(app.post("/pipelines", &admin, body.clone()).await, status).await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{body} should name {field}: {problem}"
        );
    }

    let sales = pipelines_of(&app, &admin).await[0].clone();
    let id = sales["id"].as_str().unwrap();
    let stages = format!("/pipelines/{id}/stages");
    let add_cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "X", "probability": -1, "forecast_category": "pipeline"}),
            422,
            "probability",
        ),
        (
            json!({"name": "X", "probability": 101, "forecast_category": "pipeline"}),
            422,
            "probability",
        ),
        (
            json!({"name": "X", "probability": "x", "forecast_category": "pipeline"}),
            422,
            "probability",
        ),
        (
            json!({"name": "X", "probability": 5, "forecast_category": "maybe"}),
            422,
            "forecast_category",
        ),
        (
            json!({"name": "", "probability": 5, "forecast_category": "pipeline"}),
            422,
            "name",
        ),
        (
            json!({"name": "X", "probability": 5, "forecast_category": "pipeline", "position": 0}),
            422,
            "position",
        ),
        (
            json!({"name": "X", "probability": 5, "forecast_category": "pipeline", "position": 8}),
            422,
            "position",
        ),
        (
            json!({"name": "Proposal", "probability": 5, "forecast_category": "pipeline"}),
            409,
            "name",
        ),
    ];
    for (body, status, field) in add_cases {
        let problem = assert_problem(app.post(&stages, &admin, body.clone()).await, status).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }

    let proposal = stage_id(&sales, "Proposal");
    let won = stage_id(&sales, "Closed won");
    let lost = stage_id(&sales, "Closed lost");
    let patch_cases: Vec<(String, Value, u16, &str)> = vec![
        (
            proposal.clone(),
            json!({"probability": -1}),
            422,
            "probability",
        ),
        (
            proposal.clone(),
            json!({"probability": "x"}),
            422,
            "probability",
        ),
        (
            proposal.clone(),
            json!({"forecast_category": "soon"}),
            422,
            "forecast_category",
        ),
        (proposal.clone(), json!({"name": ""}), 422, "name"),
        (proposal.clone(), json!({"position": 7}), 422, "position"),
        (
            proposal.clone(),
            json!({"name": "Negotiation"}),
            409,
            "name",
        ),
        (won.clone(), json!({"outcome": "open"}), 422, "outcome"),
    ];
    for (stage, body, status, field) in patch_cases {
        let problem = assert_problem(
            app.patch(&format!("{stages}/{stage}"), &admin, body.clone())
                .await,
            status,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    // The last won and the last lost stage stay.
    for stage in [&won, &lost] {
        assert_problem(app.delete(&format!("{stages}/{stage}"), &admin).await, 409).await;
    }
    // A second pipeline with the default's name is taken; renaming into it too.
    let other = create(&app, &admin, json!({"name": "Other"})).await;
    let problem = assert_problem(
        app.patch(
            &format!("/pipelines/{}", other["id"].as_str().unwrap()),
            &admin,
            json!({"name": "Sales"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "name");
    // An order must be exactly the pipeline's stages.
    let mut ids: Vec<String> = sales["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut orders = vec![ids[1..].to_vec()];
    let mut doubled = ids.clone();
    doubled[0] = doubled[1].clone();
    orders.push(doubled);
    ids.push(stage_id(&other, "Proposal"));
    orders.push(ids);
    for order in orders {
        let problem = assert_problem(
            app.put(
                &format!("{stages}/order"),
                &admin,
                json!({"stage_ids": order}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "stage_ids");
    }
    // Nothing above changed the pipeline.
    let after = pipelines_of(&app, &admin).await[0].clone();
    assert_eq!(after["stages"], sales["stages"]);
}

async fn another_companys_pipelines_and_stages_are_not_found(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let theirs = pipelines_of(&app, &globex).await[0].clone();
    let ours = create(&app, &acme, json!({"name": "Second"})).await;
    let our_default = pipelines_of(&app, &acme).await[0].clone();
    let their_stage = stage_id(&theirs, "Proposal");
    let their_id = theirs["id"].as_str().unwrap();

    let routes = rivet_server::api::api_route_list();
    let mut checked = 0;
    for route in routes
        .iter()
        .filter(|r| r.path.starts_with("/pipelines/{id}") && r.access != Access::Public)
    {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let body = match (route.method.as_str(), route.path.as_str()) {
            ("PATCH", "/pipelines/{id}") => json!({"name": "Mine now"}),
            ("POST", _) => {
                json!({"name": "Sneaky", "probability": 5, "forecast_category": "pipeline"})
            }
            ("PUT", _) => json!({"stage_ids": []}),
            ("PATCH", _) => json!({"name": "Mine now"}),
            _ => json!({}),
        };
        // Another company's pipeline, and its stage under it.
        let path = route
            .path
            .replace("{id}", their_id)
            .replace("{stage_id}", &their_stage);
        let response = app
            .api(method.clone(), &path, Some(&acme))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404).await;
        if route.path.contains("{stage_id}") {
            // Another company's stage under our pipeline, and our stage under another of ours.
            for (pipeline, stage) in [
                (our_default["id"].as_str().unwrap(), their_stage.clone()),
                (
                    ours["id"].as_str().unwrap(),
                    stage_id(&our_default, "Proposal"),
                ),
            ] {
                let path = route
                    .path
                    .replace("{id}", pipeline)
                    .replace("{stage_id}", &stage);
                let response = app
                    .api(method.clone(), &path, Some(&acme))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_problem(response, 404).await;
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 7, "every pipelines route with an id was checked");
    // Nothing of Globex's changed.
    assert_eq!(pipelines_of(&app, &globex).await[0], theirs);
}

async fn reps_and_read_only_users_read_pipelines_but_only_admins_change_them(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = pipelines_of(&app, &admin).await[0].clone();
    let id = sales["id"].as_str().unwrap();
    let stage = stage_id(&sales, "Proposal");
    for role in ["sales", "read_only", "manager", "support"] {
        let who = app.member(&admin, role).await;
        assert_eq!(pipelines_of(&app, &who).await.len(), 1, "{role} lists");
        let response = app.get(&format!("/pipelines/{id}"), &who).await;
        assert_eq!(response.status(), 200, "{role} reads one");
        let changes: Vec<(Method, String, Value)> = vec![
            (Method::POST, "/pipelines".into(), json!({"name": "Mine"})),
            (
                Method::PATCH,
                format!("/pipelines/{id}"),
                json!({"name": "Mine"}),
            ),
            (Method::DELETE, format!("/pipelines/{id}"), json!({})),
            (
                Method::POST,
                format!("/pipelines/{id}/stages"),
                json!({"name": "X", "probability": 5, "forecast_category": "pipeline"}),
            ),
            (
                Method::PATCH,
                format!("/pipelines/{id}/stages/{stage}"),
                json!({"probability": 1}),
            ),
            (
                Method::DELETE,
                format!("/pipelines/{id}/stages/{stage}"),
                json!({}),
            ),
            (
                Method::PUT,
                format!("/pipelines/{id}/stages/order"),
                json!({"stage_ids": []}),
            ),
        ];
        for (method, path, body) in changes {
            let response = app
                .api(method.clone(), &path, Some(&who))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_problem(response, 403).await;
        }
    }
    assert_eq!(pipelines_of(&app, &admin).await[0], sales);
}

both!(
    a_new_company_has_the_default_sales_pipeline_with_six_stages,
    pipelines_are_created_renamed_reordered_and_deleted_with_audit_rows,
    a_company_has_one_default_pipeline_at_a_time,
    bad_pipeline_and_stage_input_is_refused_naming_the_field,
    another_companys_pipelines_and_stages_are_not_found,
    reps_and_read_only_users_read_pipelines_but_only_admins_change_them,
);
