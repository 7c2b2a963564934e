//! Inequality between the areas of one level under a parent, for one indicator and
//! period: best and worst area, their ratio and difference, the coefficient of
//! variation, and the Gini coefficient (weighted by the denominator where there is one).

use abe_schema::alerting::worse;
use abe_schema::Direction;
use abe_store::IndicatorValue;

/// Inequality figures over a set of areas.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Inequality {
    /// Areas compared.
    pub areas: usize,
    /// The best area's code and value.
    pub best: (String, f64),
    /// The worst area's code and value.
    pub worst: (String, f64),
    /// Worst / best (none when the best is 0).
    pub ratio: Option<f64>,
    /// Worst - best.
    pub difference: f64,
    /// Standard deviation / mean (none when the mean is 0).
    pub coefficient_of_variation: Option<f64>,
    /// Gini coefficient, 0 (equal) to 1, weighted by each area's denominator when every
    /// value has one (none when the weighted mean is 0).
    pub gini: Option<f64>,
    /// Whether the Gini coefficient is weighted by denominators.
    pub gini_weighted: bool,
}

/// The inequality of `values` (one indicator, period and breakdown; one value per area);
/// none for an empty set.
pub fn inequality(direction: Direction, values: &[IndicatorValue]) -> Option<Inequality> {
    let first = values.first()?;
    let (mut best, mut worst) = (first, first);
    for v in values {
        if worse(direction, v.value, worst.value) {
            worst = v;
        }
        if worse(direction, best.value, v.value) {
            best = v;
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|v| v.value).sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v.value - mean).powi(2)).sum::<f64>() / n).sqrt();
    let weighted = values
        .iter()
        .all(|v| v.denominator.is_some_and(|d| d > 0.0));
    let mut points: Vec<(f64, f64)> = values
        .iter()
        .map(|v| {
            let w = if weighted {
                v.denominator.unwrap_or(1.0)
            } else {
                1.0
            };
            (v.value, w)
        })
        .collect();
    Some(Inequality {
        areas: values.len(),
        best: (best.area_code.clone(), best.value),
        worst: (worst.area_code.clone(), worst.value),
        ratio: (best.value != 0.0).then(|| worst.value / best.value),
        difference: worst.value - best.value,
        coefficient_of_variation: (mean != 0.0).then(|| sd / mean),
        gini: gini(&mut points),
        gini_weighted: weighted,
    })
}

/// The weighted Gini coefficient of (value, weight) points: the weighted mean absolute
/// difference over twice the weighted mean, in O(n log n) over the sorted values.
fn gini(points: &mut [(f64, f64)]) -> Option<f64> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total_weight: f64 = points.iter().map(|p| p.1).sum();
    let weighted_sum: f64 = points.iter().map(|p| p.0 * p.1).sum();
    if total_weight <= 0.0 || weighted_sum == 0.0 {
        return None;
    }
    let mean = weighted_sum / total_weight;
    // Sum over pairs i > j of w_i w_j (x_i - x_j), with running sums below i.
    let (mut weight_below, mut value_below, mut pairs) = (0.0, 0.0, 0.0);
    for &(x, w) in points.iter() {
        pairs += w * (x * weight_below - value_below);
        weight_below += w;
        value_below += w * x;
    }
    // Every unordered pair counted once; the mean difference counts both orders.
    Some(2.0 * pairs / (2.0 * total_weight * total_weight * mean))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_of_known_distributions() {
        // Everyone equal: 0.
        assert_eq!(gini(&mut [(5.0, 1.0), (5.0, 1.0)]), Some(0.0));
        // One of four holds everything: (n - 1) / n = 0.75.
        let g = gini(&mut [(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (4.0, 1.0)]).unwrap();
        assert!((g - 0.75).abs() < 1e-12, "{g}");
        // Weights act as repeated points: (1 w2, 3 w1) = (1, 1, 3).
        let weighted = gini(&mut [(1.0, 2.0), (3.0, 1.0)]).unwrap();
        let repeated = gini(&mut [(1.0, 1.0), (1.0, 1.0), (3.0, 1.0)]).unwrap();
        assert!((weighted - repeated).abs() < 1e-12);
        // 1, 2, 3: mean abs difference over all ordered pairs = 8/9; / (2 * 2) = 2/9.
        let g = gini(&mut [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]).unwrap();
        assert!((g - 2.0 / 9.0).abs() < 1e-12, "{g}");
    }
}
