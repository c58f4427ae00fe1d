//! The activities pages: over plain HTTP, the list shows the company's activities newest first
//! with their linked records, filters them (kind, direction, text, days) and sorts them, says
//! what is wrong with a bad filter, pages through them; the edit form saves (keeping the links)
//! and shows bad values next to their fields without writing anything; delete works with the
//! CSRF token only; another company's activity is a 404 page; a read-only member sees the list
//! but no edit link and is refused the form; a sales rep sees only their own. In the browser:
//! an activity opened from the list is edited and the change shows in the list (its time, left
//! as shown, keeps its seconds).

use super::{Driver, Page, get_page, header, post_form, sign_in_at, web_sign_in};
use anyhow::{Result, ensure};
use fantoccini::Locator;
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, json_of, spawn_app,
};
use serde_json::{Value, json};

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> String {
    let response = app.post(path, who, body).await;
    assert_eq!(response.status(), 201, "POST {path}");
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn activity(app: &TestApp, who: &Session, id: &str) -> Value {
    json_of(app.get(&format!("/activities/{id}"), who).await).await
}

async fn email_of(app: &TestApp, who: &Session) -> String {
    let me = json_of(app.get("/me", who).await).await;
    me["user"]["email"].as_str().unwrap().to_owned()
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// Whether `before` shows above `after` on the page.
fn above(page: &str, before: &str, after: &str) -> bool {
    matches!((page.find(before), page.find(after)), (Some(b), Some(a)) if b < a)
}

async fn activities_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let account = create(&app, &api_admin, "/accounts", json!({"name": "Acme Ltd"})).await;
    let lead = create(&app, &api_admin, "/leads", json!({"last_name": "Doe"})).await;
    let intro = create(
        &app,
        &api_admin,
        "/activities",
        json!({"kind": "call", "direction": "outbound", "subject": "Intro call",
               "body": "Talked pricing", "occurred_at": "2026-03-02T10:00:00Z",
               "duration_seconds": 600,
               "links": [{"record_type": "account", "record_id": account},
                         {"record_type": "lead", "record_id": lead}]}),
    )
    .await;
    let question = create(
        &app,
        &api_admin,
        "/activities",
        json!({"kind": "email", "direction": "inbound", "subject": "Pricing question",
               "occurred_at": "2026-03-04T10:00:00Z",
               "links": [{"record_type": "lead", "record_id": lead}]}),
    )
    .await;
    let note = create(
        &app,
        &api_admin,
        "/activities",
        json!({"kind": "note", "body": "Remember the budget",
               "occurred_at": "2026-03-03T10:00:00Z",
               "links": [{"record_type": "account", "record_id": account}]}),
    )
    .await;
    let rep = app.member(&api_admin, "sales").await;
    let rep_lead = create(&app, &rep, "/leads", json!({"last_name": "Roe"})).await;
    create(
        &app,
        &rep,
        "/activities",
        json!({"kind": "sms", "subject": "Rep text message", "occurred_at": "2026-03-01T10:00:00Z",
               "links": [{"record_type": "lead", "record_id": rep_lead}]}),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // The list: newest first, each row with its kind, its records by name and its owner; the
    // navigation links here.
    let response = get_page(&app, &admin, "/activities").await;
    assert_eq!(response.status(), 200);
    let page = text(response).await;
    for title in [
        "Intro call",
        "Pricing question",
        "Remember the budget",
        "Rep text message",
    ] {
        assert!(page.contains(title), "{title}: {page}");
    }
    assert!(above(&page, "Pricing question", "Remember the budget"));
    assert!(above(&page, "Remember the budget", "Intro call"));
    let row = &page[page
        .find(&format!(r#"data-activity-id="{intro}""#))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!(r#"<a href="/accounts/{account}">Acme Ltd</a>"#))
            && row.contains(&format!(r#"<a href="/leads/{lead}">Doe</a>"#))
            && row.contains(">Call<")
            && row.contains("Outbound")
            && row.contains("2026-03-02 10:00")
            && row.contains(&format!(r#"href="/activities/{intro}/edit""#)),
        "{row}"
    );
    assert!(
        page.contains(r#"id="activities-owner_id""#),
        "an admin may filter by owner"
    );
    let home = text(get_page(&app, &admin, "/").await).await;
    assert!(
        home.contains(r#"href="/activities""#),
        "the navigation: {home}"
    );
    // The lead's timeline links each activity to its form, which comes back to the lead.
    let lead_page = text(get_page(&app, &admin, &format!("/leads/{lead}")).await).await;
    let from_timeline = format!("/activities/{intro}/edit?back=%2Fleads%2F{lead}");
    assert!(
        lead_page.contains(&format!(r#"href="{from_timeline}""#)),
        "{lead_page}"
    );
    let form = text(get_page(&app, &admin, &from_timeline).await).await;
    assert!(
        form.contains(&format!(r#"name="back" value="/leads/{lead}""#)),
        "{form}"
    );

    // Filters: kind, direction, text over subject and body, the company's days.
    let page = text(get_page(&app, &admin, "/activities?kind=call").await).await;
    assert!(page.contains("Intro call") && !page.contains("Pricing question"));
    let page = text(get_page(&app, &admin, "/activities?direction=inbound").await).await;
    assert!(page.contains("Pricing question") && !page.contains("Intro call"));
    let page = text(get_page(&app, &admin, "/activities?q=PRICING").await).await;
    assert!(
        page.contains("Intro call")
            && page.contains("Pricing question")
            && !page.contains("Remember the budget"),
        "{page}"
    );
    let page = text(
        get_page(
            &app,
            &admin,
            "/activities?occurred_from=2026-03-03&occurred_to=2026-03-03",
        )
        .await,
    )
    .await;
    assert!(page.contains("Remember the budget") && !page.contains("Intro call"));
    assert!(page.contains(r#"href="/activities">Clear</a>"#));
    let page = text(get_page(&app, &admin, "/activities?kind=meeting").await).await;
    assert!(
        page.contains("No activities match these filters."),
        "{page}"
    );

    // Sorting: oldest first when asked, and the column says so.
    let page = text(get_page(&app, &admin, "/activities?sort=occurred_at").await).await;
    assert!(above(&page, "Intro call", "Remember the budget"));
    assert!(above(&page, "Remember the budget", "Pricing question"));
    assert!(page.contains(r#"aria-sort="ascending""#), "{page}");
    let page = text(get_page(&app, &admin, "/activities").await).await;
    assert!(
        page.contains(r#"href="/activities?sort=occurred_at""#),
        "the next click sorts oldest first: {page}"
    );

    // Bad filters are a 400 page that says what is wrong.
    for (query, says) in [
        ("kind=fax", "must be one of"),
        ("sort=colour", "allowed sort fields"),
        (
            "occurred_from=yesterday",
            r#"id="activities-occurred_from-error""#,
        ),
        ("colour=red", "Unknown filter colour"),
    ] {
        let response = get_page(&app, &admin, &format!("/activities?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let page = text(response).await;
        assert!(page.contains(says), "{query}: {page}");
    }
    assert_eq!(
        get_page(&app, &admin, "/activities?cursor=nonsense")
            .await
            .status(),
        400
    );

    // Keyset pages of 50: the next page holds the rest.
    for n in 0..48 {
        create(
            &app,
            &api_admin,
            "/activities",
            json!({"kind": "note", "subject": format!("Filler {n:02}"),
                   "occurred_at": "2026-04-01T10:00:00Z",
                   "links": [{"record_type": "lead", "record_id": lead}]}),
        )
        .await;
    }
    let page = text(get_page(&app, &admin, "/activities").await).await;
    assert!(page.contains("Filler") && !page.contains("Rep text message"));
    let marker = r#"href="/activities?sort=-occurred_at&#38;cursor="#;
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("a next page link: {page}"))
        + r#"href=""#.len();
    let next = page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let page = text(get_page(&app, &admin, &next).await).await;
    assert!(
        page.contains("Rep text message") && !page.contains("Filler"),
        "{page}"
    );
    assert!(page.contains("First page"));

    // The edit form shows the company's local time and the links, and saves.
    let edit = format!("/activities/{intro}/edit");
    let page = text(get_page(&app, &admin, &edit).await).await;
    assert!(
        page.contains(r#"value="Intro call""#)
            && page.contains(r#"value="2026-03-02""#)
            && page.contains(r#"value="10:00""#)
            && page.contains(r#"value="10""#)
            && page.contains("Acme Ltd")
            && page.contains(&format!(r#"action="/activities/{intro}/delete""#)),
        "{page}"
    );
    let good = |subject: &'static str| {
        vec![
            ("kind", "meeting"),
            ("direction", ""),
            ("subject", subject),
            ("body", "Demo booked"),
            ("occurred_date", "2026-03-05"),
            ("occurred_time", "11:15"),
            ("duration_minutes", "45"),
            ("outcome", "Interested"),
        ]
    };
    // The fields as a form body, after the CSRF token unless it is empty.
    let with_csrf = |fields: Vec<(&'static str, &'static str)>, csrf: &str| {
        let token = (!csrf.is_empty()).then(|| ("csrf_token".to_owned(), csrf.to_owned()));
        let fields = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        token.into_iter().chain(fields).collect::<Vec<_>>()
    };
    let post = |client: &reqwest::Client, path: String, fields: Vec<(String, String)>| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            client
                .post(format!("{base}{path}"))
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    // Bad values stay on the page next to their fields, and nothing changes.
    let before = activity(&app, &api_admin, &intro).await;
    for (field, value, error) in [
        ("duration_minutes", "-5", "activity-duration_minutes-error"),
        (
            "duration_minutes",
            "soon",
            "activity-duration_minutes-error",
        ),
        ("occurred_date", "", "activity-occurred_date-error"),
        ("occurred_time", "25:99", "activity-occurred_time-error"),
        ("kind", "fax", "activity-kind-error"),
    ] {
        let mut fields = good("Intro call, changed");
        for f in &mut fields {
            if f.0 == field {
                f.1 = value;
            }
        }
        let response = post(&admin, edit.clone(), with_csrf(fields, &csrf)).await;
        assert_eq!(response.status(), 422, "{field}={value}");
        let page = text(response).await;
        assert!(page.contains(error), "{field}={value}: {page}");
        assert!(
            page.contains(r#"value="Intro call, changed""#),
            "typed values stay"
        );
    }
    let page = text(
        post(
            &admin,
            edit.clone(),
            with_csrf(
                vec![
                    ("kind", "call"),
                    ("occurred_date", "2026-03-05"),
                    ("duration_minutes", "-5"),
                ],
                &csrf,
            ),
        )
        .await,
    )
    .await;
    assert!(
        page.contains("Duration in minutes must be between 0 and 10080"),
        "{page}"
    );
    assert_eq!(activity(&app, &api_admin, &intro).await, before);
    // Without the CSRF token the post is refused.
    let response = post(&admin, edit.clone(), with_csrf(good("No token"), "")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(activity(&app, &api_admin, &intro).await, before);
    // A good one saves, keeps the links, and the list shows it.
    let response = post(
        &admin,
        edit.clone(),
        with_csrf(good("Intro meeting"), &csrf),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/activities");
    let saved = activity(&app, &api_admin, &intro).await;
    assert_eq!(saved["kind"], "meeting");
    assert_eq!(saved["subject"], "Intro meeting");
    assert_eq!(saved["duration_seconds"], 2700);
    assert_eq!(saved["outcome"], "Interested");
    assert!(saved["direction"].is_null(), "{saved}");
    assert_eq!(saved["links"], before["links"]);
    assert_eq!(
        saved["occurred_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "2026-03-05T11:15:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    let page = text(get_page(&app, &admin, "/activities?kind=meeting").await).await;
    assert!(
        page.contains("Saved the activity “Intro meeting”.")
            && page.contains("Intro meeting")
            && page.contains("2026-03-05 11:15"),
        "{page}"
    );
    // The form returns to the page it was opened from.
    let page = text(get_page(&app, &admin, &format!("{edit}?back=/leads/{lead}")).await).await;
    assert!(
        page.contains(&format!(r#"name="back" value="/leads/{lead}""#)),
        "{page}"
    );

    // Times are the company's: in Auckland the same instant is the next morning.
    let response = app
        .patch(
            "/settings",
            &api_admin,
            json!({"timezone": "Pacific/Auckland"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = text(get_page(&app, &admin, &edit).await).await;
    assert!(
        page.contains(r#"value="2026-03-06""#) && page.contains(r#"value="00:15""#),
        "{page}"
    );
    let page = text(
        get_page(
            &app,
            &admin,
            "/activities?occurred_from=2026-03-06&occurred_to=2026-03-06",
        )
        .await,
    )
    .await;
    assert!(
        page.contains("Intro meeting") && page.contains("Pacific/Auckland"),
        "{page}"
    );

    // Another company's activity is a 404 page, for reading and for every button; its list
    // does not show ours.
    let other = app.other_company("Other Ltd").await;
    let (outsider, outsider_csrf) =
        web_sign_in(&app, &email_of(&app, &other).await, ADMIN_PASSWORD).await;
    assert_eq!(get_page(&app, &outsider, &edit).await.status(), 404);
    for path in [edit.clone(), format!("/activities/{intro}/delete")] {
        let response = post(
            &outsider,
            path.clone(),
            with_csrf(good("Mine now"), &outsider_csrf),
        )
        .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let page = text(get_page(&app, &outsider, "/activities").await).await;
    assert!(!page.contains("Intro meeting") && page.contains("Nothing logged yet"));
    assert_eq!(
        activity(&app, &api_admin, &intro).await["subject"],
        "Intro meeting"
    );

    // A read-only member sees the list but no edit link, and the form is refused.
    let reader = app.member(&api_admin, "read_only").await;
    let (reader, reader_csrf) = web_sign_in(&app, &email_of(&app, &reader).await, PASSWORD).await;
    let page = text(get_page(&app, &reader, "/activities?kind=meeting").await).await;
    assert!(page.contains("Intro meeting"), "{page}");
    assert!(!page.contains("/edit\""), "{page}");
    let lead_page = text(get_page(&app, &reader, &format!("/leads/{lead}")).await).await;
    assert!(
        lead_page.contains("timeline-activity") && !lead_page.contains("/activities/"),
        "{lead_page}"
    );
    assert_eq!(get_page(&app, &reader, &edit).await.status(), 403);
    for path in [edit.clone(), format!("/activities/{intro}/delete")] {
        let response = post(
            &reader,
            path.clone(),
            with_csrf(good("Read only"), &reader_csrf),
        )
        .await;
        assert_eq!(response.status(), 403, "{path}");
    }
    assert_eq!(
        activity(&app, &api_admin, &intro).await["subject"],
        "Intro meeting"
    );

    // A sales rep sees their own activities only, without an owner filter.
    let (rep_web, _) = web_sign_in(&app, &email_of(&app, &rep).await, PASSWORD).await;
    let page = text(get_page(&app, &rep_web, "/activities").await).await;
    assert!(page.contains("Rep text message") && !page.contains("Intro meeting"));
    assert!(!page.contains(r#"id="activities-owner_id""#));

    // Delete: refused without the token, done with it.
    let delete = format!("/activities/{note}/delete");
    assert_eq!(post_form(&app, &admin, &delete, &[]).await.status(), 403);
    let response = post_form(&app, &admin, &delete, &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/activities");
    assert_eq!(
        app.get(&format!("/activities/{note}"), &api_admin)
            .await
            .status(),
        404
    );
    let page = text(get_page(&app, &admin, "/activities").await).await;
    assert!(
        page.contains("Deleted the activity “Remember the budget”.")
            && !page.contains(&format!(r#"data-activity-id="{note}""#)),
        "{page}"
    );
    assert_eq!(
        activity(&app, &api_admin, &question).await["subject"],
        "Pricing question"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_list_filter_sort_edit_delete_tenancy_and_read_only_over_http() {
    activities_over_http(Db::Sqlite).await;
    if rivet_tests::postgres_admin_url().is_some() {
        activities_over_http(Db::Postgres).await;
    }
}

async fn browser_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let lead = create(app, &admin, "/leads", json!({"last_name": "Lovelace"})).await;
    let id = create(
        app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "First browser call",
               "links": [{"record_type": "lead", "record_id": lead}]}),
    )
    .await;
    let before = activity(app, &admin, &id).await;
    sign_in_at(page, "/activities").await?;
    page.expect_text("First browser call").await?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    page.client
        .find(Locator::LinkText("First browser call"))
        .await?
        .click()
        .await?;
    page.wait_for_new_page().await?;
    ensure!(
        page.path().await? == format!("/activities/{id}/edit"),
        "the edit page: {}",
        page.path().await?
    );
    page.shot("activity edit form").await?;
    page.fill("activity-subject", "Second browser call").await?;
    page.fill("activity-duration_minutes", "20").await?;
    page.choose("#activity-kind", "Meeting").await?;
    page.click_button("Save changes").await?;
    ensure!(
        page.path().await? == "/activities",
        "back on the list: {}",
        page.path().await?
    );
    page.expect_text("Saved the activity “Second browser call”.")
        .await?;
    page.expect_text("Second browser call").await?;
    let saved = activity(app, &admin, &id).await;
    ensure!(
        saved["duration_seconds"] == 1200
            && saved["kind"] == "meeting"
            && saved["occurred_at"] == before["occurred_at"],
        "saved: {saved}"
    );
    Ok(())
}

async fn browser_on(db: Db, driver: &Driver) {
    let app = spawn_app(db).await;
    let shots = std::env::var("RIVET_BROWSER_SCREENSHOTS")
        .ok()
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from);
    let client = driver.browser().await;
    let page = Page {
        client: &client,
        base: &app.base,
        shots,
        label: format!("{db:?}-activities").to_lowercase(),
        step: Default::default(),
    };
    let result = browser_steps(&app, &page).await;
    client.close().await.ok();
    if let Err(err) = result {
        panic!(
            "{db:?}: {err:#}\n(chromedriver log: {})",
            driver.dir.path().join("chromedriver.log").display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_opened_from_the_list_is_edited_and_the_list_shows_the_change() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    browser_on(Db::Sqlite, &driver).await;
    if rivet_tests::postgres_admin_url().is_some() {
        browser_on(Db::Postgres, &driver).await;
    }
}
