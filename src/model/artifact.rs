//! The on-disk model set: `<dir>/meta.json` (readable, versioned, with the evaluation) and
//! `<dir>/model.bin` (the fitted numbers, little-endian, checksummed with BLAKE3 in the meta).
//!
//! `model.bin`: the magic `QRMODEL1`, then per backend in `meta.backends` order: name, latency
//! mode (u8), ln-latency regression, forest, log sigma (f64), risk forest, cost regression,
//! domain minimum and maximum (f64 arrays), and (format 2) the calibration: term (u8), knee,
//! intercept and slope (f64). A regression is `u32 k, f64 intercept, k × f64`;
//! a forest `u32 features, u32 trees, u32 nodes, trees × u32 root, nodes × (f64 value,
//! u32 feature, u32 right)` with each tree in preorder (a split's left child is the next
//! node; feature `u32::MAX` marks a leaf); strings and arrays carry a u32 length.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::evaluation::Metrics;
use super::forest::{Forest, ForestParams, Node};
use super::linear::Linear;
use super::{BackendModel, Calibration, LatencyMode, ModelError, ModelSet};
use crate::features::{FEATURE_SCHEMA, NUM_FEATURES};

/// Version of the model-set format (meta.json and model.bin together). 2 (feature schema
/// v2) added each backend's [`Calibration`] after its domain.
pub const FORMAT_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"QRMODEL1";
const PAYLOAD: &str = "model.bin";

/// What trained the models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Telemetry directories read.
    pub telemetry: Vec<String>,
    /// BLAKE3 over the training rows (circuit, backend, status, wall time, in a fixed order).
    pub fingerprint: String,
    /// Telemetry rows used.
    pub rows: u64,
    /// Circuits used for training.
    pub circuits: u64,
    /// Families seen in training.
    pub families: Vec<String>,
    /// Families held out of training entirely (evaluated in `metrics.holdout`).
    pub holdout_families: Vec<String>,
    /// The host speed the models predict for: the median `host_calibration_ms` of the
    /// training rows, to which every training time was scaled (`telemetry::speed`). `None`:
    /// no row carried a calibration (telemetry v1), times were taken as measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_calibration_ms: Option<f64>,
}

/// How the models were fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// The latency forest.
    pub forest: ForestParams,
    /// The risk forest.
    pub risk_forest: ForestParams,
    /// Ridge penalty on standardised terms.
    pub ridge_alpha: f64,
    /// A timed-out attempt is trained as taking this many times its timeout.
    pub censor_factor: f64,
    /// Folds of the leave-family-out cross-validation.
    pub folds: usize,
    /// A result of lower fidelity estimate does not count as a success when scoring choices.
    pub min_fidelity: f64,
    /// The timeout choices are judged against, ms: a backend is ranked by its expected time
    /// ([`crate::model::expected::expected_ms`]), in which a run predicted past this counts
    /// as lost and a lost run (failed or timed out) costs twice it. Before 2026-12-02 the
    /// rank was predicted time + predicted risk × this.
    pub risk_penalty_ms: f64,
    /// Seed of the folds and forests.
    pub seed: u64,
    /// Share of the residual forest's correction added to the regression in mode
    /// `residual` (a learning rate: the forest's leaves are scaled by it). Model sets made
    /// before it existed used 1.
    #[serde(default = "one")]
    pub residual_weight: f64,
    /// How each backend's latency mode is chosen ([`ModeCriterion`]). Model sets made before
    /// it existed used the median APE; from feature schema v2 the default is the tail.
    #[serde(default)]
    pub mode_criterion: ModeCriterion,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Hyperparameters {
            forest: ForestParams {
                n_trees: 100,
                max_depth: 10,
                min_samples_leaf: 5,
                features_per_split: 16,
                seed: 0,
            },
            risk_forest: ForestParams {
                n_trees: 50,
                max_depth: 8,
                min_samples_leaf: 3,
                features_per_split: 11,
                seed: 0,
            },
            ridge_alpha: 1.0,
            censor_factor: 2.0,
            folds: 5,
            min_fidelity: 0.99,
            risk_penalty_ms: 20_000.0,
            seed: 0,
            residual_weight: 1.0,
            mode_criterion: ModeCriterion::Tail,
        }
    }
}

impl std::str::FromStr for ModeCriterion {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, crate::UnknownName> {
        match s {
            "median-ape" => Ok(ModeCriterion::MedianApe),
            "mean-log-error" => Ok(ModeCriterion::MeanLogError),
            "residual" => Ok(ModeCriterion::Residual),
            "tail" => Ok(ModeCriterion::Tail),
            "regret" => Ok(ModeCriterion::Regret),
            _ => Err(crate::UnknownName::new(
                "mode choice",
                s,
                "regret, tail, residual, median-ape or mean-log-error",
            )),
        }
    }
}

fn one() -> f64 {
    1.0
}

/// How a backend's latency mode is chosen. (The `Default` is what a set saved before the
/// field existed was made with; new sets default to [`ModeCriterion::Tail`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeCriterion {
    /// Per backend, the lowest held-out median absolute percentage error.
    #[default]
    MedianApe,
    /// Per backend, the lowest held-out mean absolute error of ln latency.
    MeanLogError,
    /// `residual` for every backend (the regression, corrected by the shrunk forest).
    Residual,
    /// Per backend, the lowest held-out 90th percentile of the absolute ln error (timeouts
    /// one-sided): the tail that makes up regret.
    Tail,
    /// From the tail choice, per backend in turn the mode that lowers the held-out routing
    /// regret of the whole set, until no change lowers it (a choice made on the
    /// cross-validation it is then scored on: ten discrete choices, a small optimism).
    Regret,
}

/// Where the payload is and its checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadInfo {
    /// File name beside meta.json.
    pub file: String,
    /// Its length.
    pub bytes: u64,
    /// BLAKE3 of its bytes, hex.
    pub blake3: String,
}

/// `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Feature schema the models read.
    pub feature_schema_version: u32,
    /// Name (the directory name when trained).
    pub name: String,
    /// UTC time of training, RFC 3339.
    pub created_at: String,
    /// qroute version that trained it.
    pub qroute_version: String,
    /// Backends, in payload order.
    pub backends: Vec<String>,
    /// What trained it.
    pub training: TrainingInfo,
    /// How.
    pub hyperparameters: Hyperparameters,
    /// Held-out evaluation.
    pub metrics: Metrics,
    /// The binary payload.
    pub payload: PayloadInfo,
}

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn f64s(&mut self, v: &[f64]) {
        self.len(v.len());
        v.iter().for_each(|&x| self.f64(x));
    }
    fn linear(&mut self, l: &Linear) {
        self.len(l.coef.len());
        self.f64(l.intercept);
        l.coef.iter().for_each(|&c| self.f64(c));
    }
    fn forest(&mut self, f: &Forest) {
        self.u32(f.n_features);
        let (roots, nodes) = f.stored();
        self.len(roots.len());
        self.len(nodes.len());
        roots.iter().for_each(|&r| self.u32(r));
        for n in nodes {
            self.f64(n.value);
            self.u32(n.feature);
            self.u32(n.right);
        }
    }
}

struct Dec<'a> {
    b: &'a [u8],
    at: usize,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    /// A length, refused when it could not fit in what is left (`unit` bytes each).
    fn len(&mut self, unit: usize) -> Result<usize, String> {
        let at = self.at;
        let n = self.u32()? as usize;
        if n.saturating_mul(unit) > self.b.len() - self.at {
            return Err(format!("length {n} at byte {at} exceeds the payload"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.len(1)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| e.to_string())
    }
    fn f64s(&mut self) -> Result<Vec<f64>, String> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    fn linear(&mut self) -> Result<Linear, String> {
        let k = self.len(8)?;
        let intercept = self.f64()?;
        let coef = (0..k).map(|_| self.f64()).collect::<Result<_, _>>()?;
        Ok(Linear { intercept, coef })
    }
    fn forest(&mut self) -> Result<Forest, String> {
        let n_features = self.u32()?;
        let trees = self.len(4)?;
        let nodes = self.len(16)?;
        let roots = (0..trees).map(|_| self.u32()).collect::<Result<_, _>>()?;
        let nodes = (0..nodes)
            .map(|_| {
                Ok(Node {
                    value: self.f64()?,
                    feature: self.u32()?,
                    right: self.u32()?,
                })
            })
            .collect::<Result<_, String>>()?;
        let f = Forest::new(nodes, roots, n_features)?;
        if f.n_features as usize != NUM_FEATURES {
            return Err(format!(
                "a forest over {} features, the schema has {NUM_FEATURES}",
                f.n_features
            ));
        }
        Ok(f)
    }
}

fn encode(backends: &[BackendModel]) -> Vec<u8> {
    let mut e = Enc::default();
    e.0.extend_from_slice(MAGIC);
    for b in backends {
        e.str(&b.name);
        e.u8(b.mode.code());
        e.linear(&b.linear);
        e.forest(&b.forest);
        e.f64(b.log_sigma);
        e.forest(&b.risk);
        e.linear(&b.cost);
        e.f64s(&b.domain_min);
        e.f64s(&b.domain_max);
        let c = &b.calibration;
        e.u8(c.term as u8);
        e.f64(c.knee);
        e.f64(c.intercept);
        e.f64(c.slope);
    }
    e.0
}

fn decode(bytes: &[u8], names: &[String]) -> Result<Vec<BackendModel>, String> {
    let mut d = Dec { b: bytes, at: 0 };
    if d.take(MAGIC.len())? != MAGIC {
        return Err("not a qroute model payload (bad magic)".into());
    }
    let mut out = Vec::with_capacity(names.len());
    for want in names {
        let name = d.str()?;
        if &name != want {
            return Err(format!("backend `{name}` where meta.json lists `{want}`"));
        }
        let code = d.u8()?;
        let mode = LatencyMode::from_code(code).ok_or(format!("unknown latency mode {code}"))?;
        let linear = d.linear()?;
        let forest = d.forest()?;
        let log_sigma = d.f64()?;
        let risk = d.forest()?;
        let cost = d.linear()?;
        let domain_min = d.f64s()?;
        let domain_max = d.f64s()?;
        let calibration = Calibration {
            term: d.u8()? as usize,
            knee: d.f64()?,
            intercept: d.f64()?,
            slope: d.f64()?,
        };
        if calibration.term >= super::N_TERMS {
            return Err(format!(
                "backend `{name}`: calibration on term {} of {}",
                calibration.term,
                super::N_TERMS
            ));
        }
        if linear.coef.len() != super::N_TERMS || cost.coef.len() != 2 {
            return Err(format!("backend `{name}`: regression of the wrong size"));
        }
        if domain_min.len() != NUM_FEATURES || domain_max.len() != NUM_FEATURES {
            return Err(format!("backend `{name}`: domain of the wrong size"));
        }
        out.push(BackendModel {
            name,
            mode,
            linear,
            calibration,
            forest,
            log_sigma,
            risk,
            cost,
            domain_min,
            domain_max,
        });
    }
    if d.at != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - d.at));
    }
    Ok(out)
}

impl ModelSet {
    /// Writes `dir/meta.json` and `dir/model.bin` (creating `dir`), each through a temporary
    /// file renamed into place, the payload first.
    pub fn save(&mut self, dir: &Path) -> Result<(), ModelError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| ModelError::Io { path, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let payload = encode(&self.backends);
        self.meta.format_version = FORMAT_VERSION;
        self.meta.feature_schema_version = FEATURE_SCHEMA.version;
        self.meta.backends = self.backends.iter().map(|b| b.name.clone()).collect();
        self.meta.payload = PayloadInfo {
            file: PAYLOAD.into(),
            bytes: payload.len() as u64,
            blake3: blake3::hash(&payload).to_hex().to_string(),
        };
        let mut json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        json.push('\n');
        for (name, bytes) in [
            (PAYLOAD, payload.as_slice()),
            ("meta.json", json.as_bytes()),
        ] {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Loads a model set, checking the format and feature versions and the payload's
    /// checksum.
    pub fn load(dir: &Path) -> Result<ModelSet, ModelError> {
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).map_err(|error| ModelError::Io {
            path: meta_path.clone(),
            error,
        })?;
        let meta = Self::parse_meta(&text, &meta_path)?;
        let payload_path = dir.join(&meta.payload.file);
        let bytes = std::fs::read(&payload_path).map_err(|error| ModelError::Io {
            path: payload_path.clone(),
            error,
        })?;
        Self::with_payload(meta, &bytes, &payload_path)
    }

    /// The model set shipped in `models/default`, compiled into the crate (#33), so that a
    /// binary installed away from the checkout routes without it. Checked as [`ModelSet::load`]
    /// checks a directory (versions, payload size and hash).
    pub fn shipped() -> Result<ModelSet, ModelError> {
        let dir = Path::new("<compiled in>/models/default");
        let meta = Self::parse_meta(
            include_str!("../../models/default/meta.json"),
            &dir.join("meta.json"),
        )?;
        let payload = include_bytes!("../../models/default/model.bin");
        let payload_path = dir.join(&meta.payload.file);
        Self::with_payload(meta, payload, &payload_path)
    }

    /// `meta.json`'s text, versions checked first.
    fn parse_meta(text: &str, meta_path: &Path) -> Result<ModelMeta, ModelError> {
        let meta_path = meta_path.to_path_buf();
        // The versions first, so that a newer format fails by version, not by field.
        #[derive(Deserialize)]
        struct Versions {
            format_version: u32,
            feature_schema_version: u32,
        }
        let meta_err = |e: serde_json::Error| ModelError::Meta {
            path: meta_path.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let v: Versions = serde_json::from_str(text).map_err(meta_err)?;
        if v.format_version != FORMAT_VERSION {
            return Err(ModelError::FormatVersion {
                path: meta_path,
                found: v.format_version,
                expected: FORMAT_VERSION,
            });
        }
        if v.feature_schema_version != FEATURE_SCHEMA.version {
            return Err(ModelError::FeatureVersion {
                path: meta_path,
                found: v.feature_schema_version,
                expected: FEATURE_SCHEMA.version,
            });
        }
        serde_json::from_str(text).map_err(meta_err)
    }

    /// The set of `meta` with its payload `bytes` (read from `payload_path`), checked against
    /// the size and hash `meta` records.
    fn with_payload(
        meta: ModelMeta,
        bytes: &[u8],
        payload_path: &Path,
    ) -> Result<ModelSet, ModelError> {
        let payload_path = payload_path.to_path_buf();
        let corrupt = |message: String| ModelError::Corrupt {
            path: payload_path.clone(),
            message,
        };
        let sum = blake3::hash(bytes).to_hex().to_string();
        if sum != meta.payload.blake3 || bytes.len() as u64 != meta.payload.bytes {
            return Err(corrupt(format!(
                "{} bytes with BLAKE3 {sum}, meta.json expects {} bytes with {}",
                bytes.len(),
                meta.payload.bytes,
                meta.payload.blake3
            )));
        }
        let backends = decode(bytes, &meta.backends).map_err(corrupt)?;
        Ok(ModelSet { meta, backends })
    }
}
