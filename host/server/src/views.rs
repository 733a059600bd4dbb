//! The JSON shapes the API answers with (records the store does not serialize
//! itself).

use serde_json::{Value, json};
use weft_store_api::{QueueStats, TaskRecord, VerifyReport};

/// A verification report.
pub fn verify(report: &VerifyReport) -> Value {
    json!({
        "run": report.run,
        "events": report.events,
        "ok": report.is_ok(),
        "first_bad": report.first_bad.as_ref().map(|b| json!({"seq": b.seq, "reason": b.reason})),
    })
}

/// The queue figures; `lag_seconds` is the age of the oldest ready task.
pub fn queue_stats(stats: &QueueStats) -> Value {
    let depth: u64 = stats.ready_by_pool.values().sum();
    json!({
        "depth": depth,
        "ready_by_pool": stats.ready_by_pool,
        "inflight": stats.inflight,
        "delayed": stats.delayed,
        "delayed_due": stats.delayed_due,
        "dlq": stats.dlq,
        "oldest_ready_lag_seconds": stats.oldest_ready_age_ms.map(|ms| ms as f64 / 1000.0),
    })
}

/// A task of a run, as `GET /v1/runs/{id}` lists them.
pub fn task(task: &TaskRecord) -> Value {
    serde_json::to_value(task).unwrap_or(Value::Null)
}
