//! The tasks pages: over plain HTTP, "My tasks" shows only the caller's open tasks, overdue
//! ones are marked and counted in the navigation, a row's "Complete" button works (with the
//! CSRF token only), the form keeps dates in the company's time zone and shows validation
//! messages next to their fields without writing anything, another company's task is a 404
//! page, and a read-only member sees no "Complete" button and is refused the post. Bulk actions
//! from the list (status, priority, delete after a confirmation; the CSRF token required, scope
//! and tenancy kept), and saved views: one saved on the "Overdue" tab with a priority filter
//! opens on that tab with the same rows, and a default view applies when the list opens with
//! no query. In the browser: a task created in the form shows under "My tasks" and is completed
//! from there; one created repeating every two weeks, once completed, is followed on the list
//! by its next occurrence.

use super::{
    Page, email_of, get_page, header, post_form, row_ids, sign_in_at, view_href, web_sign_in,
};
use anyhow::{Context, Result, ensure};
use chrono::{Duration, Utc};
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, json_of, spawn_app,
};
use serde_json::{Value, json};

async fn create_task(app: &TestApp, who: &Session, body: Value) -> String {
    let response = app.post("/tasks", who, body).await;
    assert_eq!(response.status(), 201, "create task");
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn task_count(app: &TestApp, who: &Session) -> usize {
    json_of(app.get("/tasks?limit=500", who).await).await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn tasks_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let rep = app.member(&api_admin, "sales").await;
    let overdue = create_task(
        &app,
        &api_admin,
        json!({"subject": "Call the overdue client",
               "due_at": (Utc::now() - Duration::days(2)).to_rfc3339()}),
    )
    .await;
    let later = create_task(
        &app,
        &api_admin,
        json!({"subject": "Plan next quarter",
               "due_at": (Utc::now() + Duration::days(5)).to_rfc3339(), "priority": "high"}),
    )
    .await;
    create_task(
        &app,
        &api_admin,
        json!({"subject": "Already finished", "status": "completed"}),
    )
    .await;
    create_task(
        &app,
        &api_admin,
        json!({"subject": "The rep call", "assignee_id": rep.user_id}),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let text = |response: reqwest::Response| async move { response.text().await.unwrap() };

    // "My tasks": mine and open only, the overdue one marked, soonest first; the navigation
    // counts it.
    let page = text(get_page(&app, &admin, "/tasks").await).await;
    assert!(
        page.contains("Call the overdue client") && page.contains("Plan next quarter"),
        "{page}"
    );
    assert!(!page.contains("The rep call") && !page.contains("Already finished"));
    assert!(page.find("Call the overdue client") < page.find("Plan next quarter"));
    assert!(page.contains(&format!(
        r#"<tr class="task-overdue" data-task-id="{overdue}">"#
    )));
    assert!(!page.contains(&format!(
        r#"<tr class="task-overdue" data-task-id="{later}">"#
    )));
    assert!(
        page.contains(r#"data-overdue-count>1<"#),
        "the badge: {page}"
    );
    assert!(page.contains(r#"href="/tasks?tab=all""#));
    // Old links named the tab `view`.
    let page = text(get_page(&app, &admin, "/tasks?view=overdue").await).await;
    assert!(page.contains("Call the overdue client") && !page.contains("Plan next quarter"));
    let page = text(get_page(&app, &admin, "/tasks?view=all").await).await;
    assert!(page.contains("The rep call") && page.contains("Already finished"));
    let page =
        text(get_page(&app, &admin, "/tasks?view=all&sort=-priority&priority=high").await).await;
    assert!(page.contains("Plan next quarter") && !page.contains("Call the overdue client"));
    // The page takes the API's rules and says what is wrong.
    let response = get_page(&app, &admin, "/tasks?sort=colour").await;
    assert_eq!(response.status(), 400);
    assert!(text(response).await.contains("allowed sort fields"));
    assert_eq!(
        get_page(&app, &admin, "/tasks?view=someday").await.status(),
        400
    );

    // A sales rep's "My tasks" has only theirs, and no "All" tab.
    let (rep_web, _) = web_sign_in(&app, &email_of(&app, &rep).await, PASSWORD).await;
    let page = text(get_page(&app, &rep_web, "/tasks").await).await;
    assert!(page.contains("The rep call") && !page.contains("Call the overdue client"));
    assert!(!page.contains(r#"href="/tasks?tab=all""#));

    // Complete from the list: refused without the CSRF token, done with it, back to the list.
    let path = format!("/tasks/{overdue}/complete");
    assert_eq!(
        post_form(&app, &admin, &path, &[("back", "/tasks")])
            .await
            .status(),
        403
    );
    let response = post_form(
        &app,
        &admin,
        &path,
        &[("csrf_token", &csrf), ("back", "/tasks?view=overdue")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/tasks?view=overdue");
    let task = json_of(app.get(&format!("/tasks/{overdue}"), &api_admin).await).await;
    assert_eq!(task["status"], "completed");
    let page = text(get_page(&app, &admin, "/tasks").await).await;
    assert!(
        page.contains("Completed “Call the overdue client”."),
        "{page}"
    );
    assert!(!page.contains("data-overdue-count"), "no badge any more");
    // A link elsewhere is not followed.
    let response = post_form(
        &app,
        &admin,
        &format!("/tasks/{later}/complete"),
        &[("csrf_token", &csrf), ("back", "https://evil.test/")],
    )
    .await;
    assert_eq!(header(&response, "location"), "/tasks");

    // The form: messages next to their fields, and nothing written.
    let before = task_count(&app, &api_admin).await;
    let response = post_form(
        &app,
        &admin,
        "/tasks/new",
        &[
            ("csrf_token", &csrf),
            ("subject", "  "),
            ("due_date", "tomorrow"),
            ("priority", "normal"),
            ("status", "open"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = text(response).await;
    assert!(page.contains(r#"id="task-due_date-error""#), "{page}");
    assert!(
        page.contains(r#"value="tomorrow""#),
        "the typed value stays"
    );
    let response = post_form(
        &app,
        &admin,
        "/tasks/new",
        &[
            ("csrf_token", &csrf),
            ("subject", "  "),
            ("priority", "asap"),
            ("related_type", "lead"),
            ("related_id", &uuid::Uuid::new_v4().to_string()),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = text(response).await;
    for field in ["subject", "priority"] {
        assert!(
            page.contains(&format!(r#"id="task-{field}-error""#)),
            "{field}: {page}"
        );
    }
    assert!(page.contains("Subject must not be empty"), "{page}");
    // The store's own check (the record must exist) also lands next to its field.
    let response = post_form(
        &app,
        &admin,
        "/tasks/new",
        &[
            ("csrf_token", &csrf),
            ("subject", "About a ghost"),
            ("related_type", "lead"),
            ("related_id", &uuid::Uuid::new_v4().to_string()),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = text(response).await;
    assert!(page.contains(r#"id="task-related_id-error""#), "{page}");
    assert_eq!(task_count(&app, &api_admin).await, before);

    // Dates are typed and shown in the company's time zone.
    let response = app
        .patch(
            "/settings",
            &api_admin,
            json!({"timezone": "Pacific/Auckland"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let lead = json_of(
        app.post("/leads", &api_admin, json!({"last_name": "Doe"}))
            .await,
    )
    .await;
    let lead = lead["id"].as_str().unwrap().to_owned();
    let page = text(
        get_page(
            &app,
            &admin,
            &format!("/tasks/new?related_type=lead&related_id={lead}"),
        )
        .await,
    )
    .await;
    assert!(page.contains(&format!(r#"value="{lead}""#)) && page.contains("Pacific/Auckland"));
    let response = post_form(
        &app,
        &admin,
        "/tasks/new",
        &[
            ("csrf_token", &csrf),
            ("subject", "Winter call"),
            ("due_date", "2026-07-01"),
            ("due_time", "09:30"),
            ("priority", "urgent"),
            ("status", "open"),
            ("related_type", "lead"),
            ("related_id", &lead),
            ("back", &format!("/leads/{lead}")),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), format!("/leads/{lead}"));
    let created = json_of(
        app.get(&format!("/tasks?related_id={lead}"), &api_admin)
            .await,
    )
    .await;
    let created = &created["data"][0];
    assert_eq!(created["subject"], "Winter call");
    assert_eq!(created["priority"], "urgent");
    assert_eq!(
        created["due_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "2026-06-30T21:30:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    );
    let winter = created["id"].as_str().unwrap().to_owned();
    // The quick-add on the record's page takes the date as the company's too, and links to
    // the full form about the record.
    let page = text(get_page(&app, &admin, &format!("/leads/{lead}")).await).await;
    assert!(
        page.contains(r#"href="/tasks/new?related_type=lead&"#)
            && page.contains(&format!(r#"related_id={lead}">More options"#)),
        "{page}"
    );
    let response = post_form(
        &app,
        &admin,
        &format!("/quick-add/lead/{lead}"),
        &[
            ("csrf_token", &csrf),
            ("kind", "task"),
            ("subject", "Quick winter call"),
            ("due_date", "2026-07-03"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let quick = json_of(app.get("/tasks?q=quick%20winter", &api_admin).await).await;
    assert_eq!(
        quick["data"][0]["due_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "2026-07-03T05:00:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "17:00 in Auckland"
    );
    let page = text(get_page(&app, &admin, &format!("/tasks/{winter}/edit")).await).await;
    assert!(
        page.contains(r#"value="2026-07-01""#) && page.contains(r#"value="09:30""#),
        "{page}"
    );
    let list = text(get_page(&app, &admin, "/tasks").await).await;
    assert!(
        list.contains("2026-07-01 09:30") && list.contains(&format!(r#"href="/leads/{lead}""#))
    );
    // Editing: an empty subject stays on the page and changes nothing; a good one saves.
    let edit = format!("/tasks/{winter}/edit");
    let response = post_form(
        &app,
        &admin,
        &edit,
        &[("csrf_token", &csrf), ("subject", "")],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(text(response).await.contains(r#"id="task-subject-error""#));
    let response = post_form(
        &app,
        &admin,
        &edit,
        &[
            ("csrf_token", &csrf),
            ("subject", "Winter call, moved"),
            ("due_date", "2026-07-02"),
            ("due_time", ""),
            ("priority", "low"),
            ("status", "in_progress"),
            ("related_type", ""),
            ("related_id", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let task = json_of(app.get(&format!("/tasks/{winter}"), &api_admin).await).await;
    assert_eq!(task["subject"], "Winter call, moved");
    assert_eq!(task["status"], "in_progress");
    assert!(task["related_id"].is_null(), "{task}");
    assert_eq!(
        task["due_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "2026-07-02T05:00:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "17:00 in Auckland"
    );

    // Another company's task is a 404 page, for reading and for every button.
    let other = app.other_company("Other Ltd").await;
    let (outsider, outsider_csrf) =
        web_sign_in(&app, &email_of(&app, &other).await, ADMIN_PASSWORD).await;
    assert_eq!(get_page(&app, &outsider, &edit).await.status(), 404);
    for path in [
        format!("/tasks/{later}/complete"),
        format!("/tasks/{winter}/delete"),
        edit.clone(),
    ] {
        let response = post_form(
            &app,
            &outsider,
            &path,
            &[("csrf_token", &outsider_csrf), ("subject", "Mine now")],
        )
        .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert!(
        !text(get_page(&app, &outsider, "/tasks?view=all").await)
            .await
            .contains("Winter call")
    );
    assert_eq!(
        json_of(app.get(&format!("/tasks/{winter}"), &api_admin).await).await["subject"],
        "Winter call, moved"
    );

    // A read-only member sees every task but no button, and the post is refused.
    let reader = app.member(&api_admin, "read_only").await;
    let (reader, reader_csrf) = web_sign_in(&app, &email_of(&app, &reader).await, PASSWORD).await;
    let page = text(get_page(&app, &reader, "/tasks?view=all").await).await;
    assert!(page.contains("Winter call, moved"), "{page}");
    assert!(!page.contains("/complete") && !page.contains(r#"href="/tasks/new""#));
    let response = post_form(
        &app,
        &reader,
        &format!("/tasks/{winter}/complete"),
        &[("csrf_token", &reader_csrf)],
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(get_page(&app, &reader, "/tasks/new").await.status(), 403);
    assert_eq!(get_page(&app, &reader, &edit).await.status(), 403);
    let task = json_of(app.get(&format!("/tasks/{winter}"), &api_admin).await).await;
    assert_eq!(task["status"], "in_progress");

    // Deleting from the edit page.
    let response = post_form(
        &app,
        &admin,
        &format!("/tasks/{winter}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get(&format!("/tasks/{winter}"), &api_admin)
            .await
            .status(),
        404
    );
}

rivet_tests::both!(my_tasks_complete_form_errors_tenancy_and_read_only_over_http => tasks_over_http);

async fn status_of(app: &TestApp, who: &Session, id: &str) -> Value {
    json_of(app.get(&format!("/tasks/{id}"), who).await).await
}

async fn bulk_actions_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let past = (Utc::now() - Duration::days(1)).to_rfc3339();
    let a = create_task(
        &app,
        &api_admin,
        json!({"subject": "Bulk one", "due_at": past}),
    )
    .await;
    let b = create_task(&app, &api_admin, json!({"subject": "Bulk two"})).await;
    let c = create_task(&app, &api_admin, json!({"subject": "Bulk three"})).await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let text = |response: reqwest::Response| async move { response.text().await.unwrap() };

    // A checkbox per row, the bar, and "All" ticks every row of the page.
    let page = text(get_page(&app, &admin, "/tasks?tab=all").await).await;
    assert!(page.contains(r#"action="/tasks/bulk""#), "{page}");
    let unticked = format!(r#"id="select-{a}" aria-label="Select Bulk one">"#);
    let ticked = format!(r#"id="select-{a}" aria-label="Select Bulk one" checked>"#);
    assert!(page.contains(&unticked), "{page}");
    assert!(page.contains("select=all"));
    let page = text(get_page(&app, &admin, "/tasks?tab=all&select=all").await).await;
    assert!(page.contains(&ticked), "{page}");
    assert_eq!(row_ids("task", &page).len(), 3);

    // Without the CSRF token nothing happens.
    let status_change = [
        ("action", "status"),
        ("status", "completed"),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
        ("back", "/tasks?tab=all"),
    ];
    let response = post_form(&app, &admin, "/tasks/bulk", &status_change).await;
    assert_eq!(response.status(), 403);
    assert_eq!(status_of(&app, &api_admin, &a).await["status"], "open");
    // With it, both are completed and the list says so.
    let mut with_token = status_change.to_vec();
    with_token.push(("csrf_token", &csrf));
    let response = post_form(&app, &admin, "/tasks/bulk", &with_token).await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/tasks?tab=all");
    for id in [&a, &b] {
        let task = status_of(&app, &api_admin, id).await;
        assert_eq!(task["status"], "completed");
        assert!(task["completed_at"].is_string());
    }
    assert_eq!(status_of(&app, &api_admin, &c).await["status"], "open");
    let page = text(get_page(&app, &admin, "/tasks?tab=all").await).await;
    assert!(page.contains("Set 2 tasks to completed."), "{page}");
    let response = post_form(
        &app,
        &admin,
        "/tasks/bulk",
        &[
            ("csrf_token", &csrf),
            ("action", "priority"),
            ("priority", "urgent"),
            ("ids", &c),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(&app, &api_admin, &c).await["priority"], "urgent");
    // Nothing selected, or no status chosen: back to the list with a message.
    for fields in [
        vec![("action", "status"), ("status", "open")],
        vec![("action", "status"), ("status", ""), ("ids", c.as_str())],
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &csrf));
        let response = post_form(&app, &admin, "/tasks/bulk", &fields).await;
        assert_eq!(response.status(), 303);
    }
    assert_eq!(status_of(&app, &api_admin, &c).await["status"], "open");

    // Delete asks first, then deletes.
    let delete = [
        ("csrf_token", csrf.as_str()),
        ("action", "delete"),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
    ];
    let response = post_form(&app, &admin, "/tasks/bulk", &delete).await;
    assert_eq!(response.status(), 200);
    let page = text(response).await;
    assert!(
        page.contains("Delete 2 tasks?") && page.contains("Bulk one"),
        "{page}"
    );
    assert_eq!(task_count(&app, &api_admin).await, 3, "nothing deleted yet");
    let mut confirmed = delete.to_vec();
    confirmed.push(("confirm", "yes"));
    let response = post_form(&app, &admin, "/tasks/bulk", &confirmed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(task_count(&app, &api_admin).await, 1);
    assert_eq!(
        app.get(&format!("/tasks/{a}"), &api_admin).await.status(),
        404
    );

    // Another company's task is not found; a sales rep cannot touch the admin's.
    let other = app.other_company("Other Ltd").await;
    let (outsider, outsider_csrf) =
        web_sign_in(&app, &email_of(&app, &other).await, ADMIN_PASSWORD).await;
    let rep = app.member(&api_admin, "sales").await;
    let (rep_web, rep_csrf) = web_sign_in(&app, &email_of(&app, &rep).await, PASSWORD).await;
    for (who, token) in [(&outsider, &outsider_csrf), (&rep_web, &rep_csrf)] {
        let response = post_form(
            &app,
            who,
            "/tasks/bulk",
            &[
                ("csrf_token", token),
                ("action", "status"),
                ("status", "cancelled"),
                ("ids", &c),
            ],
        )
        .await;
        assert_eq!(response.status(), 404);
    }
    assert_eq!(status_of(&app, &api_admin, &c).await["status"], "open");

    // A read-only member has no bar and no checkboxes, and the post is refused.
    let reader = app.member(&api_admin, "read_only").await;
    let (reader, reader_csrf) = web_sign_in(&app, &email_of(&app, &reader).await, PASSWORD).await;
    let page = text(get_page(&app, &reader, "/tasks?tab=all").await).await;
    assert!(page.contains("Bulk three"), "{page}");
    assert!(!page.contains("/tasks/bulk") && !page.contains(r#"name="ids""#));
    let response = post_form(
        &app,
        &reader,
        "/tasks/bulk",
        &[
            ("csrf_token", &reader_csrf),
            ("action", "delete"),
            ("confirm", "yes"),
            ("ids", &c),
        ],
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(task_count(&app, &api_admin).await, 1);
}

rivet_tests::both!(bulk_status_priority_and_delete_from_the_list_over_http => bulk_actions_over_http);

async fn saved_views_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let rep = app.member(&api_admin, "sales").await;
    let past = (Utc::now() - Duration::days(1)).to_rfc3339();
    let future = (Utc::now() + Duration::days(3)).to_rfc3339();
    let late_high = create_task(
        &app,
        &api_admin,
        json!({"subject": "Late high", "due_at": past, "priority": "high"}),
    )
    .await;
    let late_low = create_task(
        &app,
        &api_admin,
        json!({"subject": "Late low", "due_at": past, "priority": "low"}),
    )
    .await;
    let later_high = create_task(
        &app,
        &api_admin,
        json!({"subject": "Later high", "due_at": future, "priority": "high"}),
    )
    .await;
    let reps_high = create_task(
        &app,
        &api_admin,
        json!({"subject": "Rep late high", "due_at": past, "priority": "high",
               "assignee_id": rep.user_id}),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let text = |response: reqwest::Response| async move { response.text().await.unwrap() };

    // Save the "Overdue" tab filtered to high priority: stored as the API's query.
    let filtered = text(get_page(&app, &admin, "/tasks?tab=overdue&priority=high").await).await;
    assert_eq!(row_ids("task", &filtered), std::slice::from_ref(&late_high));
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", &csrf),
            ("resource", "tasks"),
            ("name", "Late and high"),
            ("return_to", "/tasks?tab=overdue&priority=high"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        header(&response, "location"),
        "/tasks?tab=overdue&priority=high"
    );
    let saved = json_of(app.get("/views?resource=tasks", &api_admin).await).await;
    assert_eq!(
        saved["data"][0]["query"], "priority=high&overdue=true&mine=true",
        "{saved}"
    );
    let api_rows = json_of(
        app.get("/tasks?priority=high&overdue=true&mine=true", &api_admin)
            .await,
    )
    .await;
    assert_eq!(api_rows["data"][0]["id"], late_high.as_str());

    // Re-opened from the bar of another tab: the Overdue tab, the filter, the same rows.
    let all = text(get_page(&app, &admin, "/tasks?tab=all").await).await;
    assert_eq!(row_ids("task", &all).len(), 4);
    let href = view_href(&all, "Late and high");
    let page = text(get_page(&app, &admin, &href).await).await;
    assert_eq!(row_ids("task", &page), row_ids("task", &filtered), "{href}");
    assert!(
        page.contains(r#"<a href="/tasks?tab=overdue" aria-current="page">Overdue</a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"aria-current="page">Late and high"#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="high" selected>"#), "{page}");

    // A default view applies when the list opens with no query; the tabs and "All" do not.
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", &csrf),
            ("resource", "tasks"),
            ("name", "Everyone's high"),
            ("return_to", "/tasks?tab=all&priority=high"),
            ("is_default", "true"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = text(get_page(&app, &admin, "/tasks").await).await;
    let mut shown = row_ids("task", &page);
    shown.sort();
    let mut want = vec![late_high.clone(), later_high.clone(), reps_high.clone()];
    want.sort();
    assert_eq!(shown, want, "{page}");
    assert!(page.contains(r#"aria-current="page">All</a>"#), "{page}");
    let whole = text(get_page(&app, &admin, "/tasks?view=all").await).await;
    assert!(
        row_ids("task", &whole).contains(&late_low),
        "the whole list"
    );
    let mine = text(get_page(&app, &admin, "/tasks?tab=mine").await).await;
    assert!(
        row_ids("task", &mine).contains(&late_low) && !row_ids("task", &mine).contains(&reps_high),
        "My tasks, without the default"
    );
    // Another member's default is theirs alone.
    let (rep_web, _) = web_sign_in(&app, &email_of(&app, &rep).await, PASSWORD).await;
    let page = text(get_page(&app, &rep_web, "/tasks").await).await;
    assert_eq!(row_ids("task", &page), [reps_high]);
}

rivet_tests::both!(a_tasks_view_saved_on_a_tab_reopens_with_the_same_rows_over_http => saved_views_over_http);

pub(super) async fn task_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/tasks/new").await?;
    page.fill("task-subject", "Send the browser proposal")
        .await?;
    page.choose("#task-priority", "High").await?;
    page.click_button("Create task").await?;
    ensure!(
        page.path().await? == "/tasks",
        "on the list: {}",
        page.path().await?
    );
    page.expect_text("Created the task “Send the browser proposal”.")
        .await?;
    page.expect_text("My tasks").await?;
    page.expect_text("Send the browser proposal").await?;
    page.click_button("Complete").await?;
    page.expect_text("Completed “Send the browser proposal”.")
        .await?;
    let rows = page
        .client
        .find_all(fantoccini::Locator::Css("tr[data-task-id]"))
        .await?;
    ensure!(
        rows.is_empty(),
        "My tasks is empty after completing the only task"
    );
    let admin = app.admin().await;
    let tasks = json_of(app.get("/tasks?q=browser%20proposal", &admin).await).await;
    ensure!(
        tasks["data"][0]["status"] == "completed" && tasks["data"][0]["priority"] == "high",
        "saved: {tasks}"
    );
    page.goto("/tasks?view=all").await?;
    page.expect_text("Send the browser proposal").await?;
    page.expect_text("Completed")
        .await
        .context("the status badge")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_task_created_in_the_form_shows_under_my_tasks_and_is_completed_there() {
    super::journey_on_both(super::Journey::Tasks).await;
}

/// The ids of the rows "My tasks" shows.
async fn listed_tasks(page: &Page<'_>) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for row in page
        .client
        .find_all(fantoccini::Locator::Css("tr[data-task-id]"))
        .await?
    {
        ids.extend(row.attr("data-task-id").await?);
    }
    Ok(ids)
}

pub(super) async fn task_repeat_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/tasks/new").await?;
    page.fill("task-subject", "Send the fortnightly report")
        .await?;
    page.choose("#task-repeat", "Weekly").await?;
    page.fill("task-repeat_every", "2").await?;
    page.click_button("Create task").await?;
    page.expect_text("Created the task “Send the fortnightly report”.")
        .await?;
    let first = listed_tasks(page).await?;
    ensure!(first.len() == 1, "one task on My tasks: {first:?}");

    page.click_button("Complete").await?;
    page.expect_text("Completed “Send the fortnightly report”.")
        .await?;
    // The next occurrence is on the list in its place.
    page.expect_text("Send the fortnightly report").await?;
    let next = listed_tasks(page).await?;
    ensure!(
        next.len() == 1 && next != first,
        "the next occurrence on My tasks: {next:?} (the first was {first:?})"
    );
    page.shot("the next occurrence").await?;

    let admin = app.admin().await;
    let task = json_of(app.get(&format!("/tasks/{}", next[0]), &admin).await).await;
    ensure!(
        task["status"] == "open" && task["repeat"] == "weekly" && task["repeat_every"] == 2,
        "the next occurrence repeats as the first: {task}"
    );
    let due: chrono::DateTime<Utc> = task["due_at"]
        .as_str()
        .context("the next occurrence's due time")?
        .parse()?;
    let now = Utc::now();
    ensure!(
        due > now + Duration::days(13) && due < now + Duration::days(16),
        "due two weeks on: {due}"
    );
    let first_task = json_of(app.get(&format!("/tasks/{}", first[0]), &admin).await).await;
    ensure!(first_task["status"] == "completed", "{first_task}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn completing_a_task_repeating_in_the_form_lists_its_next_occurrence() {
    super::journey_on_both(super::Journey::TaskRepeat).await;
}
