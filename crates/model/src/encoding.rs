//! How a lead's field values and signal counts become the model's feature vector.
//!
//! The encoding is learned from the training split only and stored inside the model, so a
//! lead scored months later is encoded exactly as the training rows were. Nothing here
//! fits weights or computes metrics; see `lib.rs` and `metrics.rs` for those.
//!
//! Column layout, in this order:
//! - each categorical field: one column per kept category, then "other", then "missing";
//! - each numeric field: `ln(1 + max(x, 0))` standardized, then "missing";
//! - each count: `ln(1 + max(x, 0))` standardized.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{FeatureFields, Sample, TrainOptions};

/// The learned feature encoding: which categories get their own column and how numeric
/// values are centred and scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    pub categorical: Vec<CategoricalColumn>,
    pub numeric: Vec<ScaledColumn>,
    pub counts: Vec<ScaledColumn>,
}

/// A categorical field and the categories seen often enough in training to get a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub field: String,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Trimmed and lower-cased; what values are matched on.
    pub key: String,
    /// The most common spelling in training, for labels shown to people.
    pub label: String,
}

/// A numeric field or a count: the mean and standard deviation of `ln(1 + max(x, 0))` over
/// the training rows where it was present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaledColumn {
    pub name: String,
    pub mean: f64,
    pub std: f64,
}

impl Encoding {
    /// Learns the encoding from the training samples.
    pub(crate) fn learn<'a>(
        fields: &FeatureFields,
        samples: impl Iterator<Item = &'a Sample> + Clone,
        options: &TrainOptions,
    ) -> Self {
        let categorical = fields
            .categorical
            .iter()
            .map(|field| CategoricalColumn {
                field: field.clone(),
                categories: frequent_categories(
                    samples.clone().map(|s| &s.fields),
                    field,
                    options.min_category_count,
                    options.max_categories,
                ),
            })
            .collect();
        let numeric = fields
            .numeric
            .iter()
            .map(|field| {
                let values = samples
                    .clone()
                    .filter_map(|s| numeric_value(s.fields.get(field)));
                ScaledColumn::fit(field, values.map(log1p))
            })
            .collect();
        let counts = fields
            .counts
            .iter()
            .map(|name| {
                let values = samples.clone().map(|s| count_value(&s.counts, name));
                ScaledColumn::fit(name, values.map(log1p))
            })
            .collect();
        Self {
            categorical,
            numeric,
            counts,
        }
    }

    /// Number of feature columns.
    pub fn width(&self) -> usize {
        self.categorical
            .iter()
            .map(|c| c.categories.len() + 2)
            .sum::<usize>()
            + 2 * self.numeric.len()
            + self.counts.len()
    }

    /// A label per column, in column order ("industry = Software", "employee_count (log)",
    /// "industry missing", "meetings_held", ...).
    pub fn labels(&self) -> Vec<String> {
        let mut labels = Vec::with_capacity(self.width());
        for column in &self.categorical {
            for category in &column.categories {
                labels.push(format!("{} = {}", column.field, category.label));
            }
            labels.push(format!("{} = other", column.field));
            labels.push(format!("{} missing", column.field));
        }
        for column in &self.numeric {
            labels.push(format!("{} (log)", column.name));
            labels.push(format!("{} missing", column.name));
        }
        for column in &self.counts {
            labels.push(column.name.clone());
        }
        labels
    }

    /// Encodes one lead into a vector of `width()` values.
    pub fn encode(&self, fields: &Map<String, Value>, counts: &BTreeMap<String, f64>) -> Vec<f64> {
        let mut row = Vec::with_capacity(self.width());
        self.encode_into(fields, counts, &mut row);
        row
    }

    /// Appends the `width()` values of one lead to `out`.
    pub(crate) fn encode_into(
        &self,
        fields: &Map<String, Value>,
        counts: &BTreeMap<String, f64>,
        out: &mut Vec<f64>,
    ) {
        for column in &self.categorical {
            let start = out.len();
            out.resize(start + column.categories.len() + 2, 0.0);
            let slot = match category_key(fields.get(&column.field)) {
                None => column.categories.len() + 1,
                Some(key) => column
                    .categories
                    .iter()
                    .position(|c| c.key == key)
                    .unwrap_or(column.categories.len()),
            };
            out[start + slot] = 1.0;
        }
        for column in &self.numeric {
            match numeric_value(fields.get(&column.name)) {
                Some(x) => out.extend([column.standardize(log1p(x)), 0.0]),
                None => out.extend([0.0, 1.0]),
            }
        }
        for column in &self.counts {
            out.push(column.standardize(log1p(count_value(counts, &column.name))));
        }
    }
}

impl ScaledColumn {
    fn fit(name: &str, values: impl Iterator<Item = f64> + Clone) -> Self {
        let (n, sum) = values
            .clone()
            .fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
        let mean = if n == 0 { 0.0 } else { sum / n as f64 };
        let variance = if n == 0 {
            0.0
        } else {
            values.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64
        };
        let std = variance.sqrt();
        // A constant column carries no information; scale 1 keeps it finite (as scikit-learn).
        let std = if std.is_finite() && std > 1e-12 {
            std
        } else {
            1.0
        };
        Self {
            name: name.to_owned(),
            mean,
            std,
        }
    }

    fn standardize(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        if z.is_finite() { z } else { 0.0 }
    }
}

fn log1p(x: f64) -> f64 {
    x.max(0.0).ln_1p()
}

/// The trimmed value as written, or `None` when the field is missing, null, blank or not a
/// scalar.
fn category_text(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn category_key(value: Option<&Value>) -> Option<String> {
    category_text(value).map(|t| t.to_lowercase())
}

/// A finite number, from a JSON number or a string holding one; anything else is missing.
fn numeric_value(value: Option<&Value>) -> Option<f64> {
    let x = match value? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x)
}

/// An absent or non-finite count is zero.
fn count_value(counts: &BTreeMap<String, f64>, name: &str) -> f64 {
    counts
        .get(name)
        .copied()
        .filter(|x| x.is_finite())
        .unwrap_or(0.0)
}

/// Categories seen at least `min_count` times, most frequent first (ties by key), at most
/// `max` of them, each labelled with its most common spelling.
fn frequent_categories<'a>(
    rows: impl Iterator<Item = &'a Map<String, Value>>,
    field: &str,
    min_count: usize,
    max: usize,
) -> Vec<Category> {
    let mut seen: HashMap<String, (usize, HashMap<String, usize>)> = HashMap::new();
    for row in rows {
        let Some(text) = category_text(row.get(field)) else {
            continue;
        };
        let entry = seen.entry(text.to_lowercase()).or_default();
        entry.0 += 1;
        *entry.1.entry(text).or_default() += 1;
    }
    let mut kept: Vec<(String, usize, String)> = seen
        .into_iter()
        .filter(|(_, (count, _))| *count >= min_count.max(1))
        .map(|(key, (count, spellings))| {
            let label = spellings
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map_or_else(|| key.clone(), |(spelling, _)| spelling);
            (key, count, label)
        })
        .collect();
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    kept.truncate(max);
    kept.into_iter()
        .map(|(key, _, label)| Category { key, label })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn sample(fields: Value) -> Sample {
        Sample {
            fields: fields.as_object().cloned().unwrap_or_default(),
            counts: BTreeMap::new(),
            converted: false,
        }
    }

    #[test]
    fn categories_are_matched_trimmed_and_case_insensitively_and_rare_ones_are_other() {
        let mut samples = vec![sample(json!({"industry": "Software"})); 3];
        samples.push(sample(json!({"industry": " software "})));
        samples.push(sample(json!({"industry": "Retail"})));
        samples.push(sample(json!({"industry": ""})));
        let fields = FeatureFields {
            categorical: vec!["industry".into()],
            ..FeatureFields::default()
        };
        let options = TrainOptions {
            min_category_count: 2,
            ..TrainOptions::default()
        };
        let encoding = Encoding::learn(&fields, samples.iter(), &options);
        assert_eq!(
            encoding.labels(),
            [
                "industry = Software",
                "industry = other",
                "industry missing"
            ]
        );
        let encode = |v: Value| encoding.encode(v.as_object().unwrap(), &BTreeMap::new());
        assert_eq!(encode(json!({"industry": "SOFTWARE"})), [1.0, 0.0, 0.0]);
        assert_eq!(encode(json!({"industry": "Retail"})), [0.0, 1.0, 0.0]);
        assert_eq!(encode(json!({"industry": null})), [0.0, 0.0, 1.0]);
        assert_eq!(encode(json!({})), [0.0, 0.0, 1.0]);
    }

    #[test]
    fn numeric_values_are_logged_standardized_and_missing_is_flagged() {
        let samples = [
            sample(json!({"employees": 0})),
            sample(json!({"employees": "e^2-1"})),
            sample(json!({"employees": (2f64.exp() - 1.0)})),
        ];
        let fields = FeatureFields {
            numeric: vec!["employees".into()],
            ..FeatureFields::default()
        };
        let encoding = Encoding::learn(&fields, samples.iter(), &TrainOptions::default());
        // Present values are ln(1) = 0 and ln(e^2) = 2: mean 1, standard deviation 1.
        let column = &encoding.numeric[0];
        assert!((column.mean - 1.0).abs() < 1e-9 && (column.std - 1.0).abs() < 1e-9);
        let encode = |v: Value| encoding.encode(v.as_object().unwrap(), &BTreeMap::new());
        assert_eq!(encode(json!({"employees": -5})), [-1.0, 0.0]);
        assert_eq!(encode(json!({"employees": "junk"})), [0.0, 1.0]);
        assert_eq!(encode(json!({})), [0.0, 1.0]);
        assert!((encode(json!({"employees": " 0 "}))[0] + 1.0).abs() < 1e-12);
    }
}
