//! How good a trained model is, measured on the held-out split: ROC AUC, a calibration table
//! and the features that weigh most. Stored with the model so the CRM can show why to trust
//! it (or not) without re-scoring anything.

use serde::{Deserialize, Serialize};

/// Figures from one training run; AUC and calibration are on the held-out test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Labelled samples given to `train`.
    pub sample_size: usize,
    pub train_size: usize,
    pub test_size: usize,
    /// Share of all labelled samples that converted.
    pub positive_rate: f64,
    /// ROC AUC of the predictions on the test split (0.5 = no better than chance).
    pub roc_auc: f64,
    /// The test split cut into ten equal-sized groups by predicted probability, lowest first.
    pub calibration: Vec<CalibrationBin>,
    /// The weights with the largest magnitude, largest first.
    pub top_features: Vec<FeatureWeight>,
}

/// One group of test samples with similar predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Mean predicted probability in the group.
    pub predicted: f64,
    /// Share of the group that converted.
    pub observed: f64,
    pub count: usize,
}

/// A feature column and its weight in log-odds per unit of the encoded value (one standard
/// deviation for numeric values and counts; present versus absent for categories and
/// missing indicators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeight {
    pub feature: String,
    pub weight: f64,
}

/// Area under the ROC curve: the probability that a random positive scores higher than a
/// random negative, ties counting one half (the Mann-Whitney U statistic). Exact, in
/// O(n log n). It is 0.5 when either class is absent, where it is undefined.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return 0.5;
    }
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < pairs.len() {
        let mut end = start + 1;
        while end < pairs.len() && pairs[end].0.total_cmp(&pairs[start].0).is_eq() {
            end += 1;
        }
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = pairs[start..end].iter().filter(|p| p.1).count();
        rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// Ten groups of (nearly) equal size by predicted probability, lowest first; fewer when
/// there are fewer than ten samples.
pub(crate) fn calibration(scores: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    const BINS: usize = 10;
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pairs.len();
    (0..BINS)
        .map(|i| &pairs[i * n / BINS..(i + 1) * n / BINS])
        .filter(|bin| !bin.is_empty())
        .map(|bin| {
            let count = bin.len();
            CalibrationBin {
                predicted: bin.iter().map(|p| p.0).sum::<f64>() / count as f64,
                observed: bin.iter().filter(|p| p.1).count() as f64 / count as f64,
                count,
            }
        })
        .collect()
}

/// The `n` non-zero weights of largest magnitude, largest first (ties by label).
pub(crate) fn top_features(labels: &[String], weights: &[f64], n: usize) -> Vec<FeatureWeight> {
    largest(
        labels.iter().zip(weights).map(|(l, &w)| FeatureWeight {
            feature: l.clone(),
            weight: w,
        }),
        |f| f.weight,
        |f| &f.feature,
        n,
    )
}

/// The `n` items of largest non-zero `|value|`, largest first, ties by `key`.
pub(crate) fn largest<T>(
    items: impl Iterator<Item = T>,
    value: impl Fn(&T) -> f64,
    key: impl Fn(&T) -> &str,
    n: usize,
) -> Vec<T> {
    let mut items: Vec<T> = items.filter(|t| value(t) != 0.0).collect();
    items.sort_by(|a, b| {
        value(b)
            .abs()
            .total_cmp(&value(a).abs())
            .then_with(|| key(a).cmp(key(b)))
    });
    items.truncate(n);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_a_perfect_ranking_is_one() {
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            1.0
        );
    }

    #[test]
    fn auc_of_an_inverse_ranking_is_zero() {
        assert_eq!(
            roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            0.0
        );
    }

    #[test]
    fn auc_of_all_tied_scores_is_one_half() {
        assert_eq!(
            roc_auc(&[0.5; 6], &[true, false, true, false, false, true]),
            0.5
        );
    }

    #[test]
    fn auc_counts_a_tie_between_classes_as_one_half() {
        // Pairs (positive, negative): (0.4, 0.1) win, (0.4, 0.4) tie, (0.9, 0.1) win,
        // (0.9, 0.4) win: 3.5 of 4.
        let auc = roc_auc(&[0.1, 0.4, 0.4, 0.9], &[false, false, true, true]);
        assert!((auc - 0.875).abs() < 1e-12);
    }

    #[test]
    fn auc_without_both_classes_is_one_half() {
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]), 0.5);
        assert_eq!(roc_auc(&[], &[]), 0.5);
    }

    #[test]
    fn calibration_cuts_the_scores_into_ten_groups_lowest_first() {
        let scores: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i % 10 < i / 10).collect();
        let bins = calibration(&scores, &labels);
        assert_eq!(bins.len(), 10);
        assert!(bins.iter().all(|b| b.count == 10));
        assert!((bins[0].predicted - 0.045).abs() < 1e-9);
        assert_eq!(bins[0].observed, 0.0);
        assert!((bins[9].observed - 0.9).abs() < 1e-9);
    }
}
