//! Assignment rules (issue 13 §3): ordered rules with conditions and an action (one user,
//! round-robin over users or a team, least-loaded), the fallback owner, the dry run, applying
//! rules to existing leads, the store's `assign_in` that intake paths call (round-robin turns
//! survive a restart and are distinct under concurrent batches, inactive users are skipped),
//! permissions, tenancy and bad input — on SQLite and PostgreSQL.

use rivet_domain::Actor;
use rivet_domain::assignment::AssignmentEntity;
use rivet_store::assignment::{Assignment, assign_in, create_assignment_tasks_in};
use rivet_tests::serde_json::{Map, Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, ids_of, json_of, spawn_app,
};

async fn actor_of(app: &TestApp, who: &Session) -> Actor {
    rivet_store::sessions::load_actor(&app.state.store, who.company_id, who.user_id, None, None)
        .await
        .unwrap()
        .expect("the member's actor")
}

async fn rule(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/assignment-rules", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

/// The assignment the dry run answers for `record`.
async fn test_record(app: &TestApp, who: &Session, record: Value) -> Value {
    let response = app
        .post("/assignment-rules/test", who, json!({"record": record}))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await["assignment"].clone()
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `assign_in` for `records` in one committed transaction of `app`'s store.
async fn assign(app: &TestApp, actor: &Actor, records: Vec<Value>) -> Vec<Option<Assignment>> {
    let tx = app.state.store.write(actor).await.unwrap();
    let records: Vec<Map<String, Value>> = records.into_iter().map(map).collect();
    let out = assign_in(&tx, actor, AssignmentEntity::Leads, &records)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    out
}

fn strs(items: &[&String]) -> Vec<String> {
    items.iter().map(|s| (*s).clone()).collect()
}

fn owners(assignments: &[Option<Assignment>]) -> Vec<String> {
    assignments
        .iter()
        .map(|a| {
            a.as_ref()
                .map(|a| a.owner_id.to_string())
                .unwrap_or_default()
        })
        .collect()
}

async fn each_condition_decides_which_rule_assigns(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let (dach, big, web, hot, vip, nobody) = (
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
    );
    let user = |s: &Session| json!({"kind": "user", "user_id": s.user_id});
    rule(
        &app,
        &admin,
        json!({"name": "DACH", "conditions": [
        {"op": "territory", "countries": ["DE", "AT", "CH"], "regions": ["South Tyrol"]}],
        "action": user(&dach)}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "Enterprise", "conditions": [
        {"op": "range", "field": "employee_count", "gte": 1000},
        {"op": "range", "field": "annual_revenue", "gte": "1000000.00"}],
        "action": user(&big)}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "Web", "conditions": [
        {"op": "source", "values": ["web", "Landing page"]}], "action": user(&web)}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "Hot", "conditions": [
        {"op": "range", "field": "total_score", "gte": 80, "lte": 100}], "action": user(&hot)}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "VIP", "conditions": [
        {"op": "contains", "field": "company_name", "value": "ROBOT"},
        {"op": "in", "field": "industry", "values": ["Software", "Hardware"]},
        {"op": "equals", "field": "status", "value": "new"}], "action": user(&vip)}),
    )
    .await;
    let inactive = rule(
        &app,
        &admin,
        json!({"name": "Off", "active": false,
        "action": user(&nobody)}),
    )
    .await;
    assert_eq!(inactive["position"], 6);

    let cases = [
        (json!({"country": "de"}), Some((&dach, "DACH"))),
        (
            json!({"country": "IT", "region": "south tyrol"}),
            Some((&dach, "DACH")),
        ),
        (
            json!({"employee_count": 5000, "annual_revenue": "1000000"}),
            Some((&big, "Enterprise")),
        ),
        (
            json!({"employee_count": 5000, "annual_revenue": "999999.99"}),
            None,
        ),
        (json!({"source": "LANDING PAGE "}), Some((&web, "Web"))),
        (json!({"total_score": 80}), Some((&hot, "Hot"))),
        (json!({"total_score": 79}), None),
        (
            json!({"company_name": "Acme Robotics", "industry": "software", "status": "new"}),
            Some((&vip, "VIP")),
        ),
        (
            json!({"company_name": "Acme Robotics", "industry": "Retail", "status": "new"}),
            None,
        ),
        // The first matching rule wins.
        (
            json!({"country": "AT", "source": "web"}),
            Some((&dach, "DACH")),
        ),
        (json!({}), None),
    ];
    for (record, expected) in cases {
        let got = test_record(&app, &admin, record.clone()).await;
        match expected {
            Some((who, name)) => {
                assert_eq!(got["owner_id"], json!(who.user_id), "{record}: {got}");
                assert_eq!(got["rule_name"], name, "{record}: {got}");
            }
            None => assert!(got.is_null(), "{record}: {got}"),
        }
    }
}

async fn round_robin_takes_turns_skips_inactive_users_and_survives_a_restart(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let reps = [
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
    ];
    let ids: Vec<Value> = reps.iter().map(|r| json!(r.user_id)).collect();
    let created = rule(
        &app,
        &admin,
        json!({"name": "Everyone",
        "action": {"kind": "round_robin", "user_ids": ids}}),
    )
    .await;
    let actor = actor_of(&app, &admin).await;
    let names: Vec<String> = reps.iter().map(|r| r.user_id.to_string()).collect();

    // The dry run takes no turn.
    for _ in 0..2 {
        let preview = test_record(&app, &admin, json!({})).await;
        assert_eq!(preview["owner_id"], json!(reps[0].user_id));
        assert_eq!(preview["turn"], 0);
    }
    let first = assign(&app, &actor, vec![json!({}); 4]).await;
    assert_eq!(
        owners(&first),
        strs(&[&names[0], &names[1], &names[2], &names[0]])
    );
    assert_eq!(
        first
            .iter()
            .map(|a| a.as_ref().unwrap().turn.unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(
        first[0].as_ref().unwrap().rule_id.unwrap().to_string(),
        created["id"].as_str().unwrap()
    );

    // A new application on the same database goes on where the last one stopped.
    let restarted =
        rivet_store::Store::connect(app.state.config.database_url.as_deref().unwrap(), 2)
            .await
            .unwrap();
    let tx = restarted.write(&actor).await.unwrap();
    let next = assign_in(&tx, &actor, AssignmentEntity::Leads, &[Map::new()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(owners(&next), strs(&[&names[1]]));

    // A deactivated member is skipped.
    let response = app
        .post(
            &format!("/users/{}/deactivate", reps[2].user_id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let later = assign(&app, &actor, vec![json!({}); 4]).await;
    assert!(owners(&later).iter().all(|o| *o != names[2]), "{later:?}");
    assert_eq!(owners(&later).iter().filter(|o| **o == names[0]).count(), 2);
}

async fn concurrent_batches_take_distinct_consecutive_turns(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let reps = [
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
        app.member(&admin, "sales").await,
    ];
    let ids: Vec<Value> = reps.iter().map(|r| json!(r.user_id)).collect();
    rule(
        &app,
        &admin,
        json!({"name": "RR", "action": {"kind": "round_robin", "user_ids": ids}}),
    )
    .await;
    let actor = actor_of(&app, &admin).await;
    const N: usize = 12;
    let mut tasks = Vec::new();
    for _ in 0..N {
        let store = app.state.store.clone();
        let actor = actor.clone();
        tasks.push(tokio::spawn(async move {
            let tx = store.write(&actor).await.unwrap();
            let out = assign_in(&tx, &actor, AssignmentEntity::Leads, &[Map::new()])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            out
        }));
    }
    let mut turns = Vec::new();
    let mut per_owner = std::collections::HashMap::new();
    for task in tasks {
        let out = task.await.unwrap();
        let a = out[0].clone().unwrap();
        turns.push(a.turn.unwrap());
        *per_owner.entry(a.owner_id).or_insert(0) += 1;
    }
    turns.sort_unstable();
    assert_eq!(turns, (0..N as i64).collect::<Vec<_>>());
    assert!(per_owner.values().all(|n| *n == N / 3), "{per_owner:?}");
}

async fn a_team_pool_and_least_loaded_use_current_members_and_open_leads(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let team = json_of(app.post("/teams", &admin, json!({"name": "Inside"})).await).await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    let a = app.member_in_team(&admin, "sales", Some(&team_id)).await;
    let b = app.member_in_team(&admin, "sales", Some(&team_id)).await;
    let outsider = app.member(&admin, "sales").await;
    // a owns two open leads and a converted one; b owns one open and two unqualified.
    crate::qualification::without_gates(&app, &admin).await;
    for (who, status) in [
        (&a, "new"),
        (&a, "contacted"),
        (&a, "converted"),
        (&b, "new"),
        (&b, "unqualified"),
        (&b, "unqualified"),
    ] {
        let response = app
            .post(
                "/leads",
                &admin,
                json!({"last_name": "L", "status": status.replace("converted", "new"),
                       "owner_id": who.user_id}),
            )
            .await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        if status == "converted" {
            // Only a conversion makes a lead converted.
            let lead = json_of(response).await;
            let path = format!("/leads/{}/convert", lead["id"].as_str().unwrap());
            let converted = app.post(&path, &admin, json!({})).await;
            assert_eq!(converted.status(), 200, "{:?}", converted.text().await);
        }
    }
    rule(
        &app,
        &admin,
        json!({"name": "Fewest", "conditions": [
        {"op": "source", "values": ["fair"]}],
        "action": {"kind": "least_loaded", "user_ids": [a.user_id, b.user_id, outsider.user_id]}}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "Team", "action": {"kind": "round_robin", "team_id": team_id}}),
    )
    .await;
    let actor = actor_of(&app, &admin).await;
    // Open leads: a 2, b 1, outsider 0. The batch gives the emptiest the next one and counts
    // as it goes; a tie goes to the first in the rule's list.
    let fair = assign(&app, &actor, vec![json!({"source": "Fair"}); 4]).await;
    let (aa, bb, o) = (
        a.user_id.to_string(),
        b.user_id.to_string(),
        outsider.user_id.to_string(),
    );
    assert_eq!(owners(&fair), strs(&[&o, &bb, &o, &aa]));
    // The team's members in id order, the outsider never.
    let mut members = [a.user_id.to_string(), b.user_id.to_string()];
    members.sort();
    let team_turns = assign(&app, &actor, vec![json!({}); 3]).await;
    assert_eq!(
        owners(&team_turns),
        strs(&[&members[0], &members[1], &members[0]])
    );
}

async fn the_fallback_owner_takes_what_no_rule_matches(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let response = app.get("/assignment-rules/settings", &admin).await;
    assert_eq!(json_of(response).await["fallback_owner_id"], Value::Null);
    let actor = actor_of(&app, &admin).await;
    assert_eq!(assign(&app, &actor, vec![json!({})]).await, [None]);
    let response = app
        .put(
            "/assignment-rules/settings",
            &admin,
            json!({"fallback_owner_id": rep.user_id}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_of(response).await["fallback_owner_id"],
        json!(rep.user_id)
    );
    let got = test_record(&app, &admin, json!({"country": "FR"})).await;
    assert_eq!(got["owner_id"], json!(rep.user_id));
    assert!(got["rule_id"].is_null());
    let out = assign(&app, &actor, vec![json!({})]).await;
    assert_eq!(owners(&out), [rep.user_id.to_string()]);
    // A fallback owner who left is no owner.
    app.post(
        &format!("/users/{}/deactivate", rep.user_id),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(assign(&app, &actor, vec![json!({})]).await, [None]);
    let response = app
        .put(
            "/assignment-rules/settings",
            &admin,
            json!({"fallback_owner_id": null}),
        )
        .await;
    assert_eq!(json_of(response).await["fallback_owner_id"], Value::Null);
}

async fn rules_are_listed_changed_reordered_and_deleted(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let user = json!({"kind": "user", "user_id": rep.user_id});
    let one = rule(&app, &admin, json!({"name": "One", "action": user})).await;
    let two = rule(
        &app,
        &admin,
        json!({"name": "Two", "action": user,
        "create_task": {"title": "Call within a day"}}),
    )
    .await;
    let three = rule(&app, &admin, json!({"name": "Three", "action": user})).await;
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();
    let listed = json_of(app.get("/assignment-rules", &admin).await).await;
    assert_eq!(ids_of(&listed), [id(&one), id(&two), id(&three)]);

    let response = app
        .patch(
            &format!("/assignment-rules/{}", id(&two)),
            &admin,
            json!({"name": "Two b", "conditions": [{"op": "source", "values": ["web"]}]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let changed = json_of(response).await;
    assert_eq!(changed["name"], "Two b");
    assert_eq!(changed["create_task"]["title"], "Call within a day");
    assert_eq!(changed["position"], 2);
    assert_eq!(changed["conditions"][0]["values"], json!(["web"]));

    let response = app
        .post(
            "/assignment-rules/reorder",
            &admin,
            json!({"ids": [id(&three), id(&one), id(&two)]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let listed = json_of(app.get("/assignment-rules", &admin).await).await;
    assert_eq!(ids_of(&listed), [id(&three), id(&one), id(&two)]);
    // Not every rule, or one twice: nothing moves.
    for ids in [
        json!([id(&three), id(&one)]),
        json!([id(&three), id(&one), id(&one)]),
    ] {
        let problem = assert_problem(
            app.post("/assignment-rules/reorder", &admin, json!({"ids": ids}))
                .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), ["ids"]);
    }

    let response = app
        .delete(&format!("/assignment-rules/{}", id(&three)), &admin)
        .await;
    assert_eq!(response.status(), 204);
    let listed = json_of(app.get("/assignment-rules", &admin).await).await;
    assert_eq!(ids_of(&listed), [id(&one), id(&two)]);
    assert_eq!(listed["data"][0]["position"], 1);
    assert_eq!(listed["data"][1]["position"], 2);
    let response = app
        .get(&format!("/assignment-rules/{}", id(&three)), &admin)
        .await;
    assert_problem(response, 404).await;

    // Every change is audited.
    let response = app.get("/audit?resource=assignment_rules", &admin).await;
    let audit = json_of(response).await;
    assert!(audit["data"].as_array().map_or(0, Vec::len) >= 5, "{audit}");
}

async fn applying_rules_reassigns_leads_through_the_audited_update_with_tasks(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    rule(
        &app,
        &admin,
        json!({"name": "DE", "conditions": [{"op": "territory", "countries": ["DE"]}],
        "action": {"kind": "user", "user_id": rep.user_id},
        "create_task": {"title": "Welcome call"}}),
    )
    .await;
    let mut leads = Vec::new();
    for country in ["DE", "DE", "FR"] {
        let lead = json_of(
            app.post(
                "/leads",
                &admin,
                // An owner named: the rules do not assign it as it comes in.
                json!({"last_name": "L", "country": country, "custom_fields": {},
                       "owner_id": admin.user_id}),
            )
            .await,
        )
        .await;
        leads.push(lead["id"].as_str().unwrap().to_owned());
    }
    let response = app
        .post(
            "/assignment-rules/apply",
            &admin,
            json!({"ids": [leads[0], leads[2]]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let results = json_of(response).await;
    assert_eq!(results["data"][0]["result"], "assigned");
    assert_eq!(results["data"][1]["result"], "no_match");
    let task_id = results["data"][0]["task_id"].as_str().unwrap().to_owned();
    let lead = json_of(app.get(&format!("/leads/{}", leads[0]), &admin).await).await;
    assert_eq!(lead["owner_id"], json!(rep.user_id));
    let task = json_of(app.get(&format!("/tasks/{task_id}"), &admin).await).await;
    assert_eq!(task["subject"], "Welcome call");
    assert_eq!(task["assignee_id"], json!(rep.user_id));
    assert_eq!(task["related_id"], json!(leads[0]));
    let history = json_of(
        app.get(&format!("/leads/{}/history", leads[0]), &admin)
            .await,
    )
    .await;
    assert!(history.to_string().contains("owner_id"), "{history}");

    // By filter: the other German lead; the first is unchanged now.
    let response = app
        .post(
            "/assignment-rules/apply",
            &admin,
            json!({"filter": "country=DE"}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let results = json_of(response).await;
    let mut got: Vec<String> = results["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["assigned", "unchanged"]);
    let lead = json_of(app.get(&format!("/leads/{}", leads[1]), &admin).await).await;
    assert_eq!(lead["owner_id"], json!(rep.user_id));

    // The store's task function, as intake paths call it.
    let actor = actor_of(&app, &admin).await;
    let tx = app.state.store.write(&actor).await.unwrap();
    let assignment = Assignment {
        owner_id: rep.user_id,
        rule_id: None,
        rule_name: Some("DE".into()),
        task_title: Some("Call back".into()),
        turn: None,
    };
    let lead_id = leads[2].parse().unwrap();
    let tasks = create_assignment_tasks_in(&tx, &actor, &[(lead_id, &assignment)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].assignee_id, rep.user_id);
}

async fn a_sales_rep_cannot_manage_rules_or_apply_beyond_their_scope(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let body = json!({"name": "Mine", "action": {"kind": "user", "user_id": rep.user_id}});
    assert_problem(app.post("/assignment-rules", &rep, body.clone()).await, 403).await;
    let created = rule(&app, &admin, body).await;
    let path = format!("/assignment-rules/{}", created["id"].as_str().unwrap());
    assert_problem(app.patch(&path, &rep, json!({"name": "x"})).await, 403).await;
    assert_problem(app.delete(&path, &rep).await, 403).await;
    assert_problem(
        app.put(
            "/assignment-rules/settings",
            &rep,
            json!({"fallback_owner_id": null}),
        )
        .await,
        403,
    )
    .await;
    // An admin's lead is outside a rep's update scope: it is not found, and keeps its owner.
    let lead = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "L", "owner_id": admin.user_id}),
        )
        .await,
    )
    .await;
    let response = app
        .post(
            "/assignment-rules/apply",
            &rep,
            json!({"ids": [lead["id"]]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(json_of(response).await["data"][0]["result"], "not_found");
    let lead = json_of(
        app.get(&format!("/leads/{}", lead["id"].as_str().unwrap()), &admin)
            .await,
    )
    .await;
    assert_eq!(lead["owner_id"], json!(admin.user_id));
}

/// Every intake path assigns a lead that names no owner: the API's create (even by a rep who
/// may only create their own leads), the ingestion API and a web-to-lead form.
async fn a_new_lead_without_an_owner_is_assigned_as_it_comes_in(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    rule(
        &app,
        &admin,
        json!({"name": "DE", "conditions": [{"op": "territory", "countries": ["DE"]}],
        "action": {"kind": "user", "user_id": rep.user_id},
        "create_task": {"title": "Welcome call"}}),
    )
    .await;
    let created = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Api", "country": "DE"}),
        )
        .await,
    )
    .await;
    assert_eq!(created["owner_id"], json!(rep.user_id));
    let tasks = json_of(app.get("/tasks?limit=50", &admin).await).await;
    assert!(
        tasks["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["related_id"] == created["id"]
                && t["subject"] == "Welcome call"
                && t["assignee_id"] == json!(rep.user_id)),
        "{tasks}"
    );
    // No rule matches: the creator keeps it; an owner named: the rules stay out.
    let french = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Fr", "country": "FR"}),
        )
        .await,
    )
    .await;
    assert_eq!(french["owner_id"], json!(admin.user_id));
    let named = json_of(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Named", "country": "DE", "owner_id": admin.user_id}),
        )
        .await,
    )
    .await;
    assert_eq!(named["owner_id"], json!(admin.user_id));
    // A rep who may only create their own leads still creates one the rules give to someone
    // else.
    let other = app.member(&admin, "sales").await;
    let response = app
        .post(
            "/leads",
            &other,
            json!({"last_name": "Rep's", "country": "DE"}),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    assert_eq!(json_of(response).await["owner_id"], json!(rep.user_id));
    // The ingestion API and a web form take the same path.
    let ingested = json_of(
        app.post(
            "/ingest/leads",
            &admin,
            json!({"leads": [{"last_name": "Ingested", "country": "DE"}]}),
        )
        .await,
    )
    .await;
    let id = ingested["results"][0]["id"].as_str().unwrap();
    let lead = json_of(app.get(&format!("/leads/{id}"), &admin).await).await;
    assert_eq!(lead["owner_id"], json!(rep.user_id));
    let form = json_of(
        app.post(
            "/lead-forms",
            &admin,
            json!({"name": "Web", "fields": [{"field": "last_name"}, {"field": "country"}]}),
        )
        .await,
    )
    .await;
    let response = app
        .client
        .post(app.url(&format!("/f/{}", form["key"].as_str().unwrap())))
        .form(&[("last_name", "Visitor"), ("country", "DE")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found = json_of(app.get("/leads?q=Visitor", &admin).await).await;
    assert_eq!(found["data"][0]["owner_id"], json!(rep.user_id), "{found}");
}

async fn another_companys_rules_users_and_teams_are_out_of_reach(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let other = app.other_company("Globex").await;
    let their_team = json_of(app.post("/teams", &other, json!({"name": "Theirs"})).await).await;
    for (action, field) in [
        (
            json!({"kind": "user", "user_id": other.user_id}),
            "action.user_id",
        ),
        (
            json!({"kind": "round_robin", "user_ids": [admin.user_id, other.user_id]}),
            "action.user_ids",
        ),
        (
            json!({"kind": "least_loaded", "team_id": their_team["id"]}),
            "action.team_id",
        ),
    ] {
        let problem = assert_problem(
            app.post(
                "/assignment-rules",
                &admin,
                json!({"name": "X", "action": action}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), [field]);
    }
    let problem = assert_problem(
        app.put(
            "/assignment-rules/settings",
            &admin,
            json!({"fallback_owner_id": other.user_id}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["fallback_owner_id"]);
    let theirs = rule(
        &app,
        &other,
        json!({"name": "Theirs",
        "action": {"kind": "user", "user_id": other.user_id}}),
    )
    .await;
    let path = format!("/assignment-rules/{}", theirs["id"].as_str().unwrap());
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.patch(&path, &admin, json!({"name": "Mine"})).await, 404).await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    let listed = json_of(app.get("/assignment-rules", &admin).await).await;
    assert_eq!(listed["data"], json!([]));
    // Their rule assigns nothing here.
    assert!(test_record(&app, &admin, json!({})).await.is_null());
}

async fn bad_input_is_refused_and_nothing_is_written(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let me = json!({"kind": "user", "user_id": admin.user_id});
    let cases = [
        (
            json!({"name": "X", "action": me, "colour": "red"}),
            400,
            vec![],
        ),
        (
            json!({"name": "X", "action": {"kind": "user", "user_id": "nope"}}),
            422,
            vec!["action.user_id"],
        ),
        (json!({"action": me}), 422, vec!["name"]),
        (json!({"name": "X"}), 422, vec!["action"]),
        (
            json!({"name": "X", "action": {"kind": "round_robin", "user_ids": []}}),
            422,
            vec!["action.user_ids"],
        ),
        (
            json!({"name": "X", "action": me, "conditions": [
            {"op": "equals", "field": "shoe_size", "value": 1}]}),
            422,
            vec!["conditions[0].field"],
        ),
        (
            json!({"name": "X", "action": me, "conditions": [
            {"op": "range", "field": "city", "gte": 1}]}),
            422,
            vec!["conditions[0].op"],
        ),
        (
            json!({"name": "X", "action": me, "conditions": [
            {"op": "equals", "field": "employee_count", "value": "lots"}]}),
            422,
            vec!["conditions[0].value"],
        ),
        (
            json!({"name": "X", "action": me, "create_task": {"title": " "}}),
            422,
            vec!["create_task.title"],
        ),
        (
            json!({"name": "X", "action": {"kind": "user", "user_id": uuid_v7()}}),
            422,
            vec!["action.user_id"],
        ),
    ];
    for (body, status, fields) in cases {
        let problem = assert_problem(
            app.post("/assignment-rules", &admin, body.clone()).await,
            status,
        )
        .await;
        if status == 422 {
            assert_eq!(fields_of(&problem), fields, "{body}");
        }
    }
    let listed = json_of(app.get("/assignment-rules", &admin).await).await;
    assert_eq!(listed["data"], json!([]));
    assert_problem(
        app.get("/assignment-rules?entity=tickets", &admin).await,
        400,
    )
    .await;
    assert_problem(app.get("/assignment-rules?colour=red", &admin).await, 400).await;
    let problem = assert_problem(
        app.post(
            "/assignment-rules/test",
            &admin,
            json!({"record": {"shoe_size": 9}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["record.shoe_size"]);
    for (body, status) in [
        (json!({}), 422),
        (json!({"ids": [], "filter": "x=1"}), 422),
        (json!({"ids": []}), 422),
        (json!({"filter": "shoe_size=9"}), 422),
        (json!({"filter": "limit=5"}), 422),
        (json!({"idz": []}), 400),
    ] {
        assert_problem(
            app.post("/assignment-rules/apply", &admin, body.clone())
                .await,
            status,
        )
        .await;
    }
    // A change that fails leaves the rule as it was.
    let created = rule(&app, &admin, json!({"name": "Keep", "action": me})).await;
    let path = format!("/assignment-rules/{}", created["id"].as_str().unwrap());
    let problem = assert_problem(
        app.patch(
            &path,
            &admin,
            json!({"name": "New", "action": {"kind": "teleport"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["action.kind"]);
    assert_eq!(json_of(app.get(&path, &admin).await).await["name"], "Keep");
}

fn uuid_v7() -> String {
    rivet_domain::ids::UserId::new().to_string()
}

both!(
    a_new_lead_without_an_owner_is_assigned_as_it_comes_in,
    each_condition_decides_which_rule_assigns,
    round_robin_takes_turns_skips_inactive_users_and_survives_a_restart,
    concurrent_batches_take_distinct_consecutive_turns,
    a_team_pool_and_least_loaded_use_current_members_and_open_leads,
    the_fallback_owner_takes_what_no_rule_matches,
    rules_are_listed_changed_reordered_and_deleted,
    applying_rules_reassigns_leads_through_the_audited_update_with_tasks,
    a_sales_rep_cannot_manage_rules_or_apply_beyond_their_scope,
    another_companys_rules_users_and_teams_are_out_of_reach,
    bad_input_is_refused_and_nothing_is_written,
);
