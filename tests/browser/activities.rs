//! The activities pages: over plain HTTP, the list shows the company's activities newest first
//! with their linked records, filters them (kind, direction, text, days) and sorts them, says
//! what is wrong with a bad filter, pages through them; the edit form saves (keeping the links)
//! and shows bad values next to their fields without writing anything; delete works with the
//! CSRF token only; another company's activity is a 404 page; a read-only member sees the list
//! but no edit link and is refused the form; a sales rep sees only their own. Bulk owner change
//! and delete from the list (CSRF token required, a confirmation page first, scope and tenancy
//! kept, no bulk bar for a read-only member), and saved views: one with a kind and a day (in the
//! company's time zone) re-opens with the same rows and the day back in the filter, and a
//! default view opens with the list. In the browser:
//! an activity opened from the list is edited and the change shows in the list (its time, left
//! as shown, keeps its seconds).

use super::{
    Driver, Page, email_of, get_page, header, post_form, row_ids, sign_in_at, view_href,
    web_sign_in,
};
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
    assert!(page.contains(r#"href="/activities?view=all">Clear</a>"#));
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

rivet_tests::both!(activities_list_filter_sort_edit_delete_tenancy_and_read_only_over_http => activities_over_http);

async fn owner_of(app: &TestApp, who: &Session, id: &str) -> String {
    activity(app, who, id).await["owner_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn activity_count(app: &TestApp, who: &Session) -> usize {
    let page = json_of(app.get("/activities", who).await).await;
    page["data"].as_array().unwrap().len()
}

async fn bulk_actions_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let account = create(&app, &api_admin, "/accounts", json!({"name": "Bulk Ltd"})).await;
    let call = |subject: &'static str| {
        json!({"kind": "call", "subject": subject,
               "links": [{"record_type": "account", "record_id": account}]})
    };
    let a = create(&app, &api_admin, "/activities", call("Bulk one")).await;
    let b = create(&app, &api_admin, "/activities", call("Bulk two")).await;
    let c = create(&app, &api_admin, "/activities", call("Bulk three")).await;
    let rep = app.member(&api_admin, "sales").await;
    let admin_id = api_admin.user_id.to_string();
    let rep_id = rep.user_id.to_string();
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // A checkbox per row, the bar with the owners, and "All" ticks every row of the page.
    let page = text(get_page(&app, &admin, "/activities?kind=call").await).await;
    assert!(page.contains(r#"action="/activities/bulk""#), "{page}");
    assert!(page.contains(r#"id="bulk-owner_id""#), "{page}");
    let unticked = format!(r#"id="select-{a}" aria-label="Select Bulk one">"#);
    let ticked = format!(r#"id="select-{a}" aria-label="Select Bulk one" checked>"#);
    assert!(page.contains(&unticked), "{page}");
    assert!(page.contains("select=all"), "{page}");
    let page = text(get_page(&app, &admin, "/activities?kind=call&select=all").await).await;
    assert!(page.contains(&ticked), "{page}");
    assert_eq!(row_ids("activity", &page).len(), 3);

    // Without the CSRF token nothing happens.
    let owner_change = [
        ("action", "owner"),
        ("owner_id", rep_id.as_str()),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
        ("back", "/activities?kind=call"),
    ];
    let response = post_form(&app, &admin, "/activities/bulk", &owner_change).await;
    assert_eq!(response.status(), 403);
    assert_eq!(owner_of(&app, &api_admin, &a).await, admin_id);
    // With it, both change owner and the list says so.
    let mut with_token = owner_change.to_vec();
    with_token.push(("csrf_token", &csrf));
    let response = post_form(&app, &admin, "/activities/bulk", &with_token).await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/activities?kind=call");
    for id in [&a, &b] {
        assert_eq!(owner_of(&app, &api_admin, id).await, rep_id);
    }
    assert_eq!(owner_of(&app, &api_admin, &c).await, admin_id);
    let page = text(get_page(&app, &admin, "/activities?kind=call").await).await;
    assert!(
        page.contains("Changed the owner of 2 activities."),
        "{page}"
    );
    // Nothing selected, no owner chosen, or an owner who is no member: back to the list with a
    // message, nothing changed.
    let stranger = "0190f000-0000-7000-8000-000000000000";
    for (fields, message) in [
        (
            vec![("owner_id", admin_id.as_str())],
            "Select at least one activity first.",
        ),
        (
            vec![("owner_id", ""), ("ids", c.as_str())],
            "Choose the new owner first.",
        ),
        (
            vec![("owner_id", stranger), ("ids", c.as_str())],
            "Is not an active member of this company",
        ),
    ] {
        let mut fields = fields;
        fields.extend([("action", "owner"), ("csrf_token", csrf.as_str())]);
        let response = post_form(&app, &admin, "/activities/bulk", &fields).await;
        assert_eq!(response.status(), 303);
        assert_eq!(header(&response, "location"), "/activities");
        let page = text(get_page(&app, &admin, "/activities").await).await;
        assert!(page.contains(message), "{message}: {page}");
    }
    assert_eq!(owner_of(&app, &api_admin, &c).await, admin_id);

    // Delete asks first, then deletes; without the token it does not.
    let delete = [
        ("csrf_token", csrf.as_str()),
        ("action", "delete"),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
    ];
    let response = post_form(&app, &admin, "/activities/bulk", &delete).await;
    assert_eq!(response.status(), 200);
    let page = text(response).await;
    assert!(
        page.contains("Delete 2 activities?")
            && page.contains("Bulk one")
            && page.contains("Bulk two"),
        "{page}"
    );
    assert_eq!(
        activity_count(&app, &api_admin).await,
        3,
        "nothing deleted yet"
    );
    let mut confirmed = delete.to_vec();
    confirmed.push(("confirm", "yes"));
    let without_token: Vec<(&str, &str)> = confirmed[1..].to_vec();
    let response = post_form(&app, &admin, "/activities/bulk", &without_token).await;
    assert_eq!(response.status(), 403);
    assert_eq!(activity_count(&app, &api_admin).await, 3);
    let response = post_form(&app, &admin, "/activities/bulk", &confirmed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(activity_count(&app, &api_admin).await, 1);
    assert_eq!(
        app.get(&format!("/activities/{a}"), &api_admin)
            .await
            .status(),
        404
    );
    let page = text(get_page(&app, &admin, "/activities").await).await;
    assert!(page.contains("Deleted 2 activities."), "{page}");
    assert_eq!(row_ids("activity", &page), std::slice::from_ref(&c));

    // Another company's activity is not found; a sales rep cannot touch the admin's.
    let other = app.other_company("Other Ltd").await;
    let (outsider, outsider_csrf) =
        web_sign_in(&app, &email_of(&app, &other).await, ADMIN_PASSWORD).await;
    let (rep_web, rep_csrf) = web_sign_in(&app, &email_of(&app, &rep).await, PASSWORD).await;
    for (who, token) in [(&outsider, &outsider_csrf), (&rep_web, &rep_csrf)] {
        for action in [
            vec![("action", "owner"), ("owner_id", rep_id.as_str())],
            vec![("action", "delete"), ("confirm", "yes")],
        ] {
            let mut fields = action;
            fields.extend([("csrf_token", token.as_str()), ("ids", c.as_str())]);
            let response = post_form(&app, who, "/activities/bulk", &fields).await;
            assert_eq!(response.status(), 404);
        }
    }
    assert_eq!(owner_of(&app, &api_admin, &c).await, admin_id);
    assert_eq!(activity_count(&app, &api_admin).await, 1);

    // A read-only member has no bar and no checkboxes, and the posts are refused.
    let reader = app.member(&api_admin, "read_only").await;
    let (reader, reader_csrf) = web_sign_in(&app, &email_of(&app, &reader).await, PASSWORD).await;
    let page = text(get_page(&app, &reader, "/activities").await).await;
    assert!(page.contains("Bulk three"), "{page}");
    assert!(!page.contains("/activities/bulk") && !page.contains(r#"name="ids""#));
    for action in [
        vec![("action", "delete"), ("confirm", "yes")],
        vec![("action", "owner"), ("owner_id", rep_id.as_str())],
    ] {
        let mut fields = action;
        fields.extend([("csrf_token", reader_csrf.as_str()), ("ids", c.as_str())]);
        let response = post_form(&app, &reader, "/activities/bulk", &fields).await;
        assert_eq!(response.status(), 403);
    }
    assert_eq!(owner_of(&app, &api_admin, &c).await, admin_id);
    assert_eq!(activity_count(&app, &api_admin).await, 1);
}

rivet_tests::both!(bulk_owner_change_and_delete_from_the_list_over_http => bulk_actions_over_http);

async fn saved_views_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    // Days are the company's: in Auckland (UTC+13 in March) a day starts at 11:00 UTC.
    let response = app
        .patch(
            "/settings",
            &api_admin,
            json!({"timezone": "Pacific/Auckland"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let account = create(&app, &api_admin, "/accounts", json!({"name": "Views Ltd"})).await;
    let log = |kind: &str, subject: &str, at: &str| {
        json!({"kind": kind, "subject": subject, "occurred_at": at,
               "links": [{"record_type": "account", "record_id": account}]})
    };
    // 09:00 on 5 March in Auckland.
    let recent_call = create(
        &app,
        &api_admin,
        "/activities",
        log("call", "Recent call", "2026-03-04T20:00:00Z"),
    )
    .await;
    // 23:00 on 2 March in Auckland, though already 3 March in UTC.
    let early_call = create(
        &app,
        &api_admin,
        "/activities",
        log("call", "Early call", "2026-03-02T10:00:00Z"),
    )
    .await;
    let email = create(
        &app,
        &api_admin,
        "/activities",
        log("email", "Recent email", "2026-03-05T20:00:00Z"),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Save calls from 3 March on: stored as the API's query, the day as Auckland's.
    let filtered = "/activities?kind=call&occurred_from=2026-03-03";
    let filtered_page = text(get_page(&app, &admin, filtered).await).await;
    assert_eq!(
        row_ids("activity", &filtered_page),
        std::slice::from_ref(&recent_call)
    );
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", &csrf),
            ("resource", "activities"),
            ("name", "Calls this month"),
            ("return_to", filtered),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let location = header(&response, "location");
    assert!(
        location.starts_with("/activities?")
            && location.contains("occurred_from=2026-03-03")
            && location.contains("kind=call")
            && !location.contains("occurred_at"),
        "{location}"
    );
    let saved = json_of(app.get("/views?resource=activities", &api_admin).await).await;
    let query = saved["data"][0]["query"].as_str().unwrap().to_owned();
    assert_eq!(
        query, "occurred_at%5Bgte%5D=2026-03-02T11%3A00%3A00.000Z&kind=call",
        "{saved}"
    );
    let api_rows = json_of(app.get(&format!("/activities?{query}"), &api_admin).await).await;
    assert_eq!(api_rows["data"].as_array().unwrap().len(), 1);
    assert_eq!(api_rows["data"][0]["id"], recent_call.as_str());

    // Re-opened from the bar of the whole list: the same rows, the day back in the filter.
    let whole = text(get_page(&app, &admin, "/activities?view=all").await).await;
    assert_eq!(row_ids("activity", &whole).len(), 3);
    let href = view_href(&whole, "Calls this month");
    let page = text(get_page(&app, &admin, &href).await).await;
    assert_eq!(
        row_ids("activity", &page),
        row_ids("activity", &filtered_page),
        "{href}"
    );
    assert!(
        page.contains(r#"aria-current="page">Calls this month"#),
        "{page}"
    );
    assert!(
        page.contains(r#"name="occurred_from" type="date" value="2026-03-03""#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="call" selected>"#), "{page}");
    // A view whose time is not a day boundary keeps it, and still shows the same rows.
    let response = app
        .post(
            "/views",
            &api_admin,
            json!({"resource": "activities", "name": "Since noon",
                   "query": "occurred_at[gte]=2026-03-04T12:00:00Z"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let whole = text(get_page(&app, &admin, "/activities?view=all").await).await;
    let href = view_href(&whole, "Since noon");
    assert!(href.contains("occurred_at"), "{href}");
    let page = text(get_page(&app, &admin, &href).await).await;
    let mut shown = row_ids("activity", &page);
    shown.sort();
    let mut want = vec![recent_call.clone(), email.clone()];
    want.sort();
    assert_eq!(shown, want, "{page}");

    // Bad filters are not saved; the API checks an activities query with the list's parser.
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", &csrf),
            ("resource", "activities"),
            ("name", "Broken"),
            ("return_to", "/activities?occurred_from=yesterday"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    for query in [
        "occurred_at[gte]=soon",
        "subject=Recent",
        "record_type=lead",
        "sort=subject",
    ] {
        let response = app
            .post(
                "/views",
                &api_admin,
                json!({"resource": "activities", "name": "Bad", "query": query}),
            )
            .await;
        assert_eq!(response.status(), 422, "{query}");
    }
    let saved = json_of(app.get("/views?resource=activities", &api_admin).await).await;
    assert_eq!(saved["data"].as_array().unwrap().len(), 2, "{saved}");

    // A default view applies when the list opens with no query; "All" and Clear do not.
    let response = post_form(
        &app,
        &admin,
        "/views",
        &[
            ("csrf_token", &csrf),
            ("resource", "activities"),
            ("name", "E-mails"),
            ("return_to", "/activities?kind=email"),
            ("is_default", "true"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = text(get_page(&app, &admin, "/activities").await).await;
    assert_eq!(
        row_ids("activity", &page),
        std::slice::from_ref(&email),
        "{page}"
    );
    assert!(page.contains(r#"aria-current="page">E-mails"#), "{page}");
    assert!(
        page.contains(r#"href="/activities?view=all">Clear</a>"#),
        "{page}"
    );
    let whole = text(get_page(&app, &admin, "/activities?view=all").await).await;
    assert!(
        row_ids("activity", &whole).contains(&early_call),
        "the whole list"
    );
    // Another member's default is theirs alone.
    let reader = app.member(&api_admin, "read_only").await;
    let (reader, _) = web_sign_in(&app, &email_of(&app, &reader).await, PASSWORD).await;
    let page = text(get_page(&app, &reader, "/activities").await).await;
    assert_eq!(row_ids("activity", &page).len(), 3, "{page}");
}

rivet_tests::both!(an_activities_view_with_a_kind_and_a_day_reopens_with_the_same_rows_over_http => saved_views_over_http);

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
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn an_activity_opened_from_the_list_is_edited_and_the_list_shows_the_change() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    browser_on(Db::Sqlite, &driver).await;
    browser_on(Db::Postgres, &driver).await;
}
