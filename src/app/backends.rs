//! `qroute backends`: what each configured backend is, costs and can take.

use serde::Serialize;

use crate::backend::{Availability, BackendKind, Capabilities, Price, Registry};
use crate::display::{Align, table};

/// One configured backend as listed.
#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its engine's version.
    pub version: String,
    /// What it can take.
    pub capabilities: Capabilities,
    /// Its price.
    pub price: Price,
    /// Whether it can run here.
    pub available: bool,
    /// Why not, when it cannot.
    pub unavailable_reason: Option<String>,
    /// The device it runs on, where worth saying (the GPU adapter; a software rasteriser
    /// is named as such).
    pub device: Option<String>,
    #[serde(skip)]
    dense: bool,
}

/// Every backend of `registry`, in its order.
pub fn list(registry: &Registry) -> Vec<BackendInfo> {
    registry
        .iter()
        .map(|b| {
            let reason = match b.availability() {
                Availability::Unavailable(r) => Some(r),
                Availability::Available => None,
            };
            BackendInfo {
                name: b.name().to_string(),
                kind: b.kind().to_string(),
                version: b.version(),
                capabilities: b.capabilities(),
                price: b.price(),
                available: reason.is_none(),
                unavailable_reason: reason,
                device: b.device(),
                dense: b.kind() == BackendKind::Statevector,
            }
        })
        .collect()
}

/// The list as a table: name, kind, limits, price, status.
pub fn render(list: &[BackendInfo]) -> String {
    let mut lines = vec![vec![
        "name".to_string(),
        "kind".into(),
        "limits".into(),
        "price (core-s / shot / task)".into(),
        "status".into(),
    ]];
    for b in list {
        let c = &b.capabilities;
        let mut limits = Vec::new();
        if let Some(q) = c.max_qubits {
            limits.push(format!("<= {q} qubits"));
        }
        if c.clifford_only {
            limits.push("Clifford only".into());
        }
        if c.approximate {
            limits.push("approximate".into());
        }
        if b.dense {
            limits.push("16 B x 2^n memory".into());
        }
        let p = &b.price;
        lines.push(vec![
            b.name.clone(),
            b.kind.clone(),
            if limits.is_empty() {
                "-".into()
            } else {
                limits.join(", ")
            },
            format!("{} / {} / {}", p.per_core_second, p.per_shot, p.per_task),
            match &b.unavailable_reason {
                None => match &b.device {
                    Some(d) => format!("available on {d}"),
                    None => "available".into(),
                },
                Some(r) => format!("unavailable: {r}"),
            },
        ]);
    }
    table(&lines, Align::Left)
}
