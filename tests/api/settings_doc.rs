//! The settings documents (lead scoring, account health, deal risk, qualification gates) are
//! served by one generic layer, and each still answers in its own words: a read gives the
//! settings and the document's catalogue (no job), a replace the same and the id of the job it
//! queued under the document's own field name — a job of the document's own kind, for the
//! caller's company, with the document's cause — and the gates, which queue nothing, answer
//! with the settings alone. Each replace is one audit row named after the document.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, both, json_of, spawn_app};

/// A document: its path, its catalogue's field, its job's field and the job's kind.
struct Doc {
    path: &'static str,
    name: &'static str,
    catalogue: Option<&'static str>,
    job: Option<(&'static str, &'static str)>,
}

const DOCS: &[Doc] = &[
    Doc {
        path: "/scoring/settings",
        name: "scoring",
        catalogue: Some("signals"),
        job: Some(("rescore_job_id", "scoring.rescore")),
    },
    Doc {
        path: "/health/settings",
        name: "health",
        catalogue: Some("components"),
        job: Some(("recompute_job_id", "accounts.health")),
    },
    Doc {
        path: "/risk/settings",
        name: "risk",
        catalogue: Some("factors"),
        job: Some(("recompute_job_id", "deals.risk")),
    },
    Doc {
        path: "/qualification/settings",
        name: "qualification",
        catalogue: None,
        job: None,
    },
];

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(names: &[Option<&str>]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().flatten().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

async fn each_settings_document_answers_in_its_own_words(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for doc in DOCS {
        let read = json_of(app.get(doc.path, &admin).await).await;
        assert_eq!(
            keys(&read),
            sorted(&[Some("settings"), doc.catalogue]),
            "{}: {read}",
            doc.path
        );
        if let Some(list) = doc.catalogue {
            let entry = &read[list][0];
            assert_eq!(
                keys(entry),
                ["default_weight", "label", "name"],
                "{}: {read}",
                doc.path
            );
        }

        // What was read is valid as it is; saving it answers with the same settings.
        let response = app.put(doc.path, &admin, read["settings"].clone()).await;
        assert_eq!(response.status(), 200, "{}", doc.path);
        let saved = json_of(response).await;
        assert_eq!(
            keys(&saved),
            sorted(&[Some("settings"), doc.catalogue, doc.job.map(|(f, _)| f)]),
            "{}: {saved}",
            doc.path
        );
        assert_eq!(saved["settings"], read["settings"], "{}", doc.path);
        if let Some((field, kind)) = doc.job {
            let id = saved[field].as_str().unwrap();
            let job = json_of(app.get(&format!("/jobs/{id}"), &admin).await).await;
            assert_eq!(job["kind"], kind, "{}: {job}", doc.path);
            assert_eq!(
                job["payload"]["cause"],
                format!("the {} settings changed", doc.name),
                "{}: {job}",
                doc.path
            );
        }
        let audit = json_of(
            app.get(
                &format!("/audit?resource=settings&resource_id={}", doc.name),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(
            audit["data"].as_array().map(Vec::len),
            Some(1),
            "{}: {audit}",
            doc.path
        );
    }

    // Another company's job is not found: the job is the caller's company's.
    let other = app.other_company("Elsewhere").await;
    let saved = json_of(app.put("/risk/settings", &admin, json!({})).await).await;
    let id = saved["recompute_job_id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/jobs/{id}"), &other).await.status(), 404);
}

both!(each_settings_document_answers_in_its_own_words);
