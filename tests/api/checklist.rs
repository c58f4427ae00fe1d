//! BANT and MEDDICC as a checklist (issue 14 §2): on leads and deals each element has a status,
//! a note and, where it fits, a typed value; the BANT score, MEDDICC completeness and strength
//! follow and cannot be written; `GET …/checklist` explains each point and what is missing; the
//! gates read an element's status; a conversion carries the checklist to the deal; bad values
//! are 422s naming the field with nothing written; another company sees nothing. A contact
//! named as economic buyer or champion never dangles: merged away, the survivor takes its
//! place; deleted, it leaves the element (status and note stay), each change audited.

use crate::qualification::without_gates;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, ids_of, json_of, spawn_app,
};
use uuid::Uuid;

async fn created(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn item<'a>(checklist: &'a Value, element: &str) -> &'a Value {
    checklist["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["element"] == element))
        .unwrap()
}

async fn a_leads_checklist_is_structured_scored_and_explained(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;

    // A note alone identifies its element: 10 points and 5 for the detail.
    let lead = created(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Lovelace", "budget": "Pilot money set aside"}),
    )
    .await;
    assert_eq!(lead["budget_status"], "identified");
    assert_eq!(lead["authority_status"], "unknown");
    assert_eq!(lead["bant_score"], 15);
    assert_eq!(lead["meddicc_completeness"], 0);
    let path = format!("/leads/{}", id(&lead));
    let checklist = json_of(app.get(&format!("{path}/checklist"), &admin).await).await;
    assert_eq!(checklist["bant_score"], 15);
    let budget = item(&checklist, "budget");
    assert_eq!(budget["framework"], "bant");
    assert_eq!(
        (&budget["points"], &budget["max_points"]),
        (&json!(15), &json!(25))
    );
    assert_eq!(budget["missing"], "not confirmed, no amount");
    assert_eq!(
        item(&checklist, "need")["missing"],
        "not identified yet, no note"
    );
    assert_eq!(checklist["items"].as_array().map(Vec::len), Some(11));
    assert!(
        checklist["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("budget"))
    );

    // Confirmed with typed values; the champion is a contact of the company.
    let champion = created(&app, &admin, "/contacts", json!({"last_name": "Babbage"})).await;
    let patched = json_of(
        app.patch(
            &path,
            &admin,
            json!({"budget_status": "confirmed", "budget_amount": "50000", "budget_currency": "eur",
                   "authority_status": "confirmed", "timeline_date": "2027-03-31",
                   "champion_status": "confirmed", "champion_contact_id": id(&champion),
                   "metrics_status": "identified"}),
        )
        .await,
    )
    .await;
    assert_eq!(patched["budget_amount"], "50000.00");
    assert_eq!(patched["budget_currency"], "EUR");
    assert_eq!(patched["timeline_status"], "identified");
    // Budget 25, authority 20, timeline identified by its date 15.
    assert_eq!(patched["bant_score"], 60);
    // Champion and metrics known: 2 of 7; champion 3 points, metrics 1, of 21.
    assert_eq!(patched["meddicc_completeness"], 29);
    assert_eq!(patched["meddicc_strength"], 19);
    let checklist = json_of(app.get(&format!("{path}/checklist"), &admin).await).await;
    assert_eq!(item(&checklist, "budget")["value"], "50000.00 EUR");
    assert_eq!(item(&checklist, "budget")["missing"], Value::Null);
    assert_eq!(item(&checklist, "champion")["value"], id(&champion));

    // The trail keeps the change; the list filters and sorts by the figures.
    let trail = json_of(
        app.get(
            &format!("/audit?resource=leads&resource_id={}", id(&lead)),
            &admin,
        )
        .await,
    )
    .await;
    assert!(trail.to_string().contains("budget_status"), "{trail}");
    created(&app, &admin, "/leads", json!({"last_name": "Unknown"})).await;
    let page = json_of(app.get("/leads?bant_score[gte]=50", &admin).await).await;
    assert_eq!(ids_of(&page), [id(&lead)]);
    let page = json_of(app.get("/leads?sort=-meddicc_strength", &admin).await).await;
    assert_eq!(ids_of(&page).first(), Some(&id(&lead)));

    // Bad values are named and nothing changes.
    let other = app.other_company("Elsewhere").await;
    let stranger = created(&app, &other, "/contacts", json!({"last_name": "Stranger"})).await;
    for (body, field) in [
        (json!({"budget_status": "maybe"}), "budget_status"),
        (json!({"bant_score": 100}), "bant_score"),
        (json!({"meddicc_strength": 5}), "meddicc_strength"),
        (json!({"budget_currency": "EURO"}), "budget_currency"),
        (json!({"budget_amount": "-5"}), "budget_amount"),
        (json!({"timeline_date": "2027-02-30"}), "timeline_date"),
        (
            json!({"economic_buyer_contact_id": id(&stranger)}),
            "economic_buyer_contact_id",
        ),
        (
            json!({"champion_contact_id": "00000000-0000-0000-0000-000000000001"}),
            "champion_contact_id",
        ),
    ] {
        let problem = assert_problem(app.patch(&path, &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), [field]);
    }
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Cheap", "budget_amount": "10"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["budget_currency"]);
    let again = json_of(app.get(&path, &admin).await).await;
    assert_eq!(again, patched);

    // Another company reads none of it.
    assert_problem(app.get(&format!("{path}/checklist"), &other).await, 404).await;
    // A member who may not read leads gets a 403.
    let dealer = app
        .member_with_grants(
            &admin,
            "dealer",
            json!([{"resource": "deals", "action": "read", "scope": "all"}]),
        )
        .await;
    assert_problem(app.get(&format!("{path}/checklist"), &dealer).await, 403).await;
}

async fn the_gates_read_an_elements_status(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    // Qualified needs budget and authority: a status known is enough, without a note.
    app.put(
        "/qualification/settings",
        &admin,
        json!({"gates": [{"to": "qualified", "requires": ["budget", "authority"]}]}),
    )
    .await;
    let lead = created(&app, &admin, "/leads", json!({"last_name": "Gated"})).await;
    let path = format!("/leads/{}", id(&lead));
    let problem = assert_problem(
        app.patch(
            &path,
            &admin,
            json!({"status": "qualified", "budget_status": "confirmed"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["authority"]);
    let moved = json_of(
        app.patch(
            &path,
            &admin,
            json!({"status": "qualified", "budget_status": "confirmed",
                   "authority_status": "identified"}),
        )
        .await,
    )
    .await;
    assert_eq!(moved["status"], "qualified");
}

async fn a_deals_checklist_is_its_own_and_a_conversion_carries_the_leads(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    without_gates(&app, &admin).await;
    let buyer = created(&app, &admin, "/contacts", json!({"last_name": "Buyer"})).await;

    // A deal: notes, statuses and values of its own; the budget takes the deal's currency.
    let deal = created(
        &app,
        &admin,
        "/deals",
        json!({"name": "Fleet", "currency": "GBP", "budget_amount": "900",
               "economic_buyer_status": "confirmed", "economic_buyer_contact_id": id(&buyer),
               "identified_pain": "Month-end close takes 9 days",
               "competition_status": "identified"}),
    )
    .await;
    assert_eq!(deal["budget_currency"], "GBP");
    assert_eq!(deal["budget_status"], "identified");
    assert_eq!(deal["identified_pain_status"], "identified");
    assert_eq!(deal["bant_score"], 15);
    // Three of seven known; economic buyer 3, pain 2, competition 1 of 21.
    assert_eq!(deal["meddicc_completeness"], 43);
    assert_eq!(deal["meddicc_strength"], 29);
    let checklist = json_of(
        app.get(&format!("/deals/{}/checklist", id(&deal)), &admin)
            .await,
    )
    .await;
    assert_eq!(item(&checklist, "economic_buyer")["missing"], Value::Null);
    assert_eq!(
        item(&checklist, "champion")["missing"],
        "not identified yet, no contact named"
    );
    let page = json_of(app.get("/deals?meddicc_completeness[gte]=40", &admin).await).await;
    assert_eq!(ids_of(&page), [id(&deal)]);
    let problem = assert_problem(
        app.patch(
            &format!("/deals/{}", id(&deal)),
            &admin,
            json!({"metrics_status": "sure", "bant_score": 1}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["bant_score", "metrics_status"]);

    // A lead's checklist becomes its deal's when it converts.
    let lead = created(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ada", "last_name": "Lovelace", "company_name": "Engines Ltd",
               "need": "Faster close", "need_status": "confirmed",
               "budget_amount": "12000", "budget_currency": "EUR"}),
    )
    .await;
    let response = app
        .post(
            &format!("/leads/{}/convert", id(&lead)),
            &admin,
            json!({"deal": {"amount": "12000"}}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let converted = json_of(response).await;
    let made = &converted["deal"];
    assert_eq!(made["need"], "Faster close");
    assert_eq!(made["need_status"], "confirmed");
    assert_eq!(made["budget_amount"], "12000.00");
    assert_eq!(made["budget_currency"], "EUR");
    assert_eq!(made["bant_score"], lead["bant_score"]);
}

/// The audit rows of `resource` `id` that changed `field`, as `(before, after)`, newest first.
async fn changes_of(
    app: &TestApp,
    who: &Session,
    (resource, id): (&str, &str),
    field: &str,
) -> Vec<(Value, Value)> {
    let page = json_of(
        app.get(
            &format!("/audit?resource={resource}&resource_id={id}&action=update"),
            who,
        )
        .await,
    )
    .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["changes"].get(field))
        .map(|c| (c["before"].clone(), c["after"].clone()))
        .collect()
}

/// The types of the events of record `id`, newest first.
async fn event_types(app: &TestApp, who: &Session, id: &str) -> Vec<String> {
    let page = json_of(
        app.get(&format!("/events?limit=500&record_id={id}"), who)
            .await,
    )
    .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The record at `path` patched to clear `field`.
async fn cleared(app: &TestApp, who: &Session, path: &str, field: &str) -> Value {
    let response = app.patch(path, who, json!({ field: null })).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

/// The figures the checklist gives a record.
fn figures(record: &Value) -> [&Value; 3] {
    [
        &record["bant_score"],
        &record["meddicc_completeness"],
        &record["meddicc_strength"],
    ]
}

async fn a_merged_contact_is_replaced_by_the_survivor_in_every_checklist(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let jane = id(&created(&app, &admin, "/contacts", json!({"last_name": "Jane"})).await);
    let janet = id(&created(&app, &admin, "/contacts", json!({"last_name": "Janet"})).await);
    let other = id(&created(&app, &admin, "/contacts", json!({"last_name": "Other"})).await);
    // The survivor as economic buyer and the loser as champion; both roles the loser's; a
    // checklist naming neither.
    let lead = created(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Lead", "economic_buyer_contact_id": jane,
               "champion_contact_id": janet, "champion_status": "confirmed"}),
    )
    .await;
    let deal = created(
        &app,
        &admin,
        "/deals",
        json!({"name": "Fleet", "economic_buyer_contact_id": janet,
               "champion_contact_id": janet, "champion": "Pushes for us"}),
    )
    .await;
    let untouched = created(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Else", "champion_contact_id": other}),
    )
    .await;

    let response = app
        .post(
            "/contacts/merge",
            &admin,
            json!({"survivor_id": jane, "loser_ids": [janet]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    let lead_now = json_of(app.get(&format!("/leads/{}", id(&lead)), &admin).await).await;
    assert_eq!(
        (
            &lead_now["economic_buyer_contact_id"],
            &lead_now["champion_contact_id"]
        ),
        (&json!(jane), &json!(jane))
    );
    assert_eq!(lead_now["champion_status"], "confirmed");
    assert_eq!(figures(&lead_now), figures(&lead), "a contact named still");
    let deal_now = json_of(app.get(&format!("/deals/{}", id(&deal)), &admin).await).await;
    assert_eq!(
        (
            &deal_now["economic_buyer_contact_id"],
            &deal_now["champion_contact_id"]
        ),
        (&json!(jane), &json!(jane))
    );
    assert_eq!(deal_now["champion"], "Pushes for us");
    assert_eq!(figures(&deal_now), figures(&deal));
    let else_now = json_of(app.get(&format!("/leads/{}", id(&untouched)), &admin).await).await;
    assert_eq!(else_now, untouched);

    // Each change is the record's audited update with its event; the merge counts them.
    assert_eq!(
        changes_of(&app, &admin, ("leads", &id(&lead)), "champion_contact_id").await,
        [(json!(janet), json!(jane))]
    );
    assert!(
        changes_of(
            &app,
            &admin,
            ("leads", &id(&lead)),
            "economic_buyer_contact_id"
        )
        .await
        .is_empty()
    );
    assert_eq!(
        changes_of(
            &app,
            &admin,
            ("deals", &id(&deal)),
            "economic_buyer_contact_id"
        )
        .await,
        [(json!(janet), json!(jane))]
    );
    assert_eq!(
        event_types(&app, &admin, &id(&lead)).await.first().unwrap(),
        "lead.updated"
    );
    assert!(
        event_types(&app, &admin, &id(&deal))
            .await
            .contains(&"deal.updated".to_owned())
    );
    let merged = json_of(
        app.get(
            &format!("/events?type=contact.merged&record_id={jane}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(
        merged["data"][0]["data"]["moved"]["checklists"], 2,
        "{merged}"
    );
}

async fn a_deleted_contact_leaves_the_checklists_with_their_status_and_note(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let buyer = id(&created(&app, &admin, "/contacts", json!({"last_name": "Buyer"})).await);
    let champion = id(&created(&app, &admin, "/contacts", json!({"last_name": "Champ"})).await);
    let body = json!({"last_name": "Lead", "economic_buyer_contact_id": buyer,
                      "champion_contact_id": champion, "champion_status": "confirmed",
                      "champion": "Loves us"});
    let lead = created(&app, &admin, "/leads", body.clone()).await;
    // A twin a client patches, before each delete, as the delete changes the lead: the
    // figures must agree.
    let twin = format!(
        "/leads/{}",
        id(&created(&app, &admin, "/leads", body).await)
    );
    let deal = created(
        &app,
        &admin,
        "/deals",
        json!({"name": "Fleet", "economic_buyer_contact_id": buyer,
               "economic_buyer_status": "confirmed"}),
    )
    .await;
    let lead_path = format!("/leads/{}", id(&lead));
    let deal_path = format!("/deals/{}", id(&deal));

    // Another company's lead naming our buyer (a reference made by hand: no client can) keeps
    // it: a delete changes the deleting company's records only. Nor can it delete ours.
    let other = app.other_company("Elsewhere").await;
    let theirs = created(&app, &other, "/leads", json!({"last_name": "Theirs"})).await;
    let buyer_id: Uuid = buyer.parse().unwrap();
    let theirs_id: Uuid = id(&theirs).parse().unwrap();
    app.sql(
        "UPDATE leads SET economic_buyer_contact_id = ? WHERE id = ?",
        vec![buyer_id.into(), theirs_id.into()],
    )
    .await;
    let theirs = json_of(app.get(&format!("/leads/{theirs_id}"), &other).await).await;
    assert_problem(app.delete(&format!("/contacts/{buyer}"), &other).await, 404).await;

    // One delete: the economic buyer goes from the lead and the deal; its status stays.
    let patched = cleared(&app, &admin, &twin, "economic_buyer_contact_id").await;
    let response = app.delete(&format!("/contacts/{buyer}"), &admin).await;
    assert_eq!(response.status(), 204);
    let lead_now = json_of(app.get(&lead_path, &admin).await).await;
    assert_eq!(lead_now["economic_buyer_contact_id"], Value::Null);
    assert_eq!(lead_now["economic_buyer_status"], "identified");
    assert_eq!(lead_now["champion_contact_id"], json!(champion));
    assert_eq!(
        figures(&lead_now),
        figures(&patched),
        "as a patch computes them"
    );
    assert_ne!(figures(&lead_now), figures(&lead), "the detail is gone");
    let deal_now = json_of(app.get(&deal_path, &admin).await).await;
    assert_eq!(deal_now["economic_buyer_contact_id"], Value::Null);
    assert_eq!(deal_now["economic_buyer_status"], "confirmed");
    // Economic buyer confirmed without its detail: 2 of 21.
    assert_eq!(deal_now["meddicc_strength"], 10);
    assert_eq!(deal["meddicc_strength"], 14);
    assert_eq!(
        changes_of(
            &app,
            &admin,
            ("leads", &id(&lead)),
            "economic_buyer_contact_id"
        )
        .await,
        [(json!(buyer), Value::Null)]
    );
    assert_eq!(
        changes_of(
            &app,
            &admin,
            ("deals", &id(&deal)),
            "economic_buyer_contact_id"
        )
        .await,
        [(json!(buyer), Value::Null)]
    );
    assert_eq!(
        event_types(&app, &admin, &id(&lead)).await.first().unwrap(),
        "lead.updated"
    );
    let theirs_now = json_of(app.get(&format!("/leads/{theirs_id}"), &other).await).await;
    assert_eq!(theirs_now, theirs);

    // A bulk delete: the champion goes, its status and note stay.
    let patched = cleared(&app, &admin, &twin, "champion_contact_id").await;
    let response = app
        .post("/contacts/bulk-delete", &admin, json!({"ids": [champion]}))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let lead_now = json_of(app.get(&lead_path, &admin).await).await;
    assert_eq!(lead_now["champion_contact_id"], Value::Null);
    assert_eq!(
        (&lead_now["champion_status"], &lead_now["champion"]),
        (&json!("confirmed"), &json!("Loves us"))
    );
    assert_eq!(figures(&lead_now), figures(&patched));
    assert_eq!(patched["champion_contact_id"], Value::Null);
    assert_eq!(
        changes_of(&app, &admin, ("leads", &id(&lead)), "champion_contact_id").await,
        [(json!(champion), Value::Null)]
    );
}

both!(
    a_leads_checklist_is_structured_scored_and_explained,
    the_gates_read_an_elements_status,
    a_deals_checklist_is_its_own_and_a_conversion_carries_the_leads,
    a_merged_contact_is_replaced_by_the_survivor_in_every_checklist,
    a_deleted_contact_leaves_the_checklists_with_their_status_and_note,
);
