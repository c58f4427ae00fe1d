//! `rivet-model`: a per-company lead conversion model.
//!
//! Pure: labelled leads in, a [`Model`] out, no database and no I/O. The CRM decides which
//! lead fields and engagement counts feed the model ([`FeatureFields`]), collects labelled
//! [`Sample`]s, calls [`train`], stores the [`Model`] as JSON and later scores leads with
//! [`Model::predict`].
//!
//! The model is an L2-regularized logistic regression (linfa-logistic, L-BFGS) with the same
//! objective as scikit-learn's `LogisticRegression(C=1.0)`: summed log-loss plus
//! `‖w‖² / 2C`, intercept not penalized. The samples are split into train and test sets
//! (stratified by label, from a seed); the encoding and the weights are learned from the
//! train split only and the metrics come from the test split.

mod encoding;
mod metrics;

use std::collections::BTreeMap;

use linfa::Dataset;
use linfa::traits::Fit;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use encoding::{CategoricalColumn, Category, Encoding, ScaledColumn};
pub use metrics::{CalibrationBin, FeatureWeight, Metrics, roc_auc};

/// How many of the heaviest weights `Metrics::top_features` keeps.
const TOP_FEATURES: usize = 10;
/// How many contributions a `Prediction` explains itself with.
const TOP_CONTRIBUTIONS: usize = 5;

/// Which lead fields feed the model; the caller (the CRM) names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureFields {
    /// Text fields with a small set of values (industry, country, source).
    pub categorical: Vec<String>,
    /// Non-negative amounts with a long tail (employee count, annual revenue).
    pub numeric: Vec<String>,
    /// Names of engagement signal counts (meetings held, calls connected).
    pub counts: Vec<String>,
}

/// One labelled lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Field values as JSON: strings, numbers, null or absent.
    pub fields: Map<String, Value>,
    /// Engagement signal counts by name; an absent count is zero.
    pub counts: BTreeMap<String, f64>,
    pub converted: bool,
}

/// How to train; `TrainOptions::default()` is what the CRM uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    /// Seeds the train/test split.
    pub seed: u64,
    /// Share of the samples held out to measure the model, in (0, 1).
    pub test_fraction: f64,
    /// Fewest labelled samples worth training on.
    pub min_labelled: usize,
    /// Fewest converted, and fewest not converted, samples worth training on (at least 2,
    /// so both splits see both classes).
    pub min_each_class: usize,
    /// A category needs this many training samples for a column of its own; rarer ones
    /// share the "other" column.
    pub min_category_count: usize,
    /// At most this many category columns per field (the most frequent ones).
    pub max_categories: usize,
    /// Inverse L2 regularization strength, as scikit-learn's `C`.
    pub c: f64,
    /// L-BFGS iterations at most.
    pub max_iterations: u64,
    /// L-BFGS stops when the gradient norm of the mean log-loss is below this.
    pub gradient_tolerance: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            test_fraction: 0.2,
            min_labelled: 200,
            min_each_class: 20,
            min_category_count: 5,
            max_categories: 30,
            c: 1.0,
            max_iterations: 500,
            gradient_tolerance: 1e-5,
        }
    }
}

/// Why `train` made no model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// Too few labelled samples overall, or too few in one class.
    #[error(
        "not enough labelled leads to train: {labelled} ({positives} converted, {negatives} not); \
         need {needed}, at least {needed_each_class} of each"
    )]
    NotEnoughData {
        labelled: usize,
        needed: usize,
        positives: usize,
        negatives: usize,
        needed_each_class: usize,
    },
    #[error("invalid training options: {0}")]
    InvalidOptions(String),
    #[error("fitting the model failed: {0}")]
    Fit(String),
}

/// A trained model; serializable, so it can be stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub encoding: Encoding,
    /// One weight per encoded column (see `Encoding::labels`), in log-odds.
    pub weights: Vec<f64>,
    pub intercept: f64,
    pub metrics: Metrics,
}

/// A lead's conversion probability and what moved it most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub probability: f64,
    /// The largest non-zero effects, largest magnitude first.
    pub contributions: Vec<Contribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// A column label, as in `Encoding::labels`.
    pub feature: String,
    /// Weight times encoded value, in log-odds: positive raises the probability.
    pub effect: f64,
}

/// Trains a model on `samples`, holding out `options.test_fraction` of them to measure it.
pub fn train(
    fields: &FeatureFields,
    samples: &[Sample],
    options: &TrainOptions,
) -> Result<Model, ModelError> {
    options.validate()?;
    let positives = samples.iter().filter(|s| s.converted).count();
    let negatives = samples.len() - positives;
    let needed_each_class = options.min_each_class.max(2);
    if samples.len() < options.min_labelled
        || positives < needed_each_class
        || negatives < needed_each_class
    {
        return Err(ModelError::NotEnoughData {
            labelled: samples.len(),
            needed: options.min_labelled,
            positives,
            negatives,
            needed_each_class,
        });
    }

    let Split {
        train: train_rows,
        test: test_rows,
    } = split(samples, options);
    let training = train_rows.iter().map(|&i| &samples[i]);
    let encoding = Encoding::learn(fields, training.clone(), options);
    if encoding.width() == 0 {
        return Err(ModelError::InvalidOptions("no feature fields named".into()));
    }
    let (weights, intercept) = fit(&encoding, training, options)?;
    let mut model = Model {
        weights,
        intercept,
        metrics: Metrics {
            sample_size: samples.len(),
            train_size: train_rows.len(),
            test_size: test_rows.len(),
            positive_rate: positives as f64 / samples.len() as f64,
            roc_auc: 0.5,
            calibration: Vec::new(),
            top_features: Vec::new(),
        },
        encoding,
    };

    let scores: Vec<f64> = test_rows
        .iter()
        .map(|&i| model.probability(&samples[i].fields, &samples[i].counts))
        .collect();
    let labels: Vec<bool> = test_rows.iter().map(|&i| samples[i].converted).collect();
    model.metrics.roc_auc = roc_auc(&scores, &labels);
    model.metrics.calibration = metrics::calibration(&scores, &labels);
    model.metrics.top_features =
        metrics::top_features(&model.encoding.labels(), &model.weights, TOP_FEATURES);
    Ok(model)
}

impl Model {
    /// The conversion probability of a lead and the features that moved it most. Unknown
    /// categories count as "other"; missing or unreadable values as missing.
    pub fn predict(
        &self,
        fields: &Map<String, Value>,
        counts: &BTreeMap<String, f64>,
    ) -> Prediction {
        let row = self.encoding.encode(fields, counts);
        let effects = self
            .encoding
            .labels()
            .into_iter()
            .zip(self.weights.iter().zip(&row))
            .map(|(feature, (w, x))| Contribution {
                feature,
                effect: w * x,
            });
        Prediction {
            probability: self.logit_probability(&row),
            contributions: metrics::largest(
                effects,
                |c| c.effect,
                |c| &c.feature,
                TOP_CONTRIBUTIONS,
            ),
        }
    }

    /// Only the probability of `predict`, for scoring many leads.
    pub fn probability(&self, fields: &Map<String, Value>, counts: &BTreeMap<String, f64>) -> f64 {
        self.logit_probability(&self.encoding.encode(fields, counts))
    }

    fn logit_probability(&self, row: &[f64]) -> f64 {
        let z = self.intercept
            + self
                .weights
                .iter()
                .zip(row)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        sigmoid(z)
    }
}

impl TrainOptions {
    fn validate(&self) -> Result<(), ModelError> {
        let invalid = |m: &str| Err(ModelError::InvalidOptions(m.into()));
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return invalid("test_fraction must be between 0 and 1");
        }
        if !(self.c.is_finite() && self.c > 0.0) {
            return invalid("c must be a positive number");
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return invalid("gradient_tolerance must be a positive number");
        }
        if self.max_iterations == 0 {
            return invalid("max_iterations must be at least 1");
        }
        Ok(())
    }
}

/// Which samples `train` fits on and which it holds out to measure the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Indices into the samples, ascending.
    pub train: Vec<usize>,
    /// Indices into the samples, ascending.
    pub test: Vec<usize>,
}

/// The train/test split `train` makes of `samples` with these options: each class is
/// shuffled with the seed and cut at `test_fraction`, so both splits keep the conversion
/// rate and, given two or more samples of each class, both see both classes.
pub fn split(samples: &[Sample], options: &TrainOptions) -> Split {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut train = Vec::with_capacity(samples.len());
    let mut test = Vec::new();
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].converted == class)
            .collect();
        rows.shuffle(&mut rng);
        let wanted = (rows.len() as f64 * options.test_fraction).round() as usize;
        let held_out = if rows.len() >= 2 {
            wanted.clamp(1, rows.len() - 1)
        } else {
            0
        };
        test.extend_from_slice(&rows[..held_out]);
        train.extend_from_slice(&rows[held_out..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// Fits the weights and intercept on the encoded training samples.
fn fit<'a>(
    encoding: &Encoding,
    training: impl ExactSizeIterator<Item = &'a Sample>,
    options: &TrainOptions,
) -> Result<(Vec<f64>, f64), ModelError> {
    let rows = training.len();
    let width = encoding.width();
    let mut values = Vec::with_capacity(rows * width);
    let mut labels = Vec::with_capacity(rows);
    for sample in training {
        encoding.encode_into(&sample.fields, &sample.counts, &mut values);
        labels.push(sample.converted);
    }
    let by_row = Array2::from_shape_vec((rows, width), values)
        .map_err(|e| ModelError::Fit(e.to_string()))?;
    // Column-major, so that the gradient's `xᵀ·r` walks contiguous memory; row-major it
    // strides across every row and was most of the training time.
    let mut x = Array2::zeros((rows, width).f());
    x.assign(&by_row);
    drop(by_row);
    let dataset = Dataset::new(x, Array1::from(labels));
    // linfa minimizes the summed log-loss plus alpha/2 ‖w‖², which is scikit-learn's
    // objective times C, so alpha = 1/C; its gradient is summed too, hence the tolerance
    // scaled by the number of rows.
    let fitted = LogisticRegression::default()
        .alpha(1.0 / options.c)
        .max_iterations(options.max_iterations)
        .gradient_tolerance(options.gradient_tolerance * rows as f64)
        .fit(&dataset)
        .map_err(|e| ModelError::Fit(e.to_string()))?;
    // linfa calls the more frequent class "positive"; turn the weights to favour converting.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    // `+ 0.0` turns the -0.0 of never-set columns into 0.
    let weights: Vec<f64> = fitted.params().iter().map(|w| sign * w + 0.0).collect();
    let intercept = sign * fitted.intercept();
    if !(intercept.is_finite() && weights.iter().all(|w| w.is_finite())) {
        return Err(ModelError::Fit(
            "the weights did not converge to finite values".into(),
        ));
    }
    Ok((weights, intercept))
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests;
