//! [`DaemonApi`]: weft through a running daemon's HTTP API (over TCP or its
//! Unix socket; [`DaemonClient`] is the transport, the token and the errors).
//! Each method is one or two requests; the answers' fields become the
//! store's types.

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use weft_index::{SearchRequest, SearchResults, Sort};
use weft_store_api::{
    BadEvent, DeadLetter, HeadSignature, LedgerEvent, LockAcquire, LockRecord, NextTask, RunFilter,
    RunRecord, VerifyReport,
};

use super::http::{DaemonClient, field, segment};
use super::{EventsPage, Outcome, Resuming, RunView, ShowProgress, Swap, WeftClient};
use weft_core::SwapTarget;

/// weft through a daemon.
pub(crate) struct DaemonApi {
    /// The transport.
    pub(super) daemon: DaemonClient,
}

impl DaemonApi {
    /// A client of the daemon `daemon` reaches.
    pub(crate) fn new(daemon: DaemonClient) -> Self {
        Self { daemon }
    }

    /// `GET path` with no query.
    fn get(&self, path: &str) -> Result<Value> {
        self.daemon.get(path, &[])
    }
}

#[async_trait]
impl WeftClient for DaemonApi {
    async fn place(&self) -> Result<String> {
        Ok(self.daemon.url().to_owned())
    }

    async fn run(&self, id: &str) -> Result<RunRecord> {
        field(&self.get(&format!("/v1/runs/{}", segment(id)))?, "run")
    }

    async fn run_view(&self, id: &str) -> Result<RunView> {
        let answer = self.get(&format!("/v1/runs/{}", segment(id)))?;
        Ok(RunView {
            run: field(&answer, "run")?,
            tasks: field(&answer, "tasks")?,
            outputs: field(&answer, "outputs")?,
            dead: field(&answer, "dead_letters")?,
        })
    }

    async fn runs_list(&self, limit: usize, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(flow) = &filter.flow_id {
            query.push(("flow", flow.clone()));
        }
        if let Some(status) = filter.status {
            query.push(("status", status.as_str().to_owned()));
        }
        field(&self.daemon.get("/v1/runs", &query)?, "runs")
    }

    async fn run_events(&self, id: &str, after: u64, wait_secs: u64) -> Result<EventsPage> {
        let query = [
            ("after", after.to_string()),
            ("wait", wait_secs.to_string()),
        ];
        let path = format!("/v1/runs/{}/events", segment(id));
        let answer = self.daemon.get(&path, &query)?;
        Ok(EventsPage {
            events: field(&answer, "events")?,
            status: field(&answer, "status")?,
            open_tasks: field(&answer, "open_tasks")?,
        })
    }

    async fn ledger(&self, id: &str) -> Result<Vec<LedgerEvent>> {
        field(
            &self.get(&format!("/v1/runs/{}/events", segment(id)))?,
            "events",
        )
    }

    async fn verify(&self, id: &str) -> Result<VerifyReport> {
        let verified = self.get(&format!("/v1/runs/{}/verify", segment(id)))?;
        let first_bad = match verified.get("first_bad") {
            Some(bad) if !bad.is_null() => Some(BadEvent {
                seq: field(bad, "seq")?,
                reason: field(bad, "reason")?,
            }),
            _ => None,
        };
        Ok(VerifyReport {
            run: field(&verified, "run")?,
            events: field(&verified, "events")?,
            first_bad,
        })
    }

    async fn head_signatures(&self, _: &str) -> Result<Option<Vec<HeadSignature>>> {
        Ok(None)
    }

    async fn artifacts(&self, id: &str) -> Result<(String, Map<String, Value>)> {
        let answer = self.get(&format!("/v1/runs/{}/artifacts", segment(id)))?;
        Ok((id.to_owned(), field(&answer, "artifacts")?))
    }

    async fn artifact(&self, id: &str, key: &str) -> Result<Value> {
        let path = format!("/v1/runs/{}/artifacts/{}", segment(id), segment(key));
        field(&self.get(&path)?, "value")
    }

    async fn resume_begin(&self, id: &str) -> Result<Resuming> {
        self.begin_resume(id)
    }

    async fn resume_follow(&self, resuming: &Resuming, show: &ShowProgress) -> Result<Outcome> {
        self.follow_resume(resuming, show).await
    }

    async fn dlq_list(
        &self,
        since_ms: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Vec<DeadLetter>> {
        let mut query = Vec::new();
        query.extend(since_ms.map(|s| ("since_ms", s.to_string())));
        query.extend(limit.map(|l| ("limit", l.to_string())));
        field(&self.daemon.get("/v1/dlq", &query)?, "dead_letters")
    }

    async fn dlq_purge(&self, task: u64) -> Result<()> {
        self.daemon.delete(&format!("/v1/dlq/{task}"))?;
        Ok(())
    }

    async fn dlq_requeue(&self, task: u64) -> Result<()> {
        self.daemon.post(&format!("/v1/dlq/{task}/requeue"), None)?;
        Ok(())
    }

    async fn cancel(&self, id: &str, reason: Option<&str>) -> Result<RunRecord> {
        let body = reason.map(|r| json!({ "reason": r }));
        let path = format!("/v1/runs/{}/cancel", segment(id));
        self.daemon.post(&path, body.as_ref())?;
        self.run(id).await
    }

    fn runs_requeued(&self) -> bool {
        true
    }

    async fn queue_stats(&self) -> Result<Value> {
        self.get("/v1/queue/stats")
    }

    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
    ) -> Result<Option<NextTask>> {
        let query: Vec<(&str, String)> = [("pool", pool), ("project", project)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v.to_owned())))
            .collect();
        field(&self.daemon.get("/v1/queue/next", &query)?, "next")
    }

    async fn costs(&self, since: &str, tenant: Option<&str>) -> Result<Value> {
        let mut query = vec![("since", since.to_owned())];
        query.extend(tenant.map(|t| ("tenant", t.to_owned())));
        self.daemon.get("/v1/costs", &query)
    }

    async fn pools(&self, pool: Option<&str>) -> Result<Value> {
        let query: Vec<(&str, String)> = pool.iter().map(|p| ("pool", (*p).to_owned())).collect();
        self.daemon.get("/v1/pools", &query)
    }

    async fn swap(&self, swap: Swap<'_>) -> Result<Value> {
        let path = match swap.target {
            SwapTarget::Pool(p) => format!("/v1/pools/{}/policy", segment(p)),
            SwapTarget::Retry(f) => format!("/v1/flows/{}/retry", segment(f)),
        };
        let mut query: Vec<(&str, String)> = swap
            .config
            .iter()
            .map(|c| ("config", c.to_string()))
            .collect();
        query.extend(swap.name.iter().map(|n| ("name", n.clone())));
        self.daemon.put_bytes(&path, &query, swap.wasm)
    }

    async fn lock_acquire(&self, key: &str, owner: &str, ttl_ms: u64) -> Result<LockAcquire> {
        let body = json!({"owner": owner, "ttl_ms": ttl_ms});
        let path = format!("/v1/locks/{}", segment(key));
        let (status, answer) = self.daemon.post_expecting(&path, &body, 409)?;
        if status == 409 {
            return Ok(LockAcquire::Held {
                owner: field(&answer, "held_by")?,
                expires_ms: field(&answer, "expires_ms")?,
            });
        }
        let lock: LockRecord = serde_json::from_value(answer.clone())
            .map_err(|e| anyhow!("the daemon's answer is not a lock ({e}): {answer}"))?;
        let renewed = answer
            .get("renewed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(LockAcquire::Acquired { lock, renewed })
    }

    async fn lock_release(&self, key: &str, token: u64) -> Result<(String, u64)> {
        let path = format!("/v1/locks/{}?token={token}", segment(key));
        let answer = self.daemon.delete(&path)?;
        Ok((field(&answer, "owner")?, field(&answer, "token")?))
    }

    async fn locks(&self) -> Result<Vec<LockRecord>> {
        field(&self.get("/v1/locks")?, "locks")
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let sort = match request.sort {
            Sort::Time => "time",
            Sort::Score => "score",
        };
        let mut query = vec![
            ("q", request.query.clone()),
            ("sort", sort.to_owned()),
            ("limit", request.limit.to_string()),
        ];
        if request.semantic {
            query.push(("semantic", "true".into()));
        }
        if request.steps {
            query.push(("steps", "true".into()));
        }
        for (key, value) in [
            ("flow", &request.flow),
            ("status", &request.status),
            ("tenant", &request.tenant),
            ("since", &request.since),
            ("until", &request.until),
        ] {
            if let Some(v) = value {
                query.push((key, v.clone()));
            }
        }
        let answer = self.daemon.get("/v1/search", &query)?;
        serde_json::from_value(answer.clone())
            .with_context(|| format!("the daemon's search answer is not understood: {answer}"))
    }

    async fn index_rebuild(&self) -> Result<Value> {
        Ok(self.daemon.post("/v1/index/rebuild", None)?.1)
    }

    async fn index_status(&self) -> Result<Value> {
        self.get("/v1/index")
    }

    async fn close(&self) {}
}
