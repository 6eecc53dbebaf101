//! Who may call `/v1/*`, how often, and for how long: API keys (stored as SHA-256 hashes,
//! compared in constant time, each with scopes), a token bucket per key, and a request
//! timeout.
//!
//! A request without a valid key gets 401 (with `WWW-Authenticate: Bearer`); a valid key
//! without the scope an endpoint needs gets 403; a key over its rate gets 429 with
//! `Retry-After`. With no key configured the API is open, and a configured rate applies to all
//! requests together.
//!
//! Failed authentication is limited per client address: after [`FAILED_AUTH_BURST`] missing
//! or wrong keys, an address gets one more try every [`FAILED_AUTH_EVERY`] and 429 in
//! between, so keys cannot be guessed at the server's full speed (#28). The scheme name
//! `Bearer` is matched without regard to case (RFC 9110, 11.1).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use crate::config::ApiSection;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Route, plan, list backends, read statistics.
    Route,
    /// Submit jobs and read their results.
    Jobs,
    /// Reload the model set.
    Admin,
}

impl Scope {
    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Route => "route",
            Scope::Jobs => "jobs",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Scope, crate::UnknownName> {
        match s {
            "route" => Ok(Scope::Route),
            "jobs" => Ok(Scope::Jobs),
            "admin" => Ok(Scope::Admin),
            _ => Err(crate::UnknownName::new("scope", s, "route, jobs or admin")),
        }
    }
}

/// The scope an endpoint needs (`None`: open to all).
pub fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    match (method, path) {
        (_, "/v1/models/reload") => Some(Scope::Admin),
        (_, p) if p.starts_with("/v1/jobs") => Some(Scope::Jobs),
        (_, p) if p.starts_with("/v1/") => Some(Scope::Route),
        _ => None,
    }
}

/// One configured key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Its label.
    pub name: String,
    hash: [u8; 32],
    /// What it may do.
    pub scopes: Vec<Scope>,
    rate: Option<Rate>,
}

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second.
    pub per_sec: f64,
    /// Requests at once.
    pub burst: f64,
}

/// Checked `[api]` settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Keys; none means the API is open.
    pub keys: Vec<ApiKey>,
    /// Default rate per key.
    pub rate: Option<Rate>,
    /// Longest a request may take.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            keys: Vec::new(),
            rate: None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// An `[api]` section that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("[api]{at}: {message}")]
pub struct ApiConfigError {
    /// Which entry (e.g. ` key "ci"`), empty for the section itself.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

/// SHA-256 of a key, hex (what `[[api.key]] sha256` holds).
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `[[api.key]]` entry of qroute.toml that accepts `key` under `name` with `scopes`: its
/// SHA-256, never the key.
pub fn config_entry(name: &str, key: &str, scopes: &[Scope]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| format!("\"{}\"", s.name())).collect();
    format!(
        "[[api.key]]\nname = {}\nsha256 = \"{}\"\nscopes = [{}]",
        toml::Value::String(name.to_string()),
        hash_key(key),
        scopes.join(", ")
    )
}

/// A new random key: 32 bytes from the system's random source, hex, prefixed `qr_`.
pub fn new_key() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(format!(
        "qr_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Equality whose time does not depend on where the inputs differ.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

fn rate(
    per_sec: Option<f64>,
    burst: Option<f64>,
    at: &str,
) -> Result<Option<Rate>, ApiConfigError> {
    let err = |message: String| ApiConfigError {
        at: at.to_string(),
        message,
    };
    match per_sec {
        None => Ok(None),
        Some(r) if r.is_finite() && r > 0.0 => {
            let burst = burst.unwrap_or(r.max(1.0));
            if !(burst.is_finite() && burst >= 1.0) {
                return Err(err(format!("burst must be a number ≥ 1, got {burst}")));
            }
            Ok(Some(Rate { per_sec: r, burst }))
        }
        Some(r) => Err(err(format!(
            "rate_per_sec must be a positive number, got {r}"
        ))),
    }
}

impl ApiConfig {
    /// Checks an `[api]` section.
    pub fn check(s: &ApiSection) -> Result<ApiConfig, ApiConfigError> {
        let default_rate = rate(s.rate_per_sec, s.burst, "")?;
        let request_timeout = match s.request_timeout {
            None => Duration::from_secs(30),
            Some(t) if t.is_finite() && t > 0.0 && t <= 86_400.0 => Duration::from_secs_f64(t),
            Some(t) => {
                return Err(ApiConfigError {
                    at: String::new(),
                    message: format!(
                        "request_timeout must be between 0 and 86400 seconds, got {t}"
                    ),
                });
            }
        };
        let mut keys: Vec<ApiKey> = Vec::new();
        for k in &s.keys {
            let at = format!(" key \"{}\"", k.name);
            let err = |message: String| ApiConfigError {
                at: at.clone(),
                message,
            };
            if k.name.trim().is_empty() {
                return Err(err("a key needs a name".into()));
            }
            if keys.iter().any(|o| o.name == k.name) {
                return Err(err("two keys have this name".into()));
            }
            let hash = parse_hex32(&k.sha256).ok_or_else(|| {
                err("sha256 must be 64 hex digits (the SHA-256 of the key; `qroute api-key` prints it)".into())
            })?;
            let scopes = match &k.scopes {
                None => vec![Scope::Route],
                Some(v) if v.is_empty() => return Err(err("scopes is empty".into())),
                Some(v) => v
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<Vec<Scope>, _>>()
                    .map_err(|e| err(e.to_string()))?,
            };
            let rate = match k.rate_per_sec {
                Some(_) => rate(k.rate_per_sec, s.burst, &at)?,
                None => default_rate,
            };
            keys.push(ApiKey {
                name: k.name.clone(),
                hash,
                scopes,
                rate,
            });
        }
        Ok(ApiConfig {
            keys,
            rate: default_rate,
            request_timeout,
        })
    }

    /// The key whose hash matches `token`. Every key is compared, so the time taken does not
    /// tell which (or whether one) matched.
    pub fn find(&self, token: &str) -> Option<&ApiKey> {
        let h: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for k in &self.keys {
            if ct_eq(&k.hash, &h) {
                found = Some(k);
            }
        }
        found
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    rate: Rate,
}

impl Bucket {
    /// Its tokens at `now`.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
        self.at = now;
    }

    /// How long until a token is back, from an empty bucket.
    fn wait(&self) -> Duration {
        let secs = (1.0 - self.tokens) / self.rate.per_sec;
        crate::bounds::seconds(secs).unwrap_or(Duration::from_secs(1))
    }
}

/// Buckets kept before full ones are dropped: a client address is a bucket, and addresses
/// are many (IPv6), so the table is bounded.
const MAX_BUCKETS: usize = 10_000;

/// Token buckets by key name, or by client address for failed authentication.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Failed authentications an address may make at once.
pub const FAILED_AUTH_BURST: f64 = 10.0;

/// Then one more per this long.
pub const FAILED_AUTH_EVERY: Duration = Duration::from_secs(6);

fn failed_auth_rate() -> Rate {
    Rate {
        per_sec: 1.0 / FAILED_AUTH_EVERY.as_secs_f64(),
        burst: FAILED_AUTH_BURST,
    }
}

impl Limiter {
    /// Takes one token from `who`'s bucket; when empty, how long until one is back.
    pub fn take(&self, who: &str, rate: Rate, now: Instant) -> Result<(), Duration> {
        let mut m = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_BUCKETS && !m.contains_key(who) {
            // A bucket that has refilled is the same as no bucket.
            m.retain(|_, b| {
                b.refill(now);
                b.tokens < b.rate.burst
            });
        }
        let b = m.entry(who.to_string()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
            rate,
        });
        b.rate = rate;
        b.refill(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(b.wait())
        }
    }

    /// When `who`'s bucket is empty, how long until a token is back; takes nothing.
    pub fn empty_for(&self, who: &str, now: Instant) -> Option<Duration> {
        let mut m = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = m.get_mut(who)?;
        b.refill(now);
        (b.tokens < 1.0).then(|| b.wait())
    }
}

/// The client address of a request as the server recorded it (`None` when the application
/// is driven without a socket, as in tests).
fn client(req: &Request) -> String {
    match req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        Some(c) => format!("addr:{}", c.0.ip()),
        None => "addr:unknown".to_string(),
    }
}

/// The token of an `Authorization: Bearer <token>` header, the scheme in any case.
fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized(message: &str) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"qroute\""),
    );
    res
}

/// 429 with `Retry-After` in whole seconds (at least 1); `message` gets those seconds.
fn retry_after(wait: Duration, message: impl FnOnce(u64) -> String) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut res = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message(secs)).into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn too_many(who: &str, wait: Duration) -> Response {
    retry_after(wait, |secs| {
        format!("rate limit of `{who}` reached; retry in {secs} s")
    })
}

fn too_many_failures(wait: Duration) -> Response {
    retry_after(wait, |secs| {
        format!("too many failed authentications from this address; retry in {secs} s")
    })
}

/// 503 for a request over the time limit.
pub(super) fn over_time(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the request took longer than the server's limit of {} s",
            limit.as_secs_f64()
        ),
    )
}

/// Middleware: the key, its scope and its rate on `/v1/*`.
pub(super) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cfg = &state.api;
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let Some(scope) = required_scope(req.method(), &path) else {
        return next.run(req).await;
    };
    let (who, rate) = if cfg.keys.is_empty() {
        ("anonymous", cfg.rate)
    } else {
        let addr = client(&req);
        let now = Instant::now();
        // An address that keeps failing waits before its key is even looked at.
        if let Some(wait) = state.failed_auth.empty_for(&addr, now) {
            return too_many_failures(wait);
        }
        let fail = |message: &str| {
            // The failure is counted; the answer is 401 while the burst lasts.
            match state.failed_auth.take(&addr, failed_auth_rate(), now) {
                Ok(()) => unauthorized(message),
                Err(wait) => too_many_failures(wait),
            }
        };
        let Some(token) = bearer(&req) else {
            return fail("this API needs a key: Authorization: Bearer <key>");
        };
        let Some(key) = cfg.find(token) else {
            return fail("the key is not valid");
        };
        // Rate first: a key that keeps asking for what it may not do is throttled too.
        if let Some(rate) = key.rate
            && let Err(wait) = state.limiter.take(&key.name, rate, Instant::now())
        {
            return too_many(&key.name, wait);
        }
        if !key.scopes.contains(&scope) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "key `{}` may not use {} {} (it needs the `{}` scope)",
                    key.name,
                    req.method(),
                    path,
                    scope.name()
                ),
            )
            .into_response();
        }
        return next.run(req).await;
    };
    if let Some(rate) = rate
        && let Err(wait) = state.limiter.take(who, rate, Instant::now())
    {
        return too_many(who, wait);
    }
    next.run(req).await
}

/// Middleware: a request that takes longer than the configured timeout is answered with 503
/// (on the endpoints that wait for blocking work: planning, model reload).
pub(super) async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.api.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => over_time(limit).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> ApiSection {
        crate::config::Config::parse(toml_text, std::path::Path::new("t.toml"))
            .unwrap()
            .api
    }

    #[test]
    fn keys_are_found_by_hash_and_only_then() {
        let text = format!(
            "[[api.key]]\nname = \"a\"\nsha256 = \"{}\"\nscopes = [\"route\", \"admin\"]\n\
             [[api.key]]\nname = \"b\"\nsha256 = \"{}\"\n",
            hash_key("secret-a"),
            hash_key("secret-b").to_uppercase()
        );
        let cfg = ApiConfig::check(&section(&text)).unwrap();
        assert_eq!(cfg.find("secret-a").unwrap().name, "a");
        assert_eq!(cfg.find("secret-b").unwrap().scopes, vec![Scope::Route]);
        assert!(cfg.find("secret-c").is_none());
        assert!(cfg.find("").is_none());
    }

    #[test]
    fn a_printed_entry_accepts_its_key_whatever_the_name() {
        let name = "ci \"nightly\" = [x]";
        let entry = config_entry(name, "qr_k", &[Scope::Route, Scope::Jobs]);
        assert!(
            !entry.contains("qr_k"),
            "the key itself is never printed: {entry}"
        );
        let cfg = ApiConfig::check(&section(&entry)).unwrap();
        let key = cfg.find("qr_k").unwrap();
        assert_eq!(key.name, name);
        assert_eq!(key.scopes, vec![Scope::Route, Scope::Jobs]);
    }

    #[test]
    fn bad_sections_are_refused_with_the_entry() {
        let e = ApiConfig::check(&section("[[api.key]]\nname = \"x\"\nsha256 = \"abc\"\n"))
            .unwrap_err();
        assert!(e.to_string().contains("key \"x\""), "{e}");
        let e = ApiConfig::check(&section(&format!(
            "[[api.key]]\nname = \"x\"\nsha256 = \"{}\"\nscopes = [\"root\"]\n",
            hash_key("k")
        )))
        .unwrap_err();
        assert!(e.to_string().contains("root"), "{e}");
        assert!(ApiConfig::check(&section("[api]\nrate_per_sec = 0\n")).is_err());
        assert!(ApiConfig::check(&section("[api]\nrequest_timeout = -1\n")).is_err());
    }

    #[test]
    fn buckets_refill_at_their_rate() {
        let l = Limiter::default();
        let r = Rate {
            per_sec: 2.0,
            burst: 2.0,
        };
        let t0 = Instant::now();
        assert!(l.take("k", r, t0).is_ok());
        assert!(l.take("k", r, t0).is_ok());
        let wait = l.take("k", r, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Another key has its own bucket.
        assert!(l.take("other", r, t0).is_ok());
        assert!(l.take("k", r, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take("k", r, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn scopes_follow_the_path() {
        assert_eq!(
            required_scope(&Method::POST, "/v1/models/reload"),
            Some(Scope::Admin)
        );
        assert_eq!(
            required_scope(&Method::GET, "/v1/jobs/{id}"),
            Some(Scope::Jobs)
        );
        assert_eq!(
            required_scope(&Method::POST, "/v1/route"),
            Some(Scope::Route)
        );
        assert_eq!(required_scope(&Method::GET, "/metrics"), None);
    }
}
