//! The model set a router predicts with: loaded with the registry mapped onto it, swapped
//! while decisions run, reloaded from disk or by a watcher.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Router;
use crate::backend::Registry;
use crate::features::{FEATURE_SCHEMA, Features, NUM_FEATURES};
use crate::model::{ModelSet, Prediction, terms};
use crate::route::cache::PredictionCache;

/// A model set with the registry's backends mapped onto it.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) set: ModelSet,
    /// For each registry backend, its index in `set`.
    pub(super) index: Vec<Option<usize>>,
    pub(super) version: String,
    /// Predictions of `set`, by feature vector.
    pub(super) cache: PredictionCache,
}

impl Loaded {
    pub(super) fn new(set: ModelSet, registry: &Registry, cache: usize) -> Loaded {
        let index = registry.iter().map(|b| set.index_of(b.name())).collect();
        let sum = &set.meta.payload.blake3;
        let version = format!("{}:{}", set.meta.name, &sum[..sum.len().min(12)]);
        let cache = PredictionCache::new(cache, set.backends.len());
        Loaded {
            set,
            index,
            version,
            cache,
        }
    }
}

/// A running [`Router::watch_models`]; stops the watcher when dropped.
#[derive(Debug)]
pub struct ModelWatcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ModelWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

impl Router {
    pub(super) fn loaded(&self) -> Arc<Loaded> {
        self.models
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The model set in use (`name:checksum`).
    pub fn model_version(&self) -> String {
        self.loaded().version.clone()
    }

    /// What the model set in use predicts for one backend (no eligibility check, no online
    /// correction); `None` when it has no model of it.
    pub fn predict_backend(
        &self,
        backend: &str,
        features: &Features,
        shots: u64,
        cores: u32,
    ) -> Option<Prediction> {
        FEATURE_SCHEMA.check(features).ok()?;
        let loaded = self.loaded();
        let m = loaded.set.index_of(backend)?;
        let x = &features.values[..NUM_FEATURES];
        Some(loaded.set.backends[m].predict(x, &terms(x), shots, cores))
    }

    /// Replaces the model set; decisions already under way finish with the old one. The
    /// online corrections are reset (they corrected the old models).
    pub fn swap_models(&self, models: ModelSet) {
        let loaded = Arc::new(Loaded::new(
            models,
            &self.registry,
            self.config.prediction_cache,
        ));
        let mut st = self.lock();
        for b in &mut st.backends {
            b.correction = Default::default();
        }
        st.tally.routing.model_swaps += 1;
        st.tally.routing.models_loaded = loaded.index.iter().flatten().count();
        st.tally.routing.model_version = loaded.version.clone();
        *self.models.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    /// Loads the model set in `dir` and swaps it in; on any error the current one stays.
    pub fn reload_models(&self, dir: &std::path::Path) -> Result<String, crate::model::ModelError> {
        let set = ModelSet::load(dir)?;
        self.swap_models(set);
        Ok(self.model_version())
    }

    /// Watches the model set in `dir`: every `model_update_frequency` it reads `meta.json`,
    /// and when that changed it loads the set and swaps it in. A set that fails to load is
    /// not retried until `meta.json` changes again; the current one stays and the error is in
    /// [`RouterStats`](crate::route::RouterStats) (`routing.model_error`). `None` when the
    /// configuration sets no frequency. The watcher stops when dropped.
    pub fn watch_models(self: &Arc<Self>, dir: PathBuf) -> Option<ModelWatcher> {
        let every = self.config.model_update_frequency?;
        let stop = Arc::new(AtomicBool::new(false));
        let router = Arc::downgrade(self);
        let flag = stop.clone();
        // What is loaded now is what the router was given: remember the file as it is before
        // returning, so a change made right after this call is seen.
        let meta = dir.join("meta.json");
        let mut seen = std::fs::read(&meta).ok();
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(every);
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Some(router) = router.upgrade() else {
                    break;
                };
                let now = std::fs::read(&meta).ok();
                if now.is_none() || now == seen {
                    continue;
                }
                seen = now;
                let error = router.reload_models(&dir).err().map(|e| e.to_string());
                router.lock().tally.routing.model_error = error;
            }
        });
        Some(ModelWatcher {
            stop,
            handle: Some(handle),
        })
    }
}
