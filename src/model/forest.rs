//! Random forests: fitted with smartcore, then flattened into one contiguous node array for
//! prediction that allocates nothing.

#[cfg(feature = "train")]
use serde::Deserialize;
#[cfg(feature = "train")]
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
#[cfg(feature = "train")]
use smartcore::linalg::basic::matrix::DenseMatrix;

#[cfg(feature = "train")]
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
///
/// Stored (in a payload) with leaves marked as such; held in a walking form, made when the
/// forest is: every leaf turned into a split on the last slot of the [`Row`], which is always
/// NaN (so the walk goes right), whose right child is the leaf itself. A walk then needs no
/// leaf test: it takes as many steps as the tree is deep and stays on the leaf it reaches, so
/// [`LANES`] trees (or rows) walk side by side without a branch, their memory loads
/// overlapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub(crate) n_features: u32,
    walk: Walk,
}

/// Trees (or rows) walked side by side.
pub const LANES: usize = 8;

/// Slots of a [`Row`]: features first, the last one always NaN. One per value of a byte, so
/// a byte feature index needs neither a mask nor a bounds check.
const ROW: usize = 256;

/// Most features a forest may split on (the last row slot is the NaN leaves split on).
pub const MAX_FEATURES: usize = ROW - 1;

/// The row slot walking-form leaves split on: always NaN, so the walk goes right, to itself.
const NAN_SLOT: u8 = (ROW - 1) as u8;

/// An order-preserving integer key of a value: `key(a) <= key(b)` exactly when `a <= b`
/// for numbers (both zeros are one key), with NaN above every number. Comparing keys is an
/// integer compare, one cycle against three for a float compare on a walk's critical path.
#[inline(always)]
fn key(v: f64) -> u64 {
    if v.is_nan() {
        return u64::MAX;
    }
    // -0.0 and 0.0 are equal as numbers.
    let b = (v + 0.0).to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

/// A threshold's key: NaN (no row value is `<=` it) below every row key.
fn threshold_key(v: f64) -> u64 {
    if v.is_nan() { 0 } else { key(v) }
}

/// A leaf's output as stored in the walking form: its bits, with one NaN for all whose bits
/// are not `u64::MAX` (so the leaf's comparison with the NaN slot's key sends the walk right).
fn leaf_bits(v: f64) -> u64 {
    if v.is_nan() { f64::NAN } else { v }.to_bits()
}

/// The threshold of a [`threshold_key`] (a zero is `0.0`).
fn threshold_of(k: u64) -> f64 {
    if k == 0 {
        f64::NAN
    } else if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// The walking form of a forest (see [`Forest`]).
///
/// Columns rather than 16-byte nodes: every load is then a base plus an index times 1, 4 or
/// 8, which x86 addresses without arithmetic. A split's two children are adjacent, so the
/// next index is the left child's plus one when the walk goes right: an add of the
/// comparison's carry, not a select. Each column is a power of two long and a walk masks its
/// index with `len - 1` (the identity on valid indices), which proves the index in bounds to
/// the compiler: no bounds check in the walk.
#[derive(Debug, Clone, PartialEq, Default)]
struct Walk {
    /// A split's threshold as a [`threshold_key`]; a leaf's output as its [`leaf_bits`].
    value: Vec<u64>,
    /// Split features; [`NAN_SLOT`] for a leaf.
    feature: Vec<u8>,
    /// Left children (the right child is the next node). A leaf is a split on the row's NaN
    /// slot, so the walk goes right, and its left child is the node before it: the walk
    /// stays on the leaf.
    left: Vec<u32>,
    /// Nodes of the forest's trees.
    n_nodes: u32,
    /// Node indices of the roots, then [`PAD`] to a multiple of [`LANES`].
    roots: Vec<u32>,
    /// Steps from each root to its deepest leaf.
    depth: Vec<u32>,
    /// The largest depth of each group of [`LANES`] roots.
    group_depth: Vec<u32>,
}

/// The leaf of value 0 that padding lanes walk, in every walking form. Index 0 before it is
/// never reached (it is only its left child); trees start at index 2.
const PAD: u32 = 1;

impl Walk {
    /// Built from a checked stored form (a list of trees: each node a root or the child of
    /// exactly one node, children after their parent, features in range).
    fn new(nodes: &[Node], roots: &[u32]) -> Walk {
        let len = (nodes.len() + 2).next_power_of_two();
        let mut value = vec![0u64; len];
        let mut feature = vec![NAN_SLOT; len];
        // Every slot a leaf until filled: the unused tail too.
        let mut left: Vec<u32> = (0..len as u32).map(|i| i.saturating_sub(1)).collect();
        let mut walk_roots = Vec::with_capacity(roots.len().div_ceil(LANES) * LANES);
        let mut next = 2u32;
        let mut stack = Vec::new();
        for &r in roots {
            walk_roots.push(next);
            stack.push((r as usize, next));
            next += 1;
            // Depth first, each split's children placed side by side when it is.
            while let Some((s, w)) = stack.pop() {
                let n = &nodes[s];
                value[w as usize] = if n.feature == LEAF {
                    leaf_bits(n.value)
                } else {
                    threshold_key(n.value)
                };
                if n.feature != LEAF {
                    feature[w as usize] = n.feature as u8;
                    left[w as usize] = next;
                    stack.push((n.right as usize, next + 1));
                    stack.push((s + 1, next));
                    next += 2;
                }
            }
        }
        // Children lie after their parent: heights fill in from the end.
        let mut height = vec![0u32; nodes.len()];
        for i in (0..nodes.len()).rev() {
            let n = &nodes[i];
            if n.feature != LEAF {
                height[i] = 1 + height[i + 1].max(height[n.right as usize]);
            }
        }
        let depth: Vec<u32> = roots.iter().map(|&r| height[r as usize]).collect();
        walk_roots.resize(roots.len().div_ceil(LANES) * LANES, PAD);
        let group_depth = depth
            .chunks(LANES)
            .map(|g| g.iter().copied().max().unwrap_or(0))
            .collect();
        Walk {
            value,
            feature,
            left,
            n_nodes: nodes.len() as u32,
            roots: walk_roots,
            depth,
            group_depth,
        }
    }

    /// The roots and nodes in their stored form: each tree in depth-first preorder (the
    /// left child next, the right child's index stored), one after another, leaves marked by
    /// [`LEAF`].
    fn stored(&self) -> (Vec<u32>, Vec<Node>) {
        let mut out = Vec::with_capacity(self.n_nodes as usize);
        let mut roots = Vec::with_capacity(self.depth.len());
        let mut stack = Vec::new();
        for &r in &self.roots[..self.depth.len()] {
            roots.push(out.len() as u32);
            // (walk index, stored index of the parent whose right child this is)
            stack.push((r as usize, None));
            while let Some((w, parent)) = stack.pop() {
                if let Some(p) = parent {
                    let at = out.len() as u32;
                    let p: &mut Node = &mut out[p];
                    p.right = at;
                }
                if self.feature[w] == NAN_SLOT {
                    out.push(Node {
                        value: f64::from_bits(self.value[w]),
                        feature: LEAF,
                        right: 0,
                    });
                } else {
                    let l = self.left[w] as usize;
                    stack.push((l + 1, Some(out.len())));
                    stack.push((l, None));
                    out.push(Node {
                        value: threshold_of(self.value[w]),
                        feature: u32::from(self.feature[w]),
                        right: 0,
                    });
                }
            }
        }
        (roots, out)
    }

    /// Walks `L` lanes `steps` steps: lane `k` starts at node `at[k]` and reads the row
    /// `x(k)`.
    #[inline(always)]
    fn walk<'x, const L: usize>(
        &self,
        mut at: [usize; L],
        steps: u32,
        x: impl Fn(usize) -> &'x [u64; ROW],
    ) -> [f64; L] {
        // Every column is `mask + 1` long (a power of two), and valid indices are below
        // that, so `& mask` changes none and shows the compiler that none is out of bounds.
        let mask = self.value.len() - 1;
        let value = &self.value[..=mask];
        let feature = &self.feature[..=mask];
        let left = &self.left[..=mask];
        for _ in 0..steps {
            for (k, a) in at.iter_mut().enumerate() {
                let i = *a & mask;
                // A byte indexes the 256-slot row without a check. Keys compare as the
                // values do, NaN going right as in smartcore. No branch: one here is
                // mispredicted half the time.
                let right = x(k)[usize::from(feature[i])] > value[i];
                *a = left[i] as usize + usize::from(right);
            }
        }
        std::array::from_fn(|k| f64::from_bits(value[at[k] & mask]))
    }
}

/// A feature row copied for walking: up to [`MAX_FEATURES`] values, then NaN to the end, each
/// as an order-preserving integer key. A fixed size lets a walk index it without a bounds
/// check, and one row serves every forest that reads the same features.
#[derive(Debug, Clone)]
pub struct Row {
    x: [u64; ROW],
    /// Values copied.
    n: usize,
}

impl Row {
    /// The first [`MAX_FEATURES`] values of `x` (fewer when it is shorter).
    #[inline(always)]
    pub fn new(x: &[f64]) -> Row {
        let mut a = [u64::MAX; ROW];
        let n = x.len().min(MAX_FEATURES);
        for (k, &v) in a.iter_mut().zip(&x[..n]) {
            *k = key(v);
        }
        Row { x: a, n }
    }
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
#[cfg(feature = "train")]
#[derive(Deserialize)]
struct SForest {
    forest_regressor: Option<SBase>,
}
#[cfg(feature = "train")]
#[derive(Deserialize)]
struct SBase {
    trees: Option<Vec<STree>>,
}
#[cfg(feature = "train")]
#[derive(Deserialize)]
struct STree {
    nodes: Vec<SNode>,
}
#[cfg(feature = "train")]
#[derive(Deserialize)]
struct SNode {
    output: f64,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
}

/// Fits smartcore's random forest on `rows` (each `n_features` long) and targets `y`.
#[cfg(feature = "train")]
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

#[cfg(feature = "train")]
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
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        for t in trees {
            let start = nodes.len();
            roots.push(start as u32);
            // Depth-first preorder: push the right child first so the left one comes next.
            let mut stack = vec![(0usize, None::<usize>)];
            while let Some((i, parent)) = stack.pop() {
                let n = t
                    .nodes
                    .get(i)
                    .ok_or_else(|| bad("a child index out of range"))?;
                if let Some(p) = parent {
                    // This node is `p`'s right child.
                    nodes[p].right = nodes.len() as u32;
                }
                let at = nodes.len();
                match (n.true_child, n.false_child) {
                    (Some(l), Some(r)) => {
                        if n.split_feature >= n_features {
                            return Err(bad("a split on a feature out of range"));
                        }
                        nodes.push(Node {
                            value: n.split_value.unwrap_or(f64::NAN),
                            feature: n.split_feature as u32,
                            right: 0,
                        });
                        stack.push((r, Some(at)));
                        stack.push((l, None));
                    }
                    (None, None) => nodes.push(Node {
                        value: n.output,
                        feature: LEAF,
                        right: 0,
                    }),
                    _ => return Err(bad("a node with one child")),
                }
                if nodes.len() - start > t.nodes.len() {
                    return Err(bad("a tree that is not a tree"));
                }
            }
        }
        Forest::new(nodes, roots, n_features as u32).map_err(|m| bad(&m))
    }
}

impl Forest {
    /// A forest from its stored form, checked: every child index lies in the array and
    /// points forward (so every walk ends), every node is a root or the child of one other
    /// node (trees, nothing shared or left over), and split features exist. A loaded payload
    /// is checked before use.
    pub(crate) fn new(
        nodes: Vec<Node>,
        roots: Vec<u32>,
        n_features: u32,
    ) -> Result<Forest, String> {
        if n_features as usize > MAX_FEATURES {
            return Err(format!(
                "a forest over {n_features} features; at most {MAX_FEATURES} are supported"
            ));
        }
        if roots.is_empty() {
            return Err("a forest without trees".into());
        }
        // Node indices, the padding leaves' included, fit a u32.
        if nodes.len() >= (u32::MAX / 2) as usize {
            return Err(format!("a forest of {} nodes is too large", nodes.len()));
        }
        let n = nodes.len() as u32;
        for (i, node) in nodes.iter().enumerate() {
            if node.feature == LEAF {
                continue;
            }
            if node.feature >= n_features {
                return Err(format!("node {i} splits on feature {}", node.feature));
            }
            let i = i as u32;
            // Left is i + 1; both children lie after the node, so every walk ends.
            if i + 1 >= n || node.right >= n || node.right <= i + 1 {
                return Err(format!("node {i} has children out of order"));
            }
        }
        if roots.iter().any(|&r| r >= n) {
            return Err("a root out of range".into());
        }
        let mut parents = vec![0u8; nodes.len()];
        let mut refer = |k: u32| {
            let p = &mut parents[k as usize];
            *p = p.saturating_add(1);
        };
        // Roots count as a parent here.
        roots.iter().for_each(|&r| refer(r));
        for (i, node) in nodes.iter().enumerate() {
            if node.feature != LEAF {
                refer(i as u32 + 1);
                refer(node.right);
            }
        }
        if let Some(k) = parents.iter().position(|&p| p != 1) {
            return Err(format!(
                "node {k} has {} parents (a root has none, other nodes one)",
                parents[k]
            ));
        }
        let walk = Walk::new(&nodes, &roots);
        Ok(Forest { n_features, walk })
    }

    /// The roots and nodes in their stored form (leaves marked by [`LEAF`]), for a payload.
    pub(crate) fn stored(&self) -> (Vec<u32>, Vec<Node>) {
        self.walk.stored()
    }

    /// Trees in the forest.
    pub fn n_trees(&self) -> usize {
        self.walk.depth.len()
    }

    /// Nodes in the forest.
    pub fn n_nodes(&self) -> usize {
        self.walk.n_nodes as usize
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features as usize
    }

    /// Multiplies every leaf by `k`: the forest then predicts `k` times what it did (a
    /// learning rate applied after fitting).
    pub fn scale(&mut self, k: f64) {
        let w = &mut self.walk;
        for (v, &f) in w.value.iter_mut().zip(&w.feature) {
            if f == NAN_SLOT {
                *v = leaf_bits(f64::from_bits(*v) * k);
            }
        }
    }

    /// Calls `leaf` with every tree's output for one row, in tree order.
    #[inline(always)]
    fn leaves(&self, row: &Row, mut leaf: impl FnMut(f64)) {
        let w = &self.walk;
        let n = self.walk.depth.len();
        for (g, (roots, &steps)) in w.roots.chunks_exact(LANES).zip(&w.group_depth).enumerate() {
            let at: [usize; LANES] = std::array::from_fn(|k| roots[k] as usize);
            let v = w.walk(at, steps, |_| &row.x);
            for &v in &v[..LANES.min(n - g * LANES)] {
                leaf(v);
            }
        }
    }

    /// The mean of the trees' outputs, summed in tree order as smartcore does.
    ///
    /// # Panics
    /// When `x` has fewer than [`Forest::n_features`] values.
    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        // A short `x` makes a short row, which `predict_row` refuses.
        self.predict_row(&Row::new(x))
    }

    /// [`Forest::predict`] of a row already copied.
    ///
    /// # Panics
    /// When the row has fewer than [`Forest::n_features`] values.
    #[inline]
    pub fn predict_row(&self, row: &Row) -> f64 {
        assert!(row.n >= self.n_features as usize, "feature row too short");
        let mut sum = 0.0;
        self.leaves(row, |v| sum += v);
        sum / self.walk.depth.len() as f64
    }

    /// [`Forest::predict`] for many rows into `out` (one value per row), walking each tree
    /// for [`LANES`] rows at a time so that their memory loads overlap. Equal to `predict`
    /// row by row, bit for bit (same sums in the same order).
    ///
    /// # Panics
    /// When `out` is shorter than `rows` or a row is too short.
    pub fn predict_batch(&self, rows: &[&[f64]], out: &mut [f64]) {
        assert!(out.len() >= rows.len(), "output shorter than the rows");
        let nf = self.n_features as usize;
        assert!(rows.iter().all(|r| r.len() >= nf), "feature row too short");
        let n_trees = self.walk.depth.len() as f64;
        let w = &self.walk;
        for (chunk, out) in rows.chunks(LANES).zip(out.chunks_mut(LANES)) {
            // Short chunks repeat their last row; the extra lanes are not written out.
            let copies: [Row; LANES] =
                std::array::from_fn(|k| Row::new(chunk[k.min(chunk.len() - 1)]));
            let mut sums = [0.0; LANES];
            for (&root, &steps) in w.roots.iter().zip(&w.depth) {
                let v = w.walk([root as usize; LANES], steps, |k| &copies[k].x);
                for k in 0..LANES {
                    sums[k] += v[k];
                }
            }
            for (o, s) in out.iter_mut().zip(sums) {
                *o = s / n_trees;
            }
        }
    }

    /// The mean and the standard deviation of the trees' outputs.
    ///
    /// # Panics
    /// When `x` has fewer than [`Forest::n_features`] values.
    #[inline]
    pub fn predict_spread(&self, x: &[f64]) -> (f64, f64) {
        self.predict_spread_row(&Row::new(x))
    }

    /// [`Forest::predict_spread`] of a row already copied.
    ///
    /// # Panics
    /// When the row has fewer than [`Forest::n_features`] values.
    #[inline]
    pub fn predict_spread_row(&self, row: &Row) -> (f64, f64) {
        assert!(row.n >= self.n_features as usize, "feature row too short");
        let (mut sum, mut sq) = (0.0, 0.0);
        self.leaves(row, |v| {
            sum += v;
            sq += v * v;
        });
        let n = self.walk.depth.len() as f64;
        let mean = sum / n;
        (mean, (sq / n - mean * mean).max(0.0).sqrt())
    }
}

#[cfg(all(test, feature = "train"))]
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
        // The stored form comes back as it was made.
        let (roots, nodes) = flat.stored();
        let again = Forest::new(nodes.clone(), roots.clone(), 6).unwrap();
        assert_eq!(again.stored(), (roots, nodes));
        // A row copied once serves any forest over its features.
        let row = Row::new(&test[0]);
        assert_eq!(
            flat.predict_row(&row).to_bits(),
            flat.predict(&test[0]).to_bits()
        );
        // Scaling the leaves scales every prediction.
        let mut half = flat.clone();
        half.scale(0.5);
        for row in &test {
            assert!((half.predict(row) - 0.5 * flat.predict(row)).abs() <= 1e-12);
        }
    }

    #[test]
    fn keys_compare_as_the_values_do() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE / 4.0,
            -0.0,
            0.0,
            f64::MIN_POSITIVE / 4.0,
            1.0,
            1.0 + f64::EPSILON,
            f64::INFINITY,
        ];
        for a in v {
            for b in v {
                assert_eq!(key(a) <= threshold_key(b), a <= b, "{a} <= {b}");
            }
            // NaN goes right: it is not <= any threshold, and nothing is <= NaN.
            assert!(key(f64::NAN) > threshold_key(a));
            assert!(key(a) > threshold_key(f64::NAN));
            if a != 0.0 {
                assert_eq!(threshold_of(threshold_key(a)).to_bits(), a.to_bits());
            }
        }
        assert!(key(f64::NAN) > threshold_key(f64::NAN));
        assert!(threshold_of(threshold_key(f64::NAN)).is_nan());
        assert_eq!(threshold_of(threshold_key(-0.0)).to_bits(), 0f64.to_bits());
    }

    #[test]
    fn a_forest_whose_trees_share_a_node_is_refused() {
        let split = |right| Node {
            value: 0.5,
            feature: 0,
            right,
        };
        let leaf = Node {
            value: 1.0,
            feature: LEAF,
            right: 0,
        };
        // 0 -> (1, 3) and 1 -> (2, 3): node 3 has two parents.
        let e = Forest::new(vec![split(3), split(3), leaf, leaf], vec![0], 1).unwrap_err();
        assert!(e.contains("node 3 has 2 parents"), "{e}");
        // A node no tree reaches is refused too.
        let e = Forest::new(vec![split(2), leaf, leaf, leaf], vec![0], 1).unwrap_err();
        assert!(e.contains("node 3 has 0 parents"), "{e}");
        let f = Forest::new(vec![split(2), leaf, leaf, leaf], vec![0, 3], 1).unwrap();
        assert_eq!(f.stored().1.len(), 4);
    }

    #[test]
    fn a_forest_over_more_features_than_a_row_holds_is_refused() {
        let leaf = Node {
            value: 1.0,
            feature: LEAF,
            right: 0,
        };
        assert!(Forest::new(vec![leaf], vec![0], MAX_FEATURES as u32).is_ok());
        let e = Forest::new(vec![leaf], vec![0], MAX_FEATURES as u32 + 1).unwrap_err();
        assert!(e.contains("at most 255"), "{e}");
    }
}
