//! `rivet-bench model`: the lead conversion model (`rivet-model`) on a synthetic lead set
//! whose conversion follows a known logistic process. Writes the set as CSV (for
//! `bench/model_eval.py`, which fits scikit-learn on the same rows), trains Rivet's model,
//! times it and prints the test-split ROC AUC. No server, no database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rivet_model::{FeatureFields, Sample, TrainOptions};
use serde_json::{Map, Value, json};

#[derive(Args)]
pub struct ModelArgs {
    /// Seeds the generated leads and the train/test split.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of labelled leads to generate.
    #[arg(long, default_value_t = 100_000)]
    leads: usize,
    /// Write the leads (with their `split`) to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
}

const CATEGORICAL: [&str; 4] = ["industry", "country", "source", "title"];
const NUMERIC: [&str; 2] = ["employee_count", "annual_revenue"];
const COUNTS: [&str; 4] = [
    "meetings_held",
    "calls_connected",
    "emails_replied",
    "forms_submitted",
];

/// Intercept of the generating process (about one lead in eight converts).
const BASE_LOGIT: f64 = -3.4;

/// Value, share of leads, effect on the log-odds of converting. The vocabularies are the
/// demo seed's (`crates/server/src/seed.rs`).
const INDUSTRIES: &[(&str, f64, f64)] = &[
    ("Software", 14.0, 0.7),
    ("Financial Services", 9.0, 0.4),
    ("Healthcare", 9.0, 0.3),
    ("Telecommunications", 5.0, 0.2),
    ("Manufacturing", 10.0, 0.0),
    ("Logistics", 6.0, 0.0),
    ("Energy", 4.0, 0.1),
    ("Retail", 9.0, -0.2),
    ("Education", 6.0, -0.4),
    ("Construction", 5.0, -0.2),
    ("Media", 5.0, -0.1),
    ("Hospitality", 5.0, -0.5),
    ("Real Estate", 4.0, -0.3),
    ("Agriculture", 3.0, -0.3),
    ("Government", 6.0, -0.7),
];
const INDUSTRY_MISSING: (f64, f64) = (0.08, -0.2);

const COUNTRIES: &[(&str, f64, f64)] = &[
    ("US", 30.0, 0.2),
    ("GB", 10.0, 0.1),
    ("DE", 10.0, 0.1),
    ("CA", 6.0, 0.1),
    ("FR", 6.0, 0.0),
    ("NL", 4.0, 0.1),
    ("SE", 3.0, 0.0),
    ("ES", 4.0, -0.1),
    ("IT", 4.0, -0.1),
    ("AU", 4.0, 0.1),
    ("SG", 2.0, 0.0),
    ("BR", 4.0, -0.3),
    ("MX", 3.0, -0.3),
    ("IN", 6.0, -0.2),
    ("JP", 2.0, -0.2),
    ("ZA", 2.0, -0.2),
];
const COUNTRY_MISSING: (f64, f64) = (0.05, 0.0);
/// Share of leads with a rare, made-up country code (each seen a handful of times at most,
/// so the model files them under "other").
const COUNTRY_RARE: f64 = 0.002;

const SOURCES: &[(&str, f64, f64)] = &[
    ("web", 25.0, 0.0),
    ("ads", 12.0, -0.3),
    ("referral", 10.0, 0.9),
    ("event", 8.0, 0.4),
    ("cold_call", 12.0, -0.6),
    ("partner", 8.0, 0.6),
    ("import", 10.0, -0.4),
    ("webinar", 10.0, 0.2),
];
const SOURCE_MISSING: (f64, f64) = (0.05, -0.1);

/// The effect of a title is its seniority's.
const TITLES: &[(&str, f64, f64)] = &[
    ("CEO", 3.0, 0.5),
    ("CTO", 3.0, 0.5),
    ("CFO", 2.0, 0.5),
    ("Founder", 3.0, 0.5),
    ("VP of Sales", 4.0, 0.4),
    ("VP of Marketing", 4.0, 0.4),
    ("Head of Operations", 5.0, 0.3),
    ("IT Director", 5.0, 0.3),
    ("Finance Director", 4.0, 0.3),
    ("Procurement Manager", 6.0, 0.0),
    ("Operations Manager", 7.0, 0.0),
    ("Marketing Manager", 7.0, 0.0),
    ("Product Manager", 6.0, 0.0),
    ("Office Manager", 5.0, 0.0),
    ("HR Manager", 4.0, 0.0),
    ("Sales Manager", 6.0, 0.0),
    ("Software Engineer", 8.0, -0.4),
    ("Purchasing Agent", 6.0, -0.4),
];
const TITLE_MISSING: (f64, f64) = (0.10, -0.3);

/// One generated lead. `None` is a missing value.
struct Lead {
    industry: Option<String>,
    country: Option<String>,
    source: Option<String>,
    title: Option<String>,
    employee_count: Option<f64>,
    annual_revenue: Option<f64>,
    counts: [u32; 4],
    /// The generating process's probability of converting (the ceiling any model can reach).
    probability: f64,
    converted: bool,
}

pub fn run(args: ModelArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let leads: Vec<Lead> = (0..args.leads).map(|_| generate(&mut rng)).collect();
    let samples: Vec<Sample> = leads.iter().map(sample).collect();
    let generate_seconds = started.elapsed().as_secs_f64();

    let options = TrainOptions {
        seed: args.seed,
        ..TrainOptions::default()
    };
    // The same split `train` makes, so the CSV's train rows are exactly the rows it fits on.
    let split = rivet_model::split(&samples, &options);
    if let Some(path) = &args.out {
        let mut is_test = vec![false; leads.len()];
        for &i in &split.test {
            is_test[i] = true;
        }
        fs::write(path, csv(&leads, &is_test))
            .with_context(|| format!("writing {}", path.display()))?;
    }

    let fields = FeatureFields {
        categorical: CATEGORICAL.map(String::from).to_vec(),
        numeric: NUMERIC.map(String::from).to_vec(),
        counts: COUNTS.map(String::from).to_vec(),
    };
    let started = Instant::now();
    let model = rivet_model::train(&fields, &samples, &options)?;
    let train_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let scores: Vec<f64> = split
        .test
        .iter()
        .map(|&i| {
            model
                .predict(&samples[i].fields, &samples[i].counts)
                .probability
        })
        .collect();
    let predict_seconds = started.elapsed().as_secs_f64();
    let labels: Vec<bool> = split.test.iter().map(|&i| leads[i].converted).collect();
    let roc_auc = rivet_model::roc_auc(&scores, &labels);
    let truth: Vec<f64> = split.test.iter().map(|&i| leads[i].probability).collect();
    let ceiling_auc = rivet_model::roc_auc(&truth, &labels);

    let m = &model.metrics;
    eprintln!(
        "{} leads (train {}, test {}), {:.1}% converted; generated in {generate_seconds:.2} s",
        m.sample_size,
        m.train_size,
        m.test_size,
        100.0 * m.positive_rate
    );
    eprintln!(
        "train: {train_seconds:.2} s ({} features); predict {} test leads: {predict_seconds:.2} s",
        model.weights.len(),
        scores.len()
    );
    eprintln!(
        "test ROC AUC: rivet {roc_auc:.4} (metrics: {:.4}); generating process {ceiling_auc:.4}",
        m.roc_auc
    );
    eprintln!("top features:");
    for f in &m.top_features {
        eprintln!("  {:+.3}  {}", f.weight, f.feature);
    }
    println!(
        "{}",
        json!({
            "seed": args.seed,
            "leads": m.sample_size,
            "train_size": m.train_size,
            "test_size": m.test_size,
            "positive_rate": m.positive_rate,
            "features": model.weights.len(),
            "train_seconds": train_seconds,
            "predict_seconds": predict_seconds,
            "roc_auc": roc_auc,
            "metrics_roc_auc": m.roc_auc,
            "generating_process_roc_auc": ceiling_auc,
            "csv": args.out.as_ref().map(|p| p.display().to_string()),
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// Draws one lead and its outcome from the generating process.
fn generate(rng: &mut StdRng) -> Lead {
    let mut logit = BASE_LOGIT;
    let mut pick = |rng: &mut StdRng, table: &[(&str, f64, f64)], missing: (f64, f64)| {
        if rng.gen_bool(missing.0) {
            logit += missing.1;
            return None;
        }
        let (value, effect) = weighted(rng, table);
        logit += effect;
        Some(value.to_owned())
    };
    let industry = pick(rng, INDUSTRIES, INDUSTRY_MISSING).map(|v| messy(rng, v));
    let country = if rng.gen_bool(COUNTRY_RARE) {
        // Rare codes have no effect of their own.
        Some(format!("X{}", rng.gen_range(0..400)))
    } else {
        pick(rng, COUNTRIES, COUNTRY_MISSING)
    };
    let source = pick(rng, SOURCES, SOURCE_MISSING);
    let title = pick(rng, TITLES, TITLE_MISSING);

    // Company size: log-normal around 40 employees; bigger converts more.
    let employees = (40f64.ln() + 1.4 * normal(rng)).exp().round().max(1.0);
    logit += 0.35 * (employees.ln_1p() - 3.7);
    let employee_count = (!rng.gen_bool(0.12)).then_some(employees);
    // Revenue follows size; small companies leave it blank more often.
    let revenue = (employees * (120_000f64.ln() + 0.6 * normal(rng)).exp()).round();
    let revenue_missing = rng.gen_bool(if employees < 20.0 { 0.6 } else { 0.3 });
    logit += if revenue_missing {
        -0.15
    } else {
        0.1 * (revenue.ln_1p() - 15.0)
    };
    let annual_revenue = (!revenue_missing).then_some(revenue);

    // Engagement grows with an unobserved interest, which also raises conversion directly.
    let interest = normal(rng);
    let rates = [0.25, 0.8, 1.2, 0.3];
    let spread = [0.6, 0.4, 0.5, 0.3];
    let effects = [1.1, 0.5, 0.35, 0.4];
    let mut counts = [0; 4];
    for i in 0..4 {
        counts[i] = poisson(rng, rates[i] * (spread[i] * interest).exp());
        logit += effects[i] * f64::from(counts[i]).ln_1p();
    }
    logit += 0.5 * interest;

    let probability = 1.0 / (1.0 + (-logit).exp());
    Lead {
        industry,
        country,
        source,
        title,
        employee_count,
        annual_revenue,
        counts,
        probability,
        converted: rng.gen_bool(probability),
    }
}

/// A value and its effect, drawn by share.
fn weighted<'a>(rng: &mut StdRng, table: &[(&'a str, f64, f64)]) -> (&'a str, f64) {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut draw = rng.gen_range(0.0..total);
    for &(value, share, effect) in table {
        if draw < share {
            return (value, effect);
        }
        draw -= share;
    }
    table.last().map_or(("", 0.0), |t| (t.0, t.2))
}

/// Spells one value in ten the way people type it: lower case, upper case or padded.
fn messy(rng: &mut StdRng, value: String) -> String {
    match rng.gen_range(0..30) {
        0 => value.to_lowercase(),
        1 => value.to_uppercase(),
        2 => format!(" {value} "),
        _ => value,
    }
}

/// Standard normal (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.r#gen::<f64>();
    let v: f64 = rng.r#gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Poisson by multiplying uniforms (Knuth); fine for the small rates used here.
fn poisson(rng: &mut StdRng, rate: f64) -> u32 {
    let limit = (-rate.min(50.0)).exp();
    let mut k = 0;
    let mut product: f64 = rng.r#gen();
    while product > limit {
        k += 1;
        product *= rng.r#gen::<f64>();
    }
    k
}

/// The lead as the CRM would hand it to the model: absent or null when missing.
fn sample(lead: &Lead) -> Sample {
    let mut fields = Map::new();
    let texts = [&lead.industry, &lead.country, &lead.source, &lead.title];
    for (name, value) in CATEGORICAL.iter().zip(texts) {
        if let Some(v) = value {
            fields.insert((*name).to_owned(), Value::String(v.clone()));
        }
    }
    for (name, value) in NUMERIC
        .iter()
        .zip([lead.employee_count, lead.annual_revenue])
    {
        // Some missing values arrive as null rather than absent.
        fields.insert((*name).to_owned(), value.map_or(Value::Null, |v| json!(v)));
    }
    let counts = COUNTS
        .iter()
        .zip(lead.counts)
        .map(|(name, n)| ((*name).to_owned(), f64::from(n)))
        .collect::<BTreeMap<_, _>>();
    Sample {
        fields,
        counts,
        converted: lead.converted,
    }
}

/// One row per lead: id, split, converted (1/0), the fields (blank when missing), the counts.
fn csv(leads: &[Lead], is_test: &[bool]) -> String {
    let mut out = String::with_capacity(leads.len() * 120);
    let header = ["id", "split", "converted"]
        .iter()
        .chain(&CATEGORICAL)
        .chain(&NUMERIC)
        .chain(&COUNTS)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    out.push_str(&header);
    out.push('\n');
    for (i, lead) in leads.iter().enumerate() {
        let split = if is_test[i] { "test" } else { "train" };
        let _ = write!(out, "{i},{split},{}", u8::from(lead.converted));
        for text in [&lead.industry, &lead.country, &lead.source, &lead.title] {
            out.push(',');
            out.push_str(&quoted(text.as_deref().unwrap_or("")));
        }
        for number in [lead.employee_count, lead.annual_revenue] {
            out.push(',');
            if let Some(n) = number {
                let _ = write!(out, "{n}");
            }
        }
        for n in lead.counts {
            let _ = write!(out, ",{n}");
        }
        out.push('\n');
    }
    out
}

/// A CSV field: quoted when it holds a comma, a quote or surrounding spaces.
fn quoted(text: &str) -> String {
    if text.contains([',', '"']) || text.trim() != text {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
