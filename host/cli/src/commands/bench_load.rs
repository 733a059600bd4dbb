//! The workloads of `weft bench`, as HTTP clients of a daemon: runs one at a
//! time, a closed-loop burst from concurrent clients, a backlog filled and
//! watched while it drains, and the daemon's Prometheus counters around each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// An HTTP client of the daemon under test.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl Client {
    /// A client of `url`, sending `token` if given.
    pub fn new(url: &str, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            agent,
            url: url.trim_end_matches('/').to_owned(),
            token,
        }
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    /// Submits a run of `flow`; its id.
    pub fn submit(&self, flow: &str, n: usize) -> Result<String> {
        let req = self.auth(self.agent.post(format!("{}/v1/runs", self.url)));
        let mut answer = req.send_json(json!({"flow": flow, "input": {"n": n}}))?;
        let status = answer.status();
        let body: Value = answer.body_mut().read_json()?;
        match body["run_id"].as_str() {
            Some(id) if status.is_success() => Ok(id.to_owned()),
            _ => bail!("submitting a run of `{flow}` failed ({status}): {body}"),
        }
    }

    /// Waits for run `id` to end; fails unless it succeeded.
    pub fn wait(&self, id: &str) -> Result<()> {
        loop {
            let req = self.auth(self.agent.get(format!("{}/v1/runs/{id}?wait=30", self.url)));
            let body: Value = req.call()?.body_mut().read_json()?;
            match body["run"]["status"].as_str() {
                Some("succeeded") => return Ok(()),
                Some("queued" | "running") => continue,
                _ => bail!("run {id} did not succeed: {body}"),
            }
        }
    }

    /// The daemon's metrics, as (name with labels, value) lines.
    pub fn metrics(&self) -> Result<Metrics> {
        let req = self.auth(self.agent.get(format!("{}/metrics", self.url)));
        let text = req.call()?.body_mut().read_to_string()?;
        Ok(Metrics(text))
    }
}

/// One scrape of `/metrics`.
pub(crate) struct Metrics(String);

impl Metrics {
    /// The sum of every sample of family `name` (all label sets).
    pub fn sum(&self, name: &str) -> f64 {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let family = series.split('{').next()?;
                (family == name).then(|| value.parse::<f64>().ok())?
            })
            .sum()
    }
}

/// Store commits and operations between two scrapes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct WriterDelta {
    /// Write transactions.
    pub commits: u64,
    /// Of those, synced to disk.
    pub durable_commits: u64,
    /// Operations acknowledged.
    pub operations: u64,
}

impl WriterDelta {
    /// The sum of several daemons' deltas (each store handle counts its own).
    pub fn sum(deltas: &[Self]) -> Self {
        deltas.iter().fold(Self::default(), |a, d| Self {
            commits: a.commits + d.commits,
            durable_commits: a.durable_commits + d.durable_commits,
            operations: a.operations + d.operations,
        })
    }

    /// The store's counters from `before` to `after`.
    pub fn between(before: &Metrics, after: &Metrics) -> Self {
        let d = |name: &str| (after.sum(name) - before.sum(name)).max(0.0) as u64;
        Self {
            commits: d("weft_store_commits_total"),
            durable_commits: d("weft_store_durable_commits_total"),
            operations: d("weft_store_operations_total"),
        }
    }

    /// Operations per commit (0 with no commit).
    pub fn ops_per_commit(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.operations as f64 / self.commits as f64
        }
    }
}

/// Latencies (ms) of `runs` runs of `flow`, each submitted once the one
/// before succeeded.
pub(crate) fn sequential(client: &Client, flow: &str, runs: usize) -> Result<Vec<f64>> {
    let mut lat = Vec::with_capacity(runs);
    for n in 0..runs {
        let started = Instant::now();
        let id = client.submit(flow, n)?;
        client.wait(&id)?;
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(lat)
}

/// `runs` runs of `flow` from `clients` threads, each submitting a run and
/// waiting for it before the next; the seconds the whole burst took.
pub(crate) fn burst(client: &Client, flow: &str, runs: usize, clients: usize) -> Result<f64> {
    burst_over(std::slice::from_ref(client), flow, runs, clients)
}

/// [`burst`] with the client threads spread over the daemons of `targets`
/// (thread `k` talks to `targets[k % n]`).
pub(crate) fn burst_over(
    targets: &[Client],
    flow: &str,
    runs: usize,
    clients: usize,
) -> Result<f64> {
    if targets.is_empty() {
        bail!("a burst needs a daemon");
    }
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..clients.max(1))
        .map(|k| {
            let client = targets[k % targets.len()].clone();
            let (next, flow) = (Arc::clone(&next), flow.to_owned());
            std::thread::spawn(move || -> Result<()> {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= runs {
                        return Ok(());
                    }
                    let id = client.submit(&flow, n)?;
                    client.wait(&id)?;
                }
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a bench client panicked"))??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Submits `runs` runs of `flow` from `clients` threads without waiting.
pub(crate) fn fill(client: &Client, flow: &str, runs: usize, clients: usize) -> Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (client, next, flow) = (client.clone(), Arc::clone(&next), flow.to_owned());
            std::thread::spawn(move || -> Result<()> {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= runs {
                        return Ok(());
                    }
                    client.submit(&flow, n)?;
                }
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a bench client panicked"))??;
    }
    Ok(())
}

/// Watches a daemon drain `depth` queued one-step runs: tasks per second from
/// its first completed task to an empty queue (sampled every 50 ms).
pub(crate) fn drain_rate(client: &Client, depth: usize, limit: Duration) -> Result<f64> {
    let deadline = Instant::now() + limit;
    let mut first: Option<(Instant, f64)> = None;
    loop {
        let m = client.metrics()?;
        let done = m.sum("weft_tasks_completed_total");
        let open = m.sum("weft_queue_depth") + m.sum("weft_queue_inflight");
        let now = Instant::now();
        if first.is_none() && done > 0.0 {
            first = Some((now, done));
        }
        if done >= depth as f64 && open == 0.0 {
            let (t0, d0) = first.context("the backlog drained before it was seen")?;
            let secs = now.duration_since(t0).as_secs_f64();
            return Ok(if secs > 0.0 { (done - d0) / secs } else { done });
        }
        if now > deadline {
            bail!("a backlog of {depth} did not drain within {limit:?} ({done} done)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `p` quantile (0..=1) of `sorted` (0 when empty).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
