//! `GET /openapi.json`: an OpenAPI 3.1 description of every endpoint.
//!
//! Written by hand beside the handlers; `tests/api.rs` keeps the two together: every operation
//! listed here is served, and the properties of each response schema are exactly the fields
//! the handlers serialise.

use serde_json::{Value, json};

fn num() -> Value {
    json!({"type": "number"})
}

fn opt_num() -> Value {
    json!({"type": ["number", "null"]})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn obj(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn body(name: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}})
}

fn ok(name: &str, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref(name)}}})
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}})
}

fn v1_errors(mut responses: Value, extra: &[(&str, &str)]) -> Value {
    let m = responses.as_object_mut().expect("responses is an object");
    for (code, what) in [
        (
            "401",
            "no key, or a key that is not valid (when keys are configured)",
        ),
        ("403", "the key lacks the scope this endpoint needs"),
        ("429", "the key's rate limit is reached; see Retry-After"),
        ("503", "the request took longer than the server's limit"),
    ]
    .iter()
    .chain(extra)
    {
        m.insert((*code).to_string(), error(what));
    }
    responses
}

fn schemas() -> Value {
    let strategy = json!({"type": "string", "enum": ["performance", "cost", "balanced", "predictive", "adaptive"]});
    json!({
        "Error": obj(&["error"], json!({
            "error": obj(&["status", "message"], json!({"status": {"type": "integer"}, "message": string()}))
        })),
        "Constraints": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "strategy": {"oneOf": [strategy, {"type": "null"}]},
                "shots": {"type": ["integer", "null"], "minimum": 1},
                "cores": {"type": ["integer", "null"], "minimum": 1},
                "deadline": {"type": ["number", "null"], "description": "seconds"},
                "max_cost": opt_num(),
                "min_fidelity": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "memory_budget": {"type": ["integer", "null"], "description": "bytes"},
                "exclude": {"type": "array", "items": string()}
            }
        },
        "RouteRequest": {
            "type": "object",
            "additionalProperties": false,
            "description": "exactly one of qasm and features",
            "properties": {
                "qasm": {"type": "string", "description": "OpenQASM 2.0 or 3 text (no includes but qelib1.inc and stdgates.inc)"},
                "features": {"type": "object", "additionalProperties": num(), "description": "every feature of docs/features.md by name, each once"},
                "constraints": schema_ref("Constraints")
            }
        },
        "Estimate": obj(&["backend", "latency_ms", "low_ms", "high_ms", "model_ms", "queue_ms", "risk", "expected_ms", "cost", "fidelity", "in_domain", "meets_deadline", "within_budget", "score", "log_sd"], json!({
            "backend": string(), "latency_ms": num(), "low_ms": num(), "high_ms": num(),
            "model_ms": num(), "queue_ms": num(), "risk": num(), "expected_ms": num(),
            "cost": num(), "fidelity": opt_num(), "in_domain": boolean(),
            "meets_deadline": boolean(), "within_budget": boolean(), "score": num(), "log_sd": num()
        })),
        "Ineligible": obj(&["backend", "reason"], json!({"backend": string(), "reason": string()})),
        "Recommendation": obj(&["backend", "strategy", "reason", "confidence", "chosen", "alternatives", "ineligible", "constraints_met", "rule_fallback", "explored", "model_version"], json!({
            "backend": string(), "strategy": strategy, "reason": string(), "confidence": num(),
            "chosen": schema_ref("Estimate"),
            "alternatives": {"type": "array", "items": schema_ref("Estimate")},
            "ineligible": {"type": "array", "items": schema_ref("Ineligible")},
            "constraints_met": boolean(), "rule_fallback": boolean(), "explored": boolean(),
            "model_version": string()
        })),
        "PlanRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["circuits", "slots"],
            "properties": {
                "circuits": {"type": "array", "minItems": 1, "maxItems": 10000, "items": obj(&["name", "qasm"], json!({"name": string(), "qasm": string()}))},
                "slots": {"type": "string", "example": "statevector=2,mps-64=1"},
                "objective": {"type": "string", "enum": ["makespan", "cost"]},
                "deadline": {"type": ["number", "null"], "description": "seconds"},
                "budget": opt_num(),
                "constraints": schema_ref("Constraints")
            }
        },
        "Plan": obj(&["objective", "assignments", "unplaceable", "makespan_ms", "cost", "meets_deadline", "within_budget", "why", "busy_ms", "slots"], json!({
            "objective": {"type": "string", "enum": ["makespan", "cost"]},
            "assignments": {"type": "array", "items": obj(&["job", "name", "backend", "slot", "start_ms", "duration_ms", "cost"], json!({
                "job": {"type": "integer"}, "name": string(), "backend": string(), "slot": {"type": "integer"},
                "start_ms": num(), "duration_ms": num(), "cost": num()
            }))},
            "unplaceable": {"type": "array", "description": "[job index, name, [ineligible]]", "items": {"type": "array"}},
            "makespan_ms": num(), "cost": num(), "meets_deadline": boolean(), "within_budget": boolean(),
            "why": {"type": "array", "items": string()},
            "busy_ms": {"type": "object", "additionalProperties": num()},
            "slots": {"type": "array", "description": "[backend, slots]", "items": {"type": "array"}}
        })),
        "JobRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["qasm"],
            "properties": {
                "name": string(),
                "qasm": {"type": "string", "description": "OpenQASM 2.0 or 3 text"},
                "constraints": schema_ref("Constraints")
            }
        },
        "Attempt": obj(&["backend", "isolated", "status", "predicted_ms", "predicted_cost", "wall_ms", "overhead_ms", "cost", "error"], json!({
            "backend": string(), "isolated": boolean(),
            "status": {"type": "string", "enum": ["ok", "failed", "timeout", "ineligible"]},
            "predicted_ms": num(), "predicted_cost": num(), "wall_ms": opt_num(), "overhead_ms": num(),
            "cost": opt_num(), "error": {"type": ["string", "null"]}
        })),
        "Job": obj(&["id", "name", "status", "submitted", "queue_ms", "run_ms", "backend", "counts", "wall_ms", "cost", "fidelity", "recommendation", "attempts", "error"], json!({
            "id": string(), "name": string(),
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
            "submitted": {"type": "string", "format": "date-time"},
            "queue_ms": opt_num(), "run_ms": opt_num(),
            "backend": {"type": ["string", "null"]},
            "counts": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
            "wall_ms": opt_num(), "cost": opt_num(), "fidelity": opt_num(),
            "recommendation": {"oneOf": [schema_ref("Recommendation"), {"type": "null"}]},
            "attempts": {"type": "array", "items": schema_ref("Attempt")},
            "error": {"type": ["string", "null"]}
        })),
        "Backend": obj(&["name", "kind", "available", "unavailable_reason", "device", "modelled"], json!({
            "name": string(), "kind": string(), "available": boolean(),
            "unavailable_reason": {"type": ["string", "null"]},
            "device": {"type": ["string", "null"], "description": "the GPU adapter; a software rasteriser is named as such"},
            "modelled": boolean()
        })),
        "Stats": obj(&["routing", "cost", "realtime", "debug"], json!({
            "routing": {"type": "object"}, "cost": {"type": "object"},
            "realtime": {"type": "object"}, "debug": {"type": "object"}
        })),
        "Reloaded": obj(&["model_version"], json!({"model_version": string()})),
        "Ready": obj(&["ready", "model_version"], json!({"ready": boolean(), "model_version": string()}))
    })
}

/// The document.
pub fn document() -> Value {
    let bad = ("400", "malformed JSON or OpenQASM (with the position)");
    let big = ("413", "the body is over the server's limit");
    let limit = (
        "422",
        "over a configured limit (named), or constraints no backend can meet",
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "qroute routing API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Predictive routing of quantum circuits to execution backends. /v1/* needs `Authorization: Bearer <key>` when keys are configured."
        },
        "tags": [
            {"name": "routing", "description": "Routing decisions, batch plans, the backends and routing statistics (scope `route`)"},
            {"name": "jobs", "description": "Asynchronous execution (scope `jobs`)"},
            {"name": "admin", "description": "Model reloads (scope `admin`)"},
            {"name": "operations", "description": "Health, readiness, metrics and this document (no key)"}
        ],
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "paths": {
            "/v1/route": {"post": {
                "operationId": "routeCircuit",
                "tags": ["routing"],
                "summary": "Recommend a backend for one circuit",
                "security": [{"bearer": []}],
                "requestBody": body("RouteRequest"),
                "responses": v1_errors(json!({"200": ok("Recommendation", "the recommendation")}), &[bad, big, limit])
            }},
            "/v1/plan": {"post": {
                "operationId": "planBatch",
                "tags": ["routing"],
                "summary": "Plan a batch over backend slots",
                "security": [{"bearer": []}],
                "requestBody": body("PlanRequest"),
                "responses": v1_errors(json!({"200": ok("Plan", "the plan")}), &[bad, big, limit])
            }},
            "/v1/jobs": {"post": {
                "operationId": "submitJob",
                "tags": ["jobs"],
                "summary": "Route and execute one circuit asynchronously",
                "security": [{"bearer": []}],
                "requestBody": body("JobRequest"),
                "responses": v1_errors(json!({"202": ok("Job", "accepted; poll Location")}), &[bad, big, limit, ("503", "the job queue is full, or jobs are disabled; see Retry-After")])
            }},
            "/v1/jobs/{id}": {"get": {
                "operationId": "getJob",
                "tags": ["jobs"],
                "summary": "A job's status, counts, timings and cost",
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": string()}],
                "responses": v1_errors(json!({"200": ok("Job", "the job")}), &[("404", "no such job (or it is no longer remembered)")])
            }},
            "/v1/backends": {"get": {
                "operationId": "listBackends",
                "tags": ["routing"],
                "summary": "The backends, their availability and whether they are modelled",
                "security": [{"bearer": []}],
                "responses": v1_errors(json!({"200": {"description": "the backends", "content": {"application/json": {"schema": {"type": "array", "items": schema_ref("Backend")}}}}}), &[])
            }},
            "/v1/stats": {"get": {
                "operationId": "getStats",
                "tags": ["routing"],
                "summary": "Routing statistics, cost analysis, real-time metrics, debug info",
                "security": [{"bearer": []}],
                "responses": v1_errors(json!({"200": ok("Stats", "the statistics")}), &[])
            }},
            "/v1/models/reload": {"post": {
                "operationId": "reloadModels",
                "tags": ["admin"],
                "summary": "Reload the model set; the old one stays if the new one fails",
                "security": [{"bearer": []}],
                "responses": v1_errors(json!({"200": ok("Reloaded", "the new model set's version")}), &[("500", "the model set could not be loaded; the old one is kept")])
            }},
            "/healthz": {"get": {"operationId": "healthz", "tags": ["operations"], "summary": "Liveness", "responses": {"200": {"description": "ok", "content": {"text/plain": {}}}}}},
            "/readyz": {"get": {"operationId": "readyz", "tags": ["operations"], "summary": "Readiness", "responses": {"200": ok("Ready", "ready")}}},
            "/metrics": {"get": {"operationId": "metrics", "tags": ["operations"], "summary": "Prometheus metrics", "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"operationId": "openapi", "tags": ["operations"], "summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}}}
        }
    })
}
