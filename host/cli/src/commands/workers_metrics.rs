//! The supervisor's Prometheus metrics (restarts, workers wanted and running,
//! scaling decisions; each with the `instance` label), served at
//! `--metrics-listen`; and the reading of the daemon's queue from its own
//! `/metrics` (any token may read it: a worker token is enough).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use super::workers_scale::QueueSample;
use crate::client::http::{endpoint, token_from_env};

/// The supervisor's metrics, in one registry whose every metric carries
/// `instance`.
pub(crate) struct SupervisorMetrics {
    registry: Registry,
    /// `weft_workers_restarts_total`.
    pub restarts: IntCounter,
    /// `weft_workers_desired`.
    pub desired: IntGauge,
    /// `weft_workers_running`.
    pub running: IntGauge,
    /// `weft_workers_scale_decisions_total{direction}`.
    pub decisions: IntCounterVec,
}

impl SupervisorMetrics {
    /// Every metric at zero, labelled `instance`.
    pub(crate) fn new(instance: &str) -> Result<Self> {
        let labels = HashMap::from([("instance".to_owned(), instance.to_owned())]);
        let registry = Registry::new_custom(None, Some(labels))?;
        let restarts = IntCounter::new(
            "weft_workers_restarts_total",
            "Worker processes restarted after they died.",
        )?;
        let desired = IntGauge::new(
            "weft_workers_desired",
            "Worker processes the supervisor wants (its scaling target).",
        )?;
        let running = IntGauge::new("weft_workers_running", "Worker processes running now.")?;
        let decisions = IntCounterVec::new(
            Opts::new(
                "weft_workers_scale_decisions_total",
                "Scaling decisions taken, by direction (up, down).",
            ),
            &["direction"],
        )?;
        registry.register(Box::new(restarts.clone()))?;
        registry.register(Box::new(desired.clone()))?;
        registry.register(Box::new(running.clone()))?;
        registry.register(Box::new(decisions.clone()))?;
        for direction in ["up", "down"] {
            decisions.with_label_values(&[direction]);
        }
        Ok(Self {
            registry,
            restarts,
            desired,
            running,
            decisions,
        })
    }

    /// The Prometheus text format.
    pub(crate) fn render(&self) -> Result<String> {
        Ok(TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }
}

/// Serves `GET /metrics` of `metrics` on `addr` until the task is dropped.
pub(crate) async fn serve(addr: &str, metrics: Arc<SupervisorMetrics>) -> Result<()> {
    use axum::http::{StatusCode, header};
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = Arc::clone(&metrics);
            async move {
                match metrics.render() {
                    Ok(text) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        text,
                    ),
                    Err(e) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "text/plain")],
                        format!("{e:#}\n"),
                    ),
                }
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the supervisor's metrics server stopped: {e}");
        }
    });
    Ok(())
}

/// Reads `weft_queue_depth` (summed over pools) and `weft_queue_lag_seconds`
/// from the daemon's `/metrics`. Blocking: call it off the async threads.
pub(crate) fn read_queue(daemon: &str) -> Result<QueueSample> {
    let daemon = endpoint(daemon);
    let url = format!("{}/metrics", daemon.base);
    let mut request = daemon.agent.get(&url);
    if let Some(token) = token_from_env() {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request
        .call()
        .with_context(|| format!("cannot read {url}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(anyhow!("{url} answered {status}"));
    }
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("cannot read {url}"))?;
    Ok(parse_queue(&text))
}

/// The queue figures of a scrape in the Prometheus text format.
pub(crate) fn parse_queue(text: &str) -> QueueSample {
    let mut depth = 0.0;
    let mut lag = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        match (&line[..name_end], value) {
            ("weft_queue_depth", Some(v)) => depth += v,
            ("weft_queue_lag_seconds", Some(v)) => lag = f64::max(lag, v),
            _ => {}
        }
    }
    QueueSample {
        depth: depth as u64,
        lag: Duration::try_from_secs_f64(lag).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_summed_over_pools_and_labels() {
        let text = "# HELP weft_queue_depth x\n\
            weft_queue_depth{instance=\"a\",pool=\"default\"} 3\n\
            weft_queue_depth{instance=\"a\",pool=\"llm\"} 4\n\
            weft_queue_depth_other 100\n\
            weft_queue_lag_seconds{instance=\"a\"} 2.5\n";
        let got = parse_queue(text);
        assert_eq!(got.depth, 7);
        assert_eq!(got.lag, Duration::from_millis(2500));
    }

    #[test]
    fn every_metric_carries_the_instance() {
        let m = SupervisorMetrics::new("node-7").unwrap_or_else(|e| panic!("{e}"));
        m.restarts.inc();
        let text = m.render().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains("weft_workers_restarts_total{instance=\"node-7\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "weft_workers_scale_decisions_total{direction=\"up\",instance=\"node-7\"} 0"
            ),
            "{text}"
        );
    }
}
