//! Ridge regression on engineered terms: the part of a latency model that extrapolates
//! beyond the training range (a state vector's work doubles per qubit; a forest's output
//! cannot grow past its largest leaf).

#[cfg(feature = "train")]
use smartcore::linalg::basic::arrays::Array;
#[cfg(feature = "train")]
use smartcore::linalg::basic::matrix::DenseMatrix;
#[cfg(feature = "train")]
use smartcore::linear::ridge_regression::{RidgeRegression, RidgeRegressionParameters};

#[cfg(feature = "train")]
use super::ModelError;
use crate::features::Feature;

/// Engineered terms, in order (docs/models.md explains each).
pub const TERM_NAMES: [&str; 20] = [
    "num_qubits",
    "ln_gates",
    "ln_multi_qubit_gates",
    "ln_depth",
    "log2_bond_bound",
    "min_bond_6",
    "min_bond_8",
    "ln_sv_work",
    "is_clifford",
    "ln_non_clifford",
    "ln_measurements",
    "mid_circuit_measurement",
    "ln_mps64_work",
    "ln_mps256_work",
    "ln_sparse_work",
    "ln_factored_work",
    "ln_stabilizer_work",
    "ln_tn_work",
    "mps64_saturation",
    "mps256_saturation",
];

/// Number of engineered terms.
pub const N_TERMS: usize = TERM_NAMES.len();

/// The terms that are the ln of an engine's work estimate (features schema v2): the
/// candidates a calibrated latency model lines ln(time) up against.
pub const WORK_TERMS: [usize; 7] = [7, 12, 13, 14, 15, 16, 17];

/// The engineered terms of a feature vector (values in schema order).
#[inline]
pub fn terms(x: &[f64]) -> [f64; N_TERMS] {
    use std::f64::consts::LN_2;
    let f = |k: Feature| x[k as usize];
    let n = f(Feature::NumQubits);
    let gates = f(Feature::GateCount);
    let bond = f(Feature::Log2BondBound);
    [
        n,
        gates.ln_1p(),
        (f(Feature::Gates2q) + f(Feature::Gates3qPlus)).ln_1p(),
        f(Feature::Depth).ln_1p(),
        bond,
        bond.min(6.0),
        bond.min(8.0),
        // ln(fused ops × 2^n): a dense state vector's work.
        f(Feature::Log2SvWork) * LN_2,
        f(Feature::IsClifford),
        f(Feature::NonCliffordCount).ln_1p(),
        f(Feature::MeasureCount).ln_1p(),
        f(Feature::HasMidCircuitMeasurement),
        f(Feature::Log2Mps64Work) * LN_2,
        f(Feature::Log2Mps256Work) * LN_2,
        f(Feature::Log2SparseWork) * LN_2,
        f(Feature::Log2FactoredWork) * LN_2,
        f(Feature::Log2StabilizerWork) * LN_2,
        // A contraction at width w over the circuit's gates: ln(2^w × gates).
        f(Feature::TnWidth) * LN_2 + gates.ln_1p(),
        f(Feature::Mps64Saturation),
        f(Feature::Mps256Saturation),
    ]
}

/// `intercept + Σ coef·term`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub(crate) intercept: f64,
    pub(crate) coef: Vec<f64>,
}

impl Linear {
    /// Ridge regression of `y` on `rows`, each column standardised first (a constant column
    /// gets coefficient 0), with penalty `alpha` on the standardised scale.
    #[cfg(feature = "train")]
    pub fn fit(rows: &[Vec<f64>], y: &[f64], alpha: f64) -> Result<Linear, ModelError> {
        let k = rows.first().map_or(0, Vec::len);
        let n = rows.len() as f64;
        let fit_err = |m: String| ModelError::Fit {
            what: "ridge regression".into(),
            message: m,
        };
        if rows.is_empty() {
            return Err(fit_err("no rows".into()));
        }
        let mut mean = vec![0.0; k];
        let mut sd = vec![0.0; k];
        for r in rows {
            for j in 0..k {
                mean[j] += r[j] / n;
            }
        }
        for r in rows {
            for j in 0..k {
                sd[j] += (r[j] - mean[j]).powi(2) / n;
            }
        }
        let keep: Vec<usize> = (0..k).filter(|&j| sd[j] > 1e-12).collect();
        let y_mean = y.iter().sum::<f64>() / n;
        if keep.is_empty() {
            return Ok(Linear {
                intercept: y_mean,
                coef: vec![0.0; k],
            });
        }
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| {
                keep.iter()
                    .map(|&j| (r[j] - mean[j]) / sd[j].sqrt())
                    .collect()
            })
            .collect();
        let x = DenseMatrix::from_2d_vec(&z).map_err(|e| fit_err(e.to_string()))?;
        let params = RidgeRegressionParameters::default()
            .with_alpha(alpha)
            .with_normalize(false);
        let m =
            RidgeRegression::fit(&x, &y.to_vec(), params).map_err(|e| fit_err(e.to_string()))?;
        // smartcore fits no intercept when it does not normalise; the columns of `z` are
        // centred, so the coefficients are right and the intercept is the mean of `y`.
        let mut coef = vec![0.0; k];
        let mut intercept = y_mean;
        for (c, &j) in keep.iter().enumerate() {
            let b = *m.coefficients().get((c, 0)) / sd[j].sqrt();
            coef[j] = b;
            intercept -= b * mean[j];
        }
        if !intercept.is_finite() || coef.iter().any(|c| !c.is_finite()) {
            return Err(fit_err("a coefficient is not finite".into()));
        }
        Ok(Linear { intercept, coef })
    }

    /// The prediction for one row of terms.
    #[inline]
    pub fn predict(&self, t: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(t).map(|(c, v)| c * v).sum::<f64>()
    }

    /// Coefficients, in term order.
    pub fn coefficients(&self) -> &[f64] {
        &self.coef
    }

    /// Intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_linear_law_and_ignores_constant_columns() {
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![i as f64, (i * i % 7) as f64, 3.0])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| 1.5 + 2.0 * r[0] - 0.5 * r[1]).collect();
        let m = Linear::fit(&rows, &y, 1e-9).unwrap();
        assert!((m.coef[0] - 2.0).abs() < 1e-6, "{m:?}");
        assert!((m.coef[1] + 0.5).abs() < 1e-6, "{m:?}");
        assert_eq!(m.coef[2], 0.0);
        assert!((m.predict(&[100.0, 1.0, 3.0]) - (1.5 + 200.0 - 0.5)).abs() < 1e-6);
    }
}
