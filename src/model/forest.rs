//! Random forests: fitted with smartcore, then flattened into one contiguous node array for
//! prediction that allocates nothing.

use serde::Deserialize;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::ModelError;

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// One node, 16 bytes. Trees are laid out in depth-first preorder, so a split's left child
/// is the next node and only the right child's index is stored. A leaf holds its output in
/// `value`; a split sends `x[feature] <= value` left and everything else (NaN included)
/// right, exactly as smartcore does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: f64,
    pub(crate) feature: u32,
    pub(crate) right: u32,
}

/// A forest: every tree's nodes in one array, trees one after another, each in preorder.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub(crate) nodes: Vec<Node>,
    pub(crate) roots: Vec<u32>,
    pub(crate) n_features: u32,
}

/// How a forest is grown.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForestParams {
    /// Trees.
    pub n_trees: usize,
    /// Deepest split.
    pub max_depth: u16,
    /// Fewest samples in a leaf.
    pub min_samples_leaf: usize,
    /// Features tried per split.
    pub features_per_split: usize,
    /// Seed of the bootstrap samples and feature draws.
    pub seed: u64,
}

// Mirrors of smartcore's serialised forest (its node type is private).
#[derive(Deserialize)]
struct SForest {
    forest_regressor: Option<SBase>,
}
#[derive(Deserialize)]
struct SBase {
    trees: Option<Vec<STree>>,
}
#[derive(Deserialize)]
struct STree {
    nodes: Vec<SNode>,
}
#[derive(Deserialize)]
struct SNode {
    output: f64,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
}

/// Fits smartcore's random forest on `rows` (each `n_features` long) and targets `y`.
pub(crate) fn fit_smartcore(
    rows: &[Vec<f64>],
    y: &[f64],
    p: &ForestParams,
) -> Result<RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>, ModelError> {
    let x = DenseMatrix::from_2d_vec(&rows.to_vec()).map_err(|e| ModelError::Fit {
        what: "forest".into(),
        message: e.to_string(),
    })?;
    let n_features = rows.first().map_or(0, Vec::len);
    let params = RandomForestRegressorParameters::default()
        .with_n_trees(p.n_trees.max(1))
        .with_max_depth(p.max_depth)
        .with_min_samples_leaf(p.min_samples_leaf.max(1))
        .with_min_samples_split(2 * p.min_samples_leaf.max(1))
        .with_m(p.features_per_split.clamp(1, n_features.max(1)))
        .with_seed(p.seed);
    RandomForestRegressor::fit(&x, &y.to_vec(), params).map_err(|e| ModelError::Fit {
        what: "forest".into(),
        message: e.to_string(),
    })
}

impl Forest {
    /// Fits a forest with smartcore and flattens it.
    pub fn fit(rows: &[Vec<f64>], y: &[f64], p: &ForestParams) -> Result<Forest, ModelError> {
        let rf = fit_smartcore(rows, y, p)?;
        Forest::flatten(&rf, rows.first().map_or(0, Vec::len))
    }

    /// Flattens a fitted smartcore forest (through its serde form, kept as numbers: no
    /// value goes through text).
    pub(crate) fn flatten(
        rf: &RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>,
        n_features: usize,
    ) -> Result<Forest, ModelError> {
        let bad = |m: &str| ModelError::Fit {
            what: "forest".into(),
            message: format!("cannot flatten smartcore's forest: {m}"),
        };
        let value = serde_json::to_value(rf).map_err(|e| bad(&e.to_string()))?;
        let s: SForest = serde_json::from_value(value).map_err(|e| bad(&e.to_string()))?;
        let trees = s
            .forest_regressor
            .and_then(|b| b.trees)
            .ok_or_else(|| bad("no trees"))?;
        let mut f = Forest {
            nodes: Vec::new(),
            roots: Vec::with_capacity(trees.len()),
            n_features: n_features as u32,
        };
        for t in trees {
            let start = f.nodes.len();
            f.roots.push(start as u32);
            // Depth-first preorder: push the right child first so the left one comes next.
            let mut stack = vec![(0usize, None::<usize>)];
            while let Some((i, parent)) = stack.pop() {
                let n = t
                    .nodes
                    .get(i)
                    .ok_or_else(|| bad("a child index out of range"))?;
                if let Some(p) = parent {
                    // This node is `p`'s right child.
                    f.nodes[p].right = f.nodes.len() as u32;
                }
                let at = f.nodes.len();
                match (n.true_child, n.false_child) {
                    (Some(l), Some(r)) => {
                        if n.split_feature >= n_features {
                            return Err(bad("a split on a feature out of range"));
                        }
                        f.nodes.push(Node {
                            value: n.split_value.unwrap_or(f64::NAN),
                            feature: n.split_feature as u32,
                            right: 0,
                        });
                        stack.push((r, Some(at)));
                        stack.push((l, None));
                    }
                    (None, None) => f.nodes.push(Node {
                        value: n.output,
                        feature: LEAF,
                        right: 0,
                    }),
                    _ => return Err(bad("a node with one child")),
                }
                if f.nodes.len() - start > t.nodes.len() {
                    return Err(bad("a tree that is not a tree"));
                }
            }
        }
        f.check().map_err(|m| bad(&m))?;
        Ok(f)
    }

    /// Checks that every child index lies in its array and points forward (so every walk
    /// ends), and that split features exist: a loaded payload is checked before use.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.roots.is_empty() {
            return Err("a forest without trees".into());
        }
        let n = self.nodes.len() as u32;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.feature == LEAF {
                continue;
            }
            if node.feature >= self.n_features {
                return Err(format!("node {i} splits on feature {}", node.feature));
            }
            let i = i as u32;
            // Left is i + 1; both children lie after the node, so every walk ends.
            if i + 1 >= n || node.right >= n || node.right <= i + 1 {
                return Err(format!("node {i} has children out of order"));
            }
        }
        if self.roots.iter().any(|&r| r >= n) {
            return Err("a root out of range".into());
        }
        Ok(())
    }

    /// Trees in the forest.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Nodes in the forest.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features as usize
    }

    /// The leaves four trees reach for one row, walked together so that their memory loads
    /// overlap.
    #[inline]
    fn four(&self, roots: &[u32], x: &[f64]) -> [f64; 4] {
        let mut at = [0usize; 4];
        for (a, &r) in at.iter_mut().zip(roots) {
            *a = r as usize;
        }
        let lanes = roots.len();
        loop {
            let mut moved = false;
            for a in at.iter_mut().take(lanes) {
                let n = &self.nodes[*a];
                if n.feature != LEAF {
                    moved = true;
                    *a = if x[n.feature as usize] <= n.value {
                        *a + 1
                    } else {
                        n.right as usize
                    };
                }
            }
            if !moved {
                break;
            }
        }
        let mut v = [0.0; 4];
        for (v, &a) in v.iter_mut().zip(&at).take(lanes) {
            *v = self.nodes[a].value;
        }
        v
    }

    /// Multiplies every leaf by `k`: the forest then predicts `k` times what it did (a
    /// learning rate applied after fitting).
    pub fn scale(&mut self, k: f64) {
        for n in &mut self.nodes {
            if n.feature == LEAF {
                n.value *= k;
            }
        }
    }

    /// The mean of the trees' outputs, summed in tree order as smartcore does.
    ///
    /// # Panics
    /// When `x` has fewer than [`Forest::n_features`] values.
    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        assert!(x.len() >= self.n_features as usize, "feature row too short");
        let mut sum = 0.0;
        for roots in self.roots.chunks(4) {
            for v in &self.four(roots, x)[..roots.len()] {
                sum += v;
            }
        }
        sum / self.roots.len() as f64
    }

    /// [`Forest::predict`] for many rows into `out` (one value per row), walking each tree
    /// for four rows at a time so that their memory loads overlap. Equal to `predict` row by
    /// row, bit for bit (same sums in the same order).
    ///
    /// # Panics
    /// When `out` is shorter than `rows` or a row is too short.
    pub fn predict_batch(&self, rows: &[&[f64]], out: &mut [f64]) {
        const LANES: usize = 4;
        assert!(out.len() >= rows.len(), "output shorter than the rows");
        let nf = self.n_features as usize;
        assert!(rows.iter().all(|r| r.len() >= nf), "feature row too short");
        let n_trees = self.roots.len() as f64;
        for (chunk, out) in rows.chunks(LANES).zip(out.chunks_mut(LANES)) {
            // Short chunks repeat their last row; the extra lanes are not written out.
            let x: [&[f64]; LANES] = std::array::from_fn(|k| chunk[k.min(chunk.len() - 1)]);
            let mut sums = [0.0; LANES];
            for &root in &self.roots {
                let mut at = [root as usize; LANES];
                loop {
                    let mut moved = false;
                    for k in 0..LANES {
                        let n = &self.nodes[at[k]];
                        if n.feature != LEAF {
                            moved = true;
                            at[k] = if x[k][n.feature as usize] <= n.value {
                                at[k] + 1
                            } else {
                                n.right as usize
                            };
                        }
                    }
                    if !moved {
                        break;
                    }
                }
                for k in 0..LANES {
                    sums[k] += self.nodes[at[k]].value;
                }
            }
            for (o, s) in out.iter_mut().zip(sums) {
                *o = s / n_trees;
            }
        }
    }

    /// The mean and the standard deviation of the trees' outputs.
    #[inline]
    pub fn predict_spread(&self, x: &[f64]) -> (f64, f64) {
        assert!(x.len() >= self.n_features as usize, "feature row too short");
        let (mut sum, mut sq) = (0.0, 0.0);
        for roots in self.roots.chunks(4) {
            for v in &self.four(roots, x)[..roots.len()] {
                sum += v;
                sq += v * v;
            }
        }
        let n = self.roots.len() as f64;
        let mean = sum / n;
        (mean, (sq / n - mean * mean).max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn flat_predictions_equal_smartcore_within_1e_12() {
        let mut rng = Rng::new(7);
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|_| (0..6).map(|_| rng.f64() * 10.0).collect())
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| r[0].sin() + r[1] * r[2] * 0.1 + if r[3] > 5.0 { 2.0 } else { 0.0 })
            .collect();
        let p = ForestParams {
            n_trees: 40,
            max_depth: 10,
            min_samples_leaf: 2,
            features_per_split: 3,
            seed: 3,
        };
        let rf = fit_smartcore(&rows, &y, &p).unwrap();
        let flat = Forest::flatten(&rf, 6).unwrap();
        assert_eq!(flat.n_trees(), 40);
        let test: Vec<Vec<f64>> = (0..300)
            .map(|_| (0..6).map(|_| rng.f64() * 12.0 - 1.0).collect())
            .collect();
        let want = rf
            .predict(&DenseMatrix::from_2d_vec(&test).unwrap())
            .unwrap();
        for (row, w) in test.iter().zip(want) {
            let got = flat.predict(row);
            assert!((got - w).abs() <= 1e-12, "{got} vs {w}");
        }
        // The batch walk gives the same values, bit for bit, for any number of rows.
        let refs: Vec<&[f64]> = test.iter().take(299).map(Vec::as_slice).collect();
        let mut batch = vec![0.0; refs.len()];
        flat.predict_batch(&refs, &mut batch);
        for (row, b) in refs.iter().zip(&batch) {
            assert_eq!(flat.predict(row).to_bits(), b.to_bits());
        }
        // Training rows hit thresholds' neighbours exactly; they must agree too.
        let want = rf
            .predict(&DenseMatrix::from_2d_vec(&rows).unwrap())
            .unwrap();
        for (row, w) in rows.iter().zip(want) {
            assert!((flat.predict(row) - w).abs() <= 1e-12);
        }
        // Scaling the leaves scales every prediction.
        let mut half = flat.clone();
        half.scale(0.5);
        for row in &test {
            assert!((half.predict(row) - 0.5 * flat.predict(row)).abs() <= 1e-12);
        }
    }
}
