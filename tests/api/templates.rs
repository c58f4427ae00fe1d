//! E-mail templates (issue 15 §2): stored through the definitions layer at `/email-templates`
//! (who may change them, another company's not found), checked when written (a part that does
//! not parse or uses an unknown variable is a 422 naming the field and line; nothing outside the
//! sandbox is reachable and no render runs away) and previewed for a record as the caller
//! reads it (values escaped in the HTML body only, a fallback for empty values, custom
//! fields), on SQLite and PostgreSQL.

use reqwest::Response;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

fn template(name: &str) -> Value {
    json!({
        "name": name,
        "description": "First touch",
        "record_type": "lead",
        "subject": "Hello {{ lead.first_name | default(\"there\") }}",
        "html": "<p>Hi {{ lead.first_name }},</p>\n<p>{{ owner.name }} of {{ company.name }}</p>",
        "text": "Hi {{ lead.first_name }},\n{{ owner.name }} of {{ company.name }}",
    })
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body.clone()).await;
    assert_eq!(
        response.status(),
        201,
        "create {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap_or_default().to_owned()
}

/// The one field error of a 422 and its message.
async fn the_error(response: Response) -> (String, String) {
    let problem = assert_problem(response, 422).await;
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{problem}");
    (
        errors[0]["field"].as_str().unwrap_or_default().to_owned(),
        errors[0]["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn templates_round_trip(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let created = create(&app, &admin, "/email-templates", template("Welcome")).await;
    assert_eq!(created["name"], "Welcome");
    assert_eq!(created["record_type"], "lead");
    assert_eq!(created["active"], true);
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    let path = format!("/email-templates/{}", id(&created));

    let shown = json_of(app.get(&path, &admin).await).await;
    assert_eq!(shown, created);
    let list = json_of(app.get("/email-templates", &admin).await).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");

    let mut changed = template("Welcome back");
    changed["active"] = json!(false);
    changed["text"] = json!("Bye {{ lead.last_name }}");
    let response = app.put(&path, &admin, changed).await;
    assert_eq!(response.status(), 200);
    let updated = json_of(response).await;
    assert_eq!(updated["name"], "Welcome back");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["text"], "Bye {{ lead.last_name }}");

    // A second template of the same name is a conflict on the name.
    let response = app
        .post("/email-templates", &admin, template("Welcome back"))
        .await;
    let problem = assert_problem(response, 409).await;
    assert_eq!(problem["errors"][0]["field"], "name", "{problem}");

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
}

async fn a_rep_reads_templates_but_cannot_change_them(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let created = create(&app, &admin, "/email-templates", template("Welcome")).await;
    assert_eq!(app.get("/email-templates", &rep).await.status(), 200);
    let path = format!("/email-templates/{}", id(&created));
    assert_eq!(app.get(&path, &rep).await.status(), 200);
    assert_problem(
        app.post("/email-templates", &rep, template("Mine")).await,
        403,
    )
    .await;
    assert_problem(app.put(&path, &rep, template("Mine")).await, 403).await;
    assert_problem(app.delete(&path, &rep).await, 403).await;
    // A manager changes them.
    let manager = app.member(&admin, "manager").await;
    create(&app, &manager, "/email-templates", template("Managers'")).await;
}

async fn a_template_that_does_not_parse_is_named_with_its_line(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mut body = template("Broken");
    body["html"] = json!("<p>Hi</p>\n<p>\n{% if lead.first_name %}\n{{ lead.first_name }}");
    let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
    assert_eq!(field, "html");
    assert!(message.starts_with("line "), "{message}");
    assert!(message.contains("syntax error"), "{message}");

    let mut body = template("Broken");
    body["text"] = json!("one\ntwo\n{{ lead.first_name }");
    let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
    assert_eq!(field, "text");
    assert!(message.starts_with("line 3:"), "{message}");
    // Nothing was written.
    let list = json_of(app.get("/email-templates", &admin).await).await;
    assert_eq!(list["data"], json!([]));
}

async fn an_unknown_variable_is_named(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mut body = template("Unknown");
    body["html"] = json!("<p>Hi</p>\n{{ lead.nickname }}");
    let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
    assert_eq!(field, "html");
    assert_eq!(message, "line 2: unknown variable lead.nickname");

    // A lead template does not know a deal, nor anything but its context.
    for (source, variable) in [
        ("{{ deal.name }}", "deal.name"),
        ("{{ config }}", "config"),
        ("{{ contact.first_name }}", "contact.first_name"),
    ] {
        let mut body = template("Unknown");
        body["subject"] = json!(source);
        let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
        assert_eq!(field, "subject");
        assert!(
            message.contains(&format!("unknown variable {variable}")),
            "{source}: {message}"
        );
    }
}

async fn nothing_outside_the_sandbox_is_reachable_and_no_render_runs_away(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for (source, expect) in [
        ("{% include \"secret.html\" %}", "not allowed"),
        ("{% import \"macros.html\" as m %}", "not allowed"),
        ("{% extends \"base.html\" %}", "not allowed"),
        ("{{ range(100000000) }}", "unknown variable range"),
        (
            "{% for i in range(100000000) %}x{% endfor %}",
            "unknown variable range",
        ),
        ("{{ \"x\" * 100000000 }}", "* operator"),
        (
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            "line 1",
        ),
    ] {
        let mut body = template("Escape");
        body["html"] = json!(source);
        let started = std::time::Instant::now();
        let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
        assert_eq!(field, "html", "{source}");
        assert!(message.contains(expect), "{source}: {message}");
        assert!(started.elapsed().as_secs() < 10, "{source} took too long");
    }

    // A loop over the record's own data is bounded when rendered.
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Loop", "tags": (0..20).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
    )
    .await;
    let loops = "{% for a in lead.tags %}{% for b in lead.tags %}{% for c in lead.tags %}\
                 {% for d in lead.tags %}.{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
    let mut body = template("Loops");
    body["text"] = json!(loops);
    let started = std::time::Instant::now();
    let response = app
        .post(
            "/email-templates/preview",
            &admin,
            json!({"template": body, "record_id": id(&lead)}),
        )
        .await;
    let (field, message) = the_error(response).await;
    assert_eq!(field, "text");
    assert!(message.contains("too much work"), "{message}");
    assert!(started.elapsed().as_secs() < 10);
}

async fn a_preview_renders_the_leads_values_escaped_in_html_only(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "<script>alert(1)</script>", "last_name": "Doe"}),
    )
    .await;
    let saved = create(&app, &admin, "/email-templates", template("Welcome")).await;
    let response = app
        .post(
            &format!("/email-templates/{}/preview", id(&saved)),
            &admin,
            json!({"record_id": id(&lead)}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let rendered = json_of(response).await;
    // The owner and the company are the admin's.
    let me = json_of(app.get("/me", &admin).await).await;
    let owner = me["user"]["name"].as_str().unwrap_or_default();
    assert!(!owner.is_empty(), "{me}");
    assert_eq!(
        rendered["html"],
        format!("<p>Hi &lt;script&gt;alert(1)&lt;&#x2f;script&gt;,</p>\n<p>{owner} of Acme</p>"),
        "{rendered}"
    );
    assert_eq!(
        rendered["text"],
        format!("Hi <script>alert(1)</script>,\n{owner} of Acme"),
    );
    assert_eq!(rendered["subject"], "Hello <script>alert(1)</script>");

    // The unsaved editor's preview renders the same.
    let unsaved = app
        .post(
            "/email-templates/preview",
            &admin,
            json!({"template": template("Unsaved"), "record_id": id(&lead)}),
        )
        .await;
    assert_eq!(unsaved.status(), 200);
    assert_eq!(json_of(unsaved).await, rendered);
}

async fn an_empty_value_falls_back(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Doe"})).await;
    let mut body = template("Fallback");
    body["text"] = json!("Hi {{ lead.first_name | default(\"there\") }}!{{ lead.title }}");
    let response = app
        .post(
            "/email-templates/preview",
            &admin,
            json!({"template": body, "record_id": id(&lead)}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let rendered = json_of(response).await;
    assert_eq!(rendered["text"], "Hi there!");
    assert_eq!(rendered["subject"], "Hello there");
}

async fn custom_field_variables_are_checked_and_rendered(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    create(
        &app,
        &admin,
        "/custom-fields",
        json!({"record_type": "lead", "key": "plan", "label": "Plan", "kind": "text"}),
    )
    .await;
    let lead = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Doe", "custom_fields": {"plan": "Gold"}}),
    )
    .await;
    let mut body = template("Plan");
    body["text"] = json!("Your plan: {{ lead.custom.plan }}");
    let saved = create(&app, &admin, "/email-templates", body).await;
    let rendered = json_of(
        app.post(
            &format!("/email-templates/{}/preview", id(&saved)),
            &admin,
            json!({"record_id": id(&lead)}),
        )
        .await,
    )
    .await;
    assert_eq!(rendered["text"], "Your plan: Gold");

    // A key the company has not defined is named.
    let mut body = template("Nope");
    body["text"] = json!("ok\n{{ lead.custom.colour }}");
    let (field, message) = the_error(app.post("/email-templates", &admin, body).await).await;
    assert_eq!(field, "text");
    assert!(
        message.contains("line 2") && message.contains("lead.custom.colour"),
        "{message}"
    );

    // The editor lists the custom field with the record's fields.
    let vars = json_of(
        app.get("/email-templates/variables?record_type=lead", &admin)
            .await,
    )
    .await;
    let names: Vec<&str> = vars
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    for name in [
        "lead.custom.plan",
        "lead.first_name",
        "owner.name",
        "sender.email",
        "company.name",
    ] {
        assert!(names.contains(&name), "{name}: {vars}");
    }
}

/// The variables of each record type are its fields as the API shows them.
async fn the_variables_are_the_records_api_fields(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Doe"})).await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Doe"})).await;
    let deal = create(&app, &admin, "/deals", json!({"name": "Big"})).await;
    for (record_type, record) in [("lead", lead), ("contact", contact), ("deal", deal)] {
        let vars = json_of(
            app.get(
                &format!("/email-templates/variables?record_type={record_type}"),
                &admin,
            )
            .await,
        )
        .await;
        let prefix = format!("{record_type}.");
        let mut listed: Vec<String> = vars
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|v| v["name"].as_str()?.strip_prefix(&prefix))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        listed.sort();
        let mut fields: Vec<String> = record
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| *k != "custom_fields")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        fields.sort();
        assert_eq!(listed, fields, "{record_type}");
    }
    // Accounts have no templates (a query string's bad choice is a 400 naming it).
    let problem = assert_problem(
        app.get("/email-templates/variables?record_type=account", &admin)
            .await,
        400,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`lead`"),
        "{problem}"
    );
}

async fn another_companys_records_and_templates_are_not_found(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let other = app.other_company("Globex").await;
    let theirs = create(&app, &other, "/email-templates", template("Theirs")).await;
    let their_lead = create(&app, &other, "/leads", json!({"last_name": "Theirs"})).await;
    let mine = create(&app, &admin, "/email-templates", template("Mine")).await;

    let path = format!("/email-templates/{}", id(&theirs));
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.put(&path, &admin, template("Taken")).await, 404).await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    let my_lead = create(&app, &admin, "/leads", json!({"last_name": "Mine"})).await;
    assert_problem(
        app.post(
            &format!("{path}/preview"),
            &admin,
            json!({"record_id": id(&my_lead)}),
        )
        .await,
        404,
    )
    .await;
    // My template for their lead.
    assert_problem(
        app.post(
            &format!("/email-templates/{}/preview", id(&mine)),
            &admin,
            json!({"record_id": id(&their_lead)}),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        app.post(
            "/email-templates/preview",
            &admin,
            json!({"template": template("X"), "record_id": id(&their_lead)}),
        )
        .await,
        404,
    )
    .await;
    // Their list does not show mine.
    let list = json_of(app.get("/email-templates", &other).await).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
}

async fn bad_bodies_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let mut unknown = template("X");
    unknown["colour"] = json!("red");
    assert_problem(app.post("/email-templates", &admin, unknown).await, 400).await;
    let mut bad_type = template("X");
    bad_type["record_type"] = json!("account");
    let problem = assert_problem(app.post("/email-templates", &admin, bad_type).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "record_type", "{problem}");
    let mut empty = template(" ");
    empty["subject"] = json!("");
    empty["html"] = json!("");
    empty["text"] = json!("");
    let problem = assert_problem(app.post("/email-templates", &admin, empty).await, 422).await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    fields.sort_unstable();
    assert_eq!(fields, ["name", "subject", "text"], "{problem}");
}

both!(
    templates_round_trip,
    a_rep_reads_templates_but_cannot_change_them,
    a_template_that_does_not_parse_is_named_with_its_line,
    an_unknown_variable_is_named,
    nothing_outside_the_sandbox_is_reachable_and_no_render_runs_away,
    a_preview_renders_the_leads_values_escaped_in_html_only,
    an_empty_value_falls_back,
    custom_field_variables_are_checked_and_rendered,
    the_variables_are_the_records_api_fields,
    another_companys_records_and_templates_are_not_found,
    bad_bodies_are_refused,
);
