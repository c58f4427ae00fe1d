//! Recurring tasks (issue 15 §5): completing an occurrence — by a patch, the complete action
//! or a bulk update — creates the next one in the same transaction, due one period on, once
//! (completing again, or reopening and completing, makes no duplicate), until the series'
//! last day; a bad recurrence is a 422 naming the field with nothing written; a member's
//! series stays theirs and another company does not reach it — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{fields_of, id};
use crate::tasks::create_task;

/// The tasks of a series, by occurrence.
async fn series(app: &TestApp, who: &Session, first: &Value) -> Vec<Value> {
    let list = json_of(app.get("/tasks?limit=500", who).await).await;
    let mut tasks: Vec<Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["series_id"] == first["id"])
        .cloned()
        .collect();
    tasks.sort_by_key(|t| t["occurrence"].as_i64());
    tasks
}

async fn set_status(app: &TestApp, who: &Session, task: &Value, status: &str) -> Value {
    let response = app
        .patch(
            &format!("/tasks/{}", id(task)),
            who,
            json!({"status": status}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

async fn count_tasks(app: &TestApp) -> i64 {
    app.sql("SELECT COUNT(*) FROM tasks", vec![]).await[0]
        .try_get_by_index::<i64>(0)
        .unwrap()
}

async fn completing_an_occurrence_creates_the_next_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = json_of(
        app.post("/leads", &admin, json!({"last_name": "Doe"}))
            .await,
    )
    .await;
    let first = create_task(
        &app,
        &admin,
        json!({"subject": "Check in", "description": "Every other week",
               "due_at": "2030-05-01T09:00:00Z", "reminder_at": "2030-05-01T08:45:00Z",
               "priority": "high", "related_type": "lead", "related_id": id(&lead),
               "repeat": "weekly", "repeat_every": 2}),
    )
    .await;
    assert_eq!(first["repeat"], "weekly");
    assert_eq!(first["repeat_every"], 2);
    assert!(first["repeat_until"].is_null());
    assert_eq!(first["series_id"], first["id"]);
    assert_eq!(first["occurrence"], 1);

    // Completed with the complete action: the second occurrence, two weeks on.
    let response = app
        .post(
            &format!("/tasks/{}/complete", id(&first)),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let tasks = series(&app, &admin, &first).await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let second = &tasks[1];
    assert_eq!(second["occurrence"], 2);
    assert_eq!(second["status"], "open");
    assert_eq!(second["subject"], "Check in");
    assert_eq!(second["description"], "Every other week");
    assert_eq!(second["priority"], "high");
    assert_eq!(second["assignee_id"], first["assignee_id"]);
    assert_eq!(second["related_id"], id(&lead));
    assert_eq!(second["repeat"], "weekly");
    assert_eq!(second["repeat_every"], 2);
    let time = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    assert_eq!(
        time(&second["due_at"]),
        time(&json!("2030-05-15T09:00:00Z"))
    );
    assert_eq!(
        time(&second["reminder_at"]),
        time(&json!("2030-05-15T08:45:00Z"))
    );
    // On the lead's timeline, created as the admin by the recurrence.
    let created = app
        .sql(
            "SELECT COUNT(*) FROM outbox WHERE event = 'task.created'",
            vec![],
        )
        .await[0]
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(created, 2);

    // Completed again, reopened and completed again: still one second occurrence.
    let total = count_tasks(&app).await;
    set_status(&app, &admin, &first, "completed").await;
    set_status(&app, &admin, &first, "open").await;
    set_status(&app, &admin, &first, "completed").await;
    assert_eq!(count_tasks(&app).await, total);

    // The second, completed by a bulk update: the third, two weeks later again.
    let response = app
        .post(
            "/tasks/bulk-update",
            &admin,
            json!({"ids": [id(second)], "set": {"status": "completed"}}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let tasks = series(&app, &admin, &first).await;
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[2]["occurrence"], 3);
    assert_eq!(
        time(&tasks[2]["due_at"]),
        time(&json!("2030-05-29T09:00:00Z"))
    );

    // A series with a last day ends there; a task that does not repeat makes no next one.
    let daily = create_task(
        &app,
        &admin,
        json!({"subject": "Daily", "due_at": "2030-05-01T17:00:00Z", "repeat": "daily",
               "repeat_until": "2030-05-02"}),
    )
    .await;
    set_status(&app, &admin, &daily, "completed").await;
    let tasks = series(&app, &admin, &daily).await;
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1]["repeat_until"], "2030-05-02");
    set_status(&app, &admin, &tasks[1], "completed").await;
    assert_eq!(series(&app, &admin, &daily).await.len(), 2);
    let once = create_task(&app, &admin, json!({"subject": "Once"})).await;
    assert!(once["series_id"].is_null() && once["repeat"].is_null());
    let total = count_tasks(&app).await;
    set_status(&app, &admin, &once, "completed").await;
    assert_eq!(count_tasks(&app).await, total);

    // No longer repeating: completing it makes none; a monthly one without a due date is due
    // a month after it was completed.
    let stopped = create_task(
        &app,
        &admin,
        json!({"subject": "Stopped", "repeat": "daily"}),
    )
    .await;
    let response = app
        .patch(
            &format!("/tasks/{}", id(&stopped)),
            &admin,
            json!({"repeat": null}),
        )
        .await;
    assert_eq!(response.status(), 200);
    set_status(&app, &admin, &stopped, "completed").await;
    assert_eq!(series(&app, &admin, &stopped).await.len(), 1);
    let monthly = create_task(
        &app,
        &admin,
        json!({"subject": "Monthly", "repeat": "monthly"}),
    )
    .await;
    set_status(&app, &admin, &monthly, "completed").await;
    let tasks = series(&app, &admin, &monthly).await;
    assert_eq!(tasks.len(), 2);
    let due = time(&tasks[1]["due_at"]);
    let now = chrono::Utc::now();
    assert!(
        due > now + chrono::Duration::days(27) && due < now + chrono::Duration::days(32),
        "{due}"
    );
}

async fn a_bad_recurrence_is_named_and_nothing_is_written(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let task = create_task(&app, &admin, json!({"subject": "Call"})).await;
    let before = count_tasks(&app).await;
    for (body, field) in [
        (json!({"subject": "x", "repeat": "yearly"}), "repeat"),
        (
            json!({"subject": "x", "repeat": "daily", "repeat_every": 0}),
            "repeat_every",
        ),
        (
            json!({"subject": "x", "repeat": "weekly", "repeat_every": 100}),
            "repeat_every",
        ),
        (
            json!({"subject": "x", "repeat": "daily", "repeat_until": "next week"}),
            "repeat_until",
        ),
        (json!({"subject": "x", "repeat": 7}), "repeat"),
    ] {
        let problem = assert_problem(app.post("/tasks", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
    }
    let problem = assert_problem(
        app.patch(
            &format!("/tasks/{}", id(&task)),
            &admin,
            json!({"repeat": "hourly"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["repeat"]);
    // The series is the store's: a client does not set it.
    assert_problem(
        app.post("/tasks", &admin, json!({"subject": "x", "occurrence": 2}))
            .await,
        400,
    )
    .await;
    assert_eq!(count_tasks(&app).await, before);
    let unchanged = json_of(app.get(&format!("/tasks/{}", id(&task)), &admin).await).await;
    assert!(unchanged["repeat"].is_null());
}

async fn a_members_series_stays_theirs_and_other_companies_do_not_reach_it(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let mine = create_task(
        &app,
        &rep,
        json!({"subject": "Rep's round", "due_at": "2030-01-06T09:00:00Z", "repeat": "daily",
               "repeat_every": 3}),
    )
    .await;
    let other = app.other_company("Globex").await;
    assert_problem(
        app.post(&format!("/tasks/{}/complete", id(&mine)), &other, json!({}))
            .await,
        404,
    )
    .await;
    assert_eq!(series(&app, &admin, &mine).await.len(), 1);
    set_status(&app, &rep, &mine, "completed").await;
    let tasks = series(&app, &rep, &mine).await;
    assert_eq!(tasks.len(), 2, "the rep reads the next one: it is theirs");
    assert_eq!(tasks[1]["assignee_id"], rep.user_id.to_string());
    assert_eq!(tasks[1]["due_at"], "2030-01-09T09:00:00Z");
    let theirs = json_of(app.get("/tasks", &other).await).await;
    assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
}

both!(
    completing_an_occurrence_creates_the_next_once,
    a_bad_recurrence_is_named_and_nothing_is_written,
    a_members_series_stays_theirs_and_other_companies_do_not_reach_it,
);
