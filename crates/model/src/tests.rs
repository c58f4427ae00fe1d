#![allow(clippy::unwrap_used)]

use rand::Rng;
use serde_json::json;

use super::*;

fn fields() -> FeatureFields {
    FeatureFields {
        categorical: vec!["industry".into()],
        numeric: vec!["employee_count".into()],
        counts: vec!["meetings held".into()],
    }
}

/// Leads whose conversion depends only on meetings held (plus a little noise); industry and
/// employee count are unrelated. `base` shifts the conversion rate.
fn leads(n: usize, seed: u64, base: f64) -> Vec<Sample> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let meetings = f64::from(rng.gen_range(0..8u8));
            let industry = ["Software", "Retail", "Energy"][rng.gen_range(0..3)];
            let employees = rng.gen_range(1..5000);
            let converted = meetings + rng.gen_range(-1.0..1.0) + base > 4.0;
            Sample {
                fields: json!({"industry": industry, "employee_count": employees})
                    .as_object()
                    .cloned()
                    .unwrap(),
                counts: BTreeMap::from([("meetings held".to_owned(), meetings)]),
                converted,
            }
        })
        .collect()
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[test]
fn a_clearly_separable_set_gets_a_high_auc_and_its_generating_feature_on_top() {
    let samples = leads(2000, 1, 0.0);
    let model = train(&fields(), &samples, &TrainOptions::default()).unwrap();
    assert!(model.metrics.roc_auc > 0.9, "{:?}", model.metrics);
    let top = &model.metrics.top_features[0];
    assert_eq!(top.feature, "meetings held");
    assert!(top.weight > 0.0, "more meetings must raise the probability");
    assert_eq!(model.metrics.sample_size, 2000);
    assert_eq!(model.metrics.train_size + model.metrics.test_size, 2000);
    assert_eq!(model.metrics.test_size, 400);
    assert_eq!(model.metrics.calibration.len(), 10);
}

#[test]
fn weights_favour_converting_when_most_leads_convert() {
    // linfa labels the majority class positive; here that is "converted".
    let samples = leads(1000, 2, 2.5);
    assert!(samples.iter().filter(|s| s.converted).count() > 500);
    let model = train(&fields(), &samples, &TrainOptions::default()).unwrap();
    let top = &model.metrics.top_features[0];
    assert_eq!(top.feature, "meetings held");
    assert!(top.weight > 0.0);
    let busy = model.probability(
        &Map::new(),
        &BTreeMap::from([("meetings held".into(), 7.0)]),
    );
    let idle = model.probability(&Map::new(), &BTreeMap::new());
    assert!(busy > idle);
}

#[test]
fn too_few_labelled_leads_is_not_enough_data() {
    let samples = leads(199, 3, 0.0);
    let error = train(&fields(), &samples, &TrainOptions::default()).unwrap_err();
    assert!(matches!(
        error,
        ModelError::NotEnoughData {
            labelled: 199,
            needed: 200,
            ..
        }
    ));
}

#[test]
fn too_few_conversions_is_not_enough_data() {
    let mut samples = leads(500, 4, 0.0);
    for sample in &mut samples {
        sample.converted = false;
    }
    for sample in samples.iter_mut().take(19) {
        sample.converted = true;
    }
    let error = train(&fields(), &samples, &TrainOptions::default()).unwrap_err();
    assert!(matches!(
        error,
        ModelError::NotEnoughData {
            positives: 19,
            needed_each_class: 20,
            ..
        }
    ));
}

#[test]
fn invalid_options_are_refused() {
    let samples = leads(500, 5, 0.0);
    for options in [
        TrainOptions {
            test_fraction: 1.0,
            ..TrainOptions::default()
        },
        TrainOptions {
            c: 0.0,
            ..TrainOptions::default()
        },
    ] {
        let error = train(&fields(), &samples, &options).unwrap_err();
        assert!(matches!(error, ModelError::InvalidOptions(_)), "{error}");
    }
}

#[test]
fn unseen_categories_missing_and_odd_values_are_scored_without_panicking() {
    let model = train(&fields(), &leads(1000, 6, 0.0), &TrainOptions::default()).unwrap();
    for (fields, counts) in [
        (json!({}), BTreeMap::new()),
        (
            json!({"industry": "Aerospace", "employee_count": null}),
            BTreeMap::new(),
        ),
        (
            json!({"industry": ["a"], "employee_count": "many", "unrelated": 1}),
            BTreeMap::from([("meetings held".into(), f64::NAN)]),
        ),
        (
            json!({"industry": 12, "employee_count": -3.5}),
            BTreeMap::from([("meetings held".into(), 1e300), ("other".into(), 2.0)]),
        ),
    ] {
        let prediction = model.predict(&object(fields), &counts);
        assert!((0.0..=1.0).contains(&prediction.probability));
        assert!(prediction.contributions.len() <= 5);
    }
    // Neither an unseen category nor a missing employee count occurred in training, so
    // both are scored like any other unseen or missing value.
    let unseen = |industry: &str| {
        model.probability(&object(json!({"industry": industry})), &BTreeMap::new())
    };
    assert_eq!(unseen("Aerospace"), unseen("Mining"));
}

#[test]
fn contributions_explain_the_prediction_largest_first() {
    let model = train(&fields(), &leads(1000, 7, 0.0), &TrainOptions::default()).unwrap();
    let lead = object(json!({"industry": "software", "employee_count": 40}));
    let counts = BTreeMap::from([("meetings held".into(), 7.0)]);
    let prediction = model.predict(&lead, &counts);
    assert_eq!(prediction.contributions[0].feature, "meetings held");
    assert!(prediction.contributions[0].effect > 0.0);
    let effects: Vec<f64> = prediction
        .contributions
        .iter()
        .map(|c| c.effect.abs())
        .collect();
    assert!(effects.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(prediction.probability, model.probability(&lead, &counts));
}

#[test]
fn a_model_round_trips_through_json_and_predicts_the_same() {
    let model = train(&fields(), &leads(800, 8, 0.0), &TrainOptions::default()).unwrap();
    let stored = serde_json::to_string(&model).unwrap();
    let loaded: Model = serde_json::from_str(&stored).unwrap();
    assert_eq!(loaded, model);
    for sample in leads(50, 9, 0.0) {
        assert_eq!(
            loaded.predict(&sample.fields, &sample.counts),
            model.predict(&sample.fields, &sample.counts)
        );
    }
}

#[test]
fn the_same_seed_trains_the_same_model_and_another_seed_splits_differently() {
    let samples = leads(600, 10, 0.0);
    let options = TrainOptions {
        seed: 42,
        ..TrainOptions::default()
    };
    let a = train(&fields(), &samples, &options).unwrap();
    let b = train(&fields(), &samples, &options).unwrap();
    assert_eq!(a, b);
    let c = train(
        &fields(),
        &samples,
        &TrainOptions {
            seed: 43,
            ..options
        },
    )
    .unwrap();
    assert_ne!(a.weights, c.weights);
}

#[test]
fn the_split_is_stratified_by_label() {
    let samples = leads(1000, 11, 0.0);
    let Split {
        train: train_rows,
        test: test_rows,
    } = split(&samples, &TrainOptions::default());
    let positives = samples.iter().filter(|s| s.converted).count() as f64;
    let test_positives = test_rows.iter().filter(|&&i| samples[i].converted).count() as f64;
    assert!((test_positives - (positives * 0.2).round()).abs() < 1.0);
    assert_eq!(train_rows.len() + test_rows.len(), 1000);
}
