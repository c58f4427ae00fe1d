//! Tasks: CRUD with audit, completion, the "mine", "overdue" and "due today" shortcuts ("today"
//! in the company's time zone), sort and cursor, related-record checks, scopes, tenant
//! isolation, bad input, and what deleting a related record does — on SQLite and PostgreSQL.

use chrono::{Duration, Utc};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{create_account, fields_of, id, ids_of};

pub async fn create_task(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/tasks", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create task: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/tasks?{query}"), who).await;
    assert_eq!(
        response.status(),
        200,
        "GET /tasks?{query}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn history_actions(app: &TestApp, who: &Session, path: &str) -> Vec<String> {
    let history = json_of(app.get(&format!("{path}/history"), who).await).await;
    history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn a_task_is_created_changed_completed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Doe"})).await;
    let task = create_task(
        &app,
        &admin,
        json!({"subject": "  Call back  ", "description": "About pricing",
               "due_at": "2030-05-01T09:00:00Z", "reminder_at": "2030-05-01T08:45:00+00:00",
               "priority": "high", "related_type": "lead", "related_id": id(&lead)}),
    )
    .await;
    assert_eq!(task["subject"], "Call back");
    assert_eq!(task["status"], "open");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["assignee_id"], admin.user_id.to_string());
    assert_eq!(task["created_by"], admin.user_id.to_string());
    assert_eq!(task["related_type"], "lead");
    assert_eq!(task["related_id"], id(&lead));
    assert!(task["completed_at"].is_null());
    assert_eq!(
        task["due_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        "2030-05-01T09:00:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    );
    let path = format!("/tasks/{}", id(&task));
    assert_eq!(json_of(app.get(&path, &admin).await).await, task);

    let changed = app
        .patch(
            &path,
            &admin,
            json!({"status": "in_progress", "description": null}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = json_of(changed).await;
    assert_eq!(changed["status"], "in_progress");
    assert!(changed["description"].is_null());
    assert_eq!(changed["subject"], "Call back");
    assert_eq!(changed["related_id"], id(&lead));

    let done = app
        .post(&format!("{path}/complete"), &admin, json!({}))
        .await;
    assert_eq!(done.status(), 200);
    let done = json_of(done).await;
    assert_eq!(done["status"], "completed");
    let completed_at = done["completed_at"]
        .as_str()
        .expect("completed_at is set")
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    assert!((Utc::now() - completed_at).num_seconds().abs() < 60);
    // Completing again keeps the first completion time.
    let again = json_of(
        app.post(&format!("{path}/complete"), &admin, json!({}))
            .await,
    )
    .await;
    assert_eq!(again["completed_at"], done["completed_at"]);
    // Reopening clears it.
    let reopened = json_of(app.patch(&path, &admin, json!({"status": "open"})).await).await;
    assert!(reopened["completed_at"].is_null());
    // completed_at is not the client's to write.
    assert_problem(
        app.patch(
            &path,
            &admin,
            json!({"completed_at": "2030-01-01T00:00:00Z"}),
        )
        .await,
        400,
    )
    .await;

    assert_eq!(
        history_actions(&app, &admin, &path).await,
        ["update", "update", "update", "update", "create"]
    );
    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let first = &history["data"][3]["changes"];
    assert_eq!(first["status"]["before"], "open");
    assert_eq!(first["status"]["after"], "in_progress");
    assert!(first.get("subject").is_none(), "only changed fields");

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    let audit = json_of(
        app.get(
            &format!("/audit?resource=tasks&resource_id={}", id(&task)),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 6);
    assert_eq!(audit["data"][0]["action"], "delete");
}

async fn mine_overdue_and_due_today_shortcuts_sort_and_cursor(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let now = Utc::now();
    let today = now.date_naive().and_hms_opt(23, 59, 59).unwrap().and_utc();
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339();
    let specs: [(&str, &Session, Option<String>, &str, &str); 5] = [
        (
            "a",
            &admin,
            Some(at(now - Duration::days(2))),
            "open",
            "low",
        ),
        (
            "b",
            &rep,
            Some(at(now - Duration::days(3))),
            "completed",
            "urgent",
        ),
        ("c", &admin, Some(at(today)), "in_progress", "high"),
        (
            "d",
            &rep,
            Some(at(now + Duration::days(3))),
            "open",
            "normal",
        ),
        ("e", &admin, None, "open", "normal"),
    ];
    let mut ids = Vec::new();
    for (subject, assignee, due_at, status, priority) in &specs {
        let task = create_task(
            &app,
            &admin,
            json!({"subject": format!("Task {subject}"), "assignee_id": assignee.user_id,
                   "due_at": due_at, "status": status, "priority": priority}),
        )
        .await;
        ids.push(id(&task));
    }
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|i| ids[*i].clone()).collect() };

    // The default sort is by due date, undated last.
    assert_eq!(
        ids_of(&list(&app, &admin, "").await),
        pick(&[1, 0, 2, 3, 4])
    );
    for (query, expected) in [
        ("mine=true", pick(&[0, 2, 4])),
        ("overdue=true", pick(&[0])),
        ("due=today", pick(&[2])),
        ("mine=true&overdue=true", pick(&[0])),
        ("status[in]=open,in_progress", pick(&[0, 2, 3, 4])),
        ("status=completed", pick(&[1])),
        ("priority[in]=low,urgent", pick(&[1, 0])),
        ("due_at[empty]=true", pick(&[4])),
        (
            &format!("assignee_id={}", rep.user_id) as &str,
            pick(&[1, 3]),
        ),
        ("q=TASK%20C", pick(&[2])),
    ] {
        assert_eq!(
            ids_of(&list(&app, &admin, query).await),
            expected,
            "{query}"
        );
    }
    // The rep's "mine" and their whole list are the same: their scope is their own tasks.
    assert_eq!(ids_of(&list(&app, &rep, "mine=true").await), pick(&[1, 3]));
    assert_eq!(ids_of(&list(&app, &rep, "").await), pick(&[1, 3]));
    assert!(ids_of(&list(&app, &rep, "overdue=true").await).is_empty());

    assert_eq!(
        ids_of(&list(&app, &admin, "sort=-priority").await),
        pick(&[1, 2, 4, 3, 0])
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "sort=priority,-due_at").await),
        pick(&[0, 4, 3, 2, 1])
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "sort=-subject").await),
        pick(&[4, 3, 2, 1, 0])
    );
    for sort in [
        "due_at",
        "-due_at",
        "-priority",
        "priority,due_at",
        "-created_at",
        "subject",
        "-assignee_id",
        "related_type,-subject",
    ] {
        let whole = ids_of(&list(&app, &admin, &format!("sort={sort}&limit=500")).await);
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let query = match &cursor {
                Some(c) => format!("sort={sort}&limit=2&cursor={c}"),
                None => format!("sort={sort}&limit=2"),
            };
            let page = list(&app, &admin, &query).await;
            walked.extend(ids_of(&page));
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(walked, whole, "sort={sort}");
        assert_eq!(sorted(walked), sorted(ids.clone()), "sort={sort}");
    }
}

async fn the_related_record_and_the_assignee_must_belong_to_the_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Lead"})).await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Contact"})).await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Big deal", "account_id": id(&account)}),
    )
    .await;
    let mut related = Vec::new();
    for (record_type, record) in [
        ("lead", &lead),
        ("contact", &contact),
        ("account", &account),
        ("deal", &deal),
    ] {
        let task = create_task(
            &app,
            &admin,
            json!({"subject": record_type, "related_type": record_type, "related_id": id(record)}),
        )
        .await;
        let page = list(
            &app,
            &admin,
            &format!("related_type={record_type}&related_id={}", id(record)),
        )
        .await;
        assert_eq!(ids_of(&page), [id(&task)], "{record_type}");
        related.push(task);
    }
    let theirs = create(&app, &globex, "/contacts", json!({"last_name": "Theirs"})).await;
    for body in [
        json!({"subject": "X", "related_type": "contact", "related_id": id(&theirs)}),
        json!({"subject": "X", "related_type": "lead", "related_id": id(&contact)}),
        json!({"subject": "X", "related_type": "deal",
               "related_id": "0190f000-0000-7000-8000-000000000000"}),
        json!({"subject": "X", "related_type": "lead"}),
    ] {
        let problem = assert_problem(app.post("/tasks", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), ["related_id"], "{body}");
    }
    let problem = assert_problem(
        app.post(
            "/tasks",
            &admin,
            json!({"subject": "X", "related_id": id(&lead)}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["related_type"]);
    let path = format!("/tasks/{}", id(&related[0]));
    let problem = assert_problem(
        app.patch(
            &path,
            &admin,
            json!({"related_type": "contact", "related_id": id(&theirs)}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["related_id"]);
    for assignee in [
        globex.user_id.to_string(),
        "0190f000-0000-7000-8000-000000000000".to_owned(),
    ] {
        let problem = assert_problem(
            app.post(
                "/tasks",
                &admin,
                json!({"subject": "X", "assignee_id": assignee}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), ["assignee_id"]);
        let problem = assert_problem(
            app.patch(&path, &admin, json!({"assignee_id": assignee}))
                .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), ["assignee_id"]);
    }
}

async fn scopes_and_tenancy_decide_which_tasks_a_caller_sees(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep_a = app.member(&admin, "sales").await;
    let rep_b = app.member(&admin, "sales").await;
    let read_only = app.member(&admin, "read_only").await;
    let a = create_task(&app, &rep_a, json!({"subject": "A's"})).await;
    let b = create_task(&app, &rep_b, json!({"subject": "B's"})).await;
    assert_eq!(a["assignee_id"], rep_a.user_id.to_string());
    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a)]);
    let b_path = format!("/tasks/{}", id(&b));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(
        app.patch(&b_path, &rep_a, json!({"subject": "x"})).await,
        404,
    )
    .await;
    assert_problem(
        app.post(&format!("{b_path}/complete"), &rep_a, json!({}))
            .await,
        404,
    )
    .await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(app.get(&format!("{b_path}/history"), &rep_a).await, 404).await;
    // A rep cannot hand a task to someone else.
    assert_problem(
        app.post(
            "/tasks",
            &rep_a,
            json!({"subject": "Gift", "assignee_id": rep_b.user_id}),
        )
        .await,
        403,
    )
    .await;
    // The admin sees both; read-only reads both and changes nothing.
    assert_eq!(
        sorted(ids_of(&list(&app, &admin, "").await)),
        sorted(vec![id(&a), id(&b)])
    );
    assert_eq!(app.get(&b_path, &read_only).await.status(), 200);
    assert_problem(
        app.post("/tasks", &read_only, json!({"subject": "No"}))
            .await,
        403,
    )
    .await;
    assert_problem(app.delete(&b_path, &read_only).await, 403).await;

    // Another company's task is not found on any route.
    let globex = app.other_company("Globex").await;
    let theirs = create_task(&app, &globex, json!({"subject": "Secret"})).await;
    let path = format!("/tasks/{}", id(&theirs));
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.patch(&path, &admin, json!({"subject": "x"})).await, 404).await;
    assert_problem(
        app.post(&format!("{path}/complete"), &admin, json!({}))
            .await,
        404,
    )
    .await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    assert_problem(app.get(&format!("{path}/history"), &admin).await, 404).await;
    assert!(ids_of(&list(&app, &admin, "q=secret").await).is_empty());
    let still = json_of(app.get(&path, &globex).await).await;
    assert_eq!(still["subject"], "Secret");
    assert_eq!(still["status"], "open");
}

async fn bad_input_is_refused_naming_the_problem(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let task = create_task(&app, &admin, json!({"subject": "Ok"})).await;
    let path = format!("/tasks/{}", id(&task));
    for (query, needle) in [
        (
            "sort=colour",
            "allowed sort fields: status, priority, assignee_id, related_type, related_id, \
             due_at, created_at, updated_at, subject",
        ),
        ("colour=red", "status[in]"),
        ("status=done", "must be one of"),
        ("due_at[gte]=tomorrow", "RFC 3339"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=garbage", "cursor"),
        ("mine=maybe", "mine"),
        ("overdue=yes", "overdue"),
        ("due=tomorrow", "due must be today"),
    ] {
        let problem = assert_problem(app.get(&format!("/tasks?{query}"), &admin).await, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    for (body, fields) in [
        (json!({}), vec!["subject"]),
        (json!({"subject": "  "}), vec!["subject"]),
        (
            json!({"subject": "X", "priority": "asap"}),
            vec!["priority"],
        ),
        (json!({"subject": "X", "status": "done"}), vec!["status"]),
        (
            json!({"subject": "X", "due_at": "tomorrow"}),
            vec!["due_at"],
        ),
        (
            json!({"subject": "X", "reminder_at": "2030-13-01T00:00:00Z"}),
            vec!["reminder_at"],
        ),
        (
            json!({"subject": "X", "related_type": "invoice",
                   "related_id": "0190f000-0000-7000-8000-000000000000"}),
            vec!["related_type"],
        ),
        (json!({"subject": "x".repeat(2001)}), vec!["subject"]),
    ] {
        let problem = assert_problem(app.post("/tasks", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    assert_problem(
        app.post("/tasks", &admin, json!({"subject": "X", "colour": "red"}))
            .await,
        400,
    )
    .await;
    for body in [
        json!({"subject": null}),
        json!({"status": null}),
        json!({"priority": null}),
        json!({"assignee_id": null}),
        json!({"status": "finished"}),
    ] {
        assert_problem(app.patch(&path, &admin, body).await, 422).await;
    }
    assert_problem(app.get("/tasks/not-an-id", &admin).await, 404).await;
    let unchanged = json_of(app.get(&path, &admin).await).await;
    assert_eq!(unchanged, task);
}

async fn deleting_a_related_record_detaches_its_tasks(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Gone"})).await;
    let kept = create(&app, &admin, "/leads", json!({"last_name": "Kept"})).await;
    let task = create_task(
        &app,
        &admin,
        json!({"subject": "Follow up", "related_type": "lead", "related_id": id(&lead)}),
    )
    .await;
    let other = create_task(
        &app,
        &admin,
        json!({"subject": "Other", "related_type": "lead", "related_id": id(&kept)}),
    )
    .await;
    assert_eq!(
        app.delete(&format!("/leads/{}", id(&lead)), &admin)
            .await
            .status(),
        204
    );
    let read = json_of(app.get(&format!("/tasks/{}", id(&task)), &admin).await).await;
    assert!(
        read["related_type"].is_null() && read["related_id"].is_null(),
        "{read}"
    );
    assert_eq!(read["subject"], "Follow up");
    let page = list(
        &app,
        &admin,
        &format!("related_type=lead&related_id={}", id(&lead)),
    )
    .await;
    assert!(ids_of(&page).is_empty());
    let read = json_of(app.get(&format!("/tasks/{}", id(&other)), &admin).await).await;
    assert_eq!(read["related_id"], id(&kept));
}

both!(
    a_task_is_created_changed_completed_and_deleted_with_an_audit_row_each,
    mine_overdue_and_due_today_shortcuts_sort_and_cursor,
    the_related_record_and_the_assignee_must_belong_to_the_company,
    scopes_and_tenancy_decide_which_tasks_a_caller_sees,
    bad_input_is_refused_naming_the_problem,
    deleting_a_related_record_detaches_its_tasks,
);

/// `[start, end)` of the day of `at` in `tz`, in UTC (worked out here, not by the server).
fn day_in(
    tz: chrono_tz::Tz,
    at: chrono::DateTime<Utc>,
) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    use chrono::TimeZone;
    let date = at.with_timezone(&tz).date_naive();
    let midnight = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    (midnight(date), midnight(date.succ_opt().unwrap()))
}

async fn due_today_is_the_companys_day_not_utcs(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for zone in [
        chrono_tz::Tz::Pacific__Auckland,
        chrono_tz::Tz::America__Los_Angeles,
    ] {
        let response = app
            .patch("/settings", &admin, json!({"timezone": zone.name()}))
            .await;
        assert_eq!(response.status(), 200, "set the time zone to {zone}");
        // Retry if a day ends (here or in UTC) while the test runs: then the windows moved.
        let mut checked = false;
        for _ in 0..3 {
            let now = Utc::now();
            let local = day_in(zone, now);
            let utc = day_in(chrono_tz::Tz::UTC, now);
            // The middle of the part of each day that the other day does not cover: Auckland's
            // day starts 12–13 hours before UTC's, Los Angeles' 7–8 hours after.
            let (local_only, utc_only) = if local.0 < utc.0 {
                (
                    local.0 + (utc.0 - local.0) / 2,
                    local.1 + (utc.1 - local.1) / 2,
                )
            } else {
                (utc.1 + (local.1 - utc.1) / 2, utc.0 + (local.0 - utc.0) / 2)
            };
            assert!(local.0 <= local_only && local_only < local.1);
            assert!(!(utc.0 <= local_only && local_only < utc.1));
            assert!(utc.0 <= utc_only && utc_only < utc.1);
            assert!(!(local.0 <= utc_only && utc_only < local.1));
            let mine = create_task(
                &app,
                &admin,
                json!({"subject": format!("Today in {zone}"), "due_at": local_only.to_rfc3339()}),
            )
            .await;
            let theirs = create_task(
                &app,
                &admin,
                json!({"subject": format!("Today in UTC only ({zone})"), "due_at": utc_only.to_rfc3339()}),
            )
            .await;
            let page = list(&app, &admin, "due=today").await;
            let after = Utc::now();
            for task in [&mine, &theirs] {
                app.delete(&format!("/tasks/{}", id(task)), &admin).await;
            }
            if day_in(zone, after) != local || day_in(chrono_tz::Tz::UTC, after) != utc {
                continue;
            }
            assert_eq!(ids_of(&page), vec![id(&mine)], "due=today in {zone}");
            checked = true;
            break;
        }
        assert!(checked, "the day kept changing in {zone}");
    }
    // A zone no time zone database knows is refused, and the company's zone is kept.
    let response = app
        .patch(
            "/settings",
            &admin,
            json!({"timezone": "Mars/Olympus_Mons"}),
        )
        .await;
    let body = assert_problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "timezone", "{body}");
    let settings = json_of(app.get("/settings", &admin).await).await;
    assert_ne!(settings["timezone"], "Mars/Olympus_Mons");
    let response = app
        .patch("/settings", &admin, json!({"timezone": "UTC"}))
        .await;
    assert_eq!(response.status(), 200);
    let now = Utc::now();
    let (start, end) = day_in(chrono_tz::Tz::UTC, now);
    let task = create_task(
        &app,
        &admin,
        json!({"subject": "Mid-day UTC", "due_at": (start + (end - start) / 2).to_rfc3339()}),
    )
    .await;
    if day_in(chrono_tz::Tz::UTC, Utc::now()) == (start, end) {
        assert_eq!(
            ids_of(&list(&app, &admin, "due=today").await),
            vec![id(&task)]
        );
    }
}

both!(due_today_is_the_companys_day_not_utcs);
