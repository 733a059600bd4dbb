//! One circuit breaker per model. After `failures` transient failures in a
//! row the circuit opens: calls fail at once, without reaching the adapter,
//! until `cool_down` has passed on the engine's clock. Then it is half-open:
//! one trial call goes through (others still fail fast); its success closes
//! the circuit, a transient failure opens it again. A permanent answer (a 4xx)
//! means the provider is up: it closes the circuit too.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use weft_core::PluginError;
use weft_flow::CircuitConfig;

/// Where a model's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail fast.
    Open,
    /// One trial call may go through.
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open` or `half-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// A model's circuit, as [`Engine::circuits`](crate::Engine::circuits) shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitSnapshot {
    /// The model's name in `weft.yaml`.
    pub model: String,
    /// Its state now (an open circuit past its cool-down shows `half-open`).
    pub state: CircuitState,
    /// Transient failures in a row so far.
    pub consecutive_failures: u32,
    /// While open: when it half-opens, in ms since the Unix epoch.
    pub half_open_at_ms: Option<u64>,
}

/// How a call that went through ended, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An answer, or an error the provider gave (it is up).
    Healthy,
    /// A timeout, 429, 5xx, connection failure.
    Transient,
    /// Says nothing about the provider (refused by the host, bad input).
    Neutral,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until_ms: Option<u64>,
    trial_running: bool,
}

/// A call the breaker let through, until its end is recorded.
pub(crate) struct Admitted<'a> {
    circuits: &'a Circuits,
    model: String,
    config: CircuitConfig,
    recorded: bool,
}

impl Admitted<'_> {
    /// Records how the call ended.
    pub fn record(mut self, verdict: Verdict, now_ms: u64) {
        self.recorded = true;
        self.circuits
            .record(&self.model, &self.config, verdict, now_ms);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            // Cancelled mid-call: it says nothing about the provider, but a
            // half-open trial must not stay "under way" for ever.
            self.circuits
                .record(&self.model, &self.config, Verdict::Neutral, 0);
        }
    }
}

/// Every model's breaker.
#[derive(Debug, Default)]
pub(crate) struct Circuits {
    breakers: Mutex<BTreeMap<String, Breaker>>,
}

impl Circuits {
    /// Whether a call of `model` may go through now; `Err` is the fail-fast
    /// error. The call's end is told with [`Admitted::record`]; dropped
    /// without it (its step was cancelled), it frees the half-open trial.
    pub fn admit<'a>(
        &'a self,
        model: &str,
        config: &CircuitConfig,
        now_ms: u64,
    ) -> Result<Admitted<'a>, PluginError> {
        let mut all = self.lock();
        let b = all.entry(model.to_owned()).or_default();
        // Built only when admitted: dropping one takes the lock held here.
        let admitted = || Admitted {
            circuits: self,
            model: model.to_owned(),
            config: *config,
            recorded: false,
        };
        let Some(until) = b.open_until_ms else {
            return Ok(admitted());
        };
        if now_ms >= until && !b.trial_running {
            b.trial_running = true;
            return Ok(admitted());
        }
        let when = if now_ms >= until {
            "a trial call is under way".to_owned()
        } else {
            format!(
                "it half-opens in {} s (at {until} ms since the epoch)",
                (until - now_ms).div_ceil(1000)
            )
        };
        Err(PluginError::Transient(format!(
            "model `{model}`: circuit open after {} consecutive transient failures; {when}",
            b.failures.max(config.failures)
        )))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Breaker>> {
        self.breakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, model: &str, config: &CircuitConfig, verdict: Verdict, now_ms: u64) {
        let mut all = self.lock();
        let b = all.entry(model.to_owned()).or_default();
        let trial = std::mem::take(&mut b.trial_running);
        match verdict {
            Verdict::Healthy => {
                b.failures = 0;
                b.open_until_ms = None;
            }
            Verdict::Transient => {
                b.failures = b.failures.saturating_add(1);
                if trial || b.failures >= config.failures {
                    let cool = u64::try_from(config.cool_down.as_millis()).unwrap_or(u64::MAX);
                    b.open_until_ms = Some(now_ms.saturating_add(cool));
                    tracing::warn!(model, failures = b.failures, "circuit opened");
                }
            }
            Verdict::Neutral => {}
        }
    }

    /// Every model's circuit at `now_ms`, by model name.
    pub fn snapshot(&self, now_ms: u64) -> Vec<CircuitSnapshot> {
        let all = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        all.iter()
            .map(|(model, b)| {
                let state = match b.open_until_ms {
                    None => CircuitState::Closed,
                    Some(until) if now_ms >= until => CircuitState::HalfOpen,
                    Some(_) => CircuitState::Open,
                };
                CircuitSnapshot {
                    model: model.clone(),
                    state,
                    consecutive_failures: b.failures,
                    half_open_at_ms: b.open_until_ms.filter(|_| state == CircuitState::Open),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const CFG: CircuitConfig = CircuitConfig {
        failures: 2,
        cool_down: Duration::from_secs(10),
    };

    /// One call of `m` at `now` that ends with `verdict`.
    fn call(c: &Circuits, verdict: Verdict, now: u64) {
        c.admit("m", &CFG, now).unwrap().record(verdict, now);
    }

    #[test]
    fn opens_after_n_fails_fast_and_half_opens_for_one_trial() {
        let c = Circuits::default();
        call(&c, Verdict::Transient, 0);
        call(&c, Verdict::Transient, 0);
        let err = c.admit("m", &CFG, 1_000).err().unwrap().to_string();
        assert!(err.contains("circuit open after 2 consecutive"), "{err}");
        assert!(err.contains("half-opens in 9 s"), "{err}");
        assert_eq!(c.snapshot(1_000)[0].state, CircuitState::Open);
        assert_eq!(c.snapshot(10_000)[0].state, CircuitState::HalfOpen);
        let trial = c.admit("m", &CFG, 10_000).unwrap();
        let second = c.admit("m", &CFG, 10_000).err().unwrap().to_string();
        assert!(second.contains("a trial call is under way"), "{second}");
        trial.record(Verdict::Transient, 10_000);
        assert!(
            c.admit("m", &CFG, 19_999).is_err(),
            "a failed trial re-opens it"
        );
        call(&c, Verdict::Healthy, 20_000);
        assert_eq!(c.snapshot(20_000)[0].state, CircuitState::Closed);
        assert!(c.admit("m", &CFG, 20_000).is_ok());
    }

    #[test]
    fn a_healthy_answer_resets_the_count_and_neutral_ones_do_not_count() {
        let c = Circuits::default();
        call(&c, Verdict::Transient, 0);
        call(&c, Verdict::Healthy, 0);
        call(&c, Verdict::Transient, 0);
        call(&c, Verdict::Neutral, 0);
        assert!(c.admit("m", &CFG, 0).is_ok());
        assert_eq!(c.snapshot(0)[0].consecutive_failures, 1);
    }

    #[test]
    fn a_cancelled_trial_frees_the_half_open_slot() {
        let c = Circuits::default();
        call(&c, Verdict::Transient, 0);
        call(&c, Verdict::Transient, 0);
        drop(c.admit("m", &CFG, 10_000).unwrap());
        assert_eq!(c.snapshot(10_000)[0].state, CircuitState::HalfOpen);
        assert!(c.admit("m", &CFG, 10_000).is_ok(), "another trial may run");
    }
}
