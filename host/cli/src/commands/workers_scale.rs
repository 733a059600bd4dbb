//! The autoscaling rule of `weft workers start --min A --max B`, as a pure
//! function: from the queue (ready tasks, their lag) and the time pressure or
//! idleness has lasted, how many workers there should be. docs/deploy.md states
//! the same rule for the Kubernetes autoscalers (deploy/kubernetes/), so a
//! supervisor and a cluster scale alike:
//!
//! - pressure: ready tasks per worker slot above `up_depth_per_slot`, or the
//!   oldest ready task older than `up_lag`; held for `up_after` → scale up to
//!   `ceil(depth / (slots_per_worker × up_depth_per_slot))`, at least one more,
//!   at most `max`;
//! - idle: no ready task; held for `down_after` → one worker fewer, at least
//!   `min` (and the idle clock starts again);
//! - otherwise hold.

use std::time::Duration;

/// The rule's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaleRule {
    /// Never fewer workers.
    pub min: usize,
    /// Never more workers.
    pub max: usize,
    /// Tasks one worker runs at once.
    pub slots_per_worker: usize,
    /// Pressure: ready tasks per slot above this.
    pub up_depth_per_slot: f64,
    /// Pressure: the oldest ready task older than this.
    pub up_lag: Duration,
    /// How long pressure must last before scaling up.
    pub up_after: Duration,
    /// How long the queue must stay empty before each step down.
    pub down_after: Duration,
}

/// One reading of the daemon's queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QueueSample {
    /// Ready tasks (`weft_queue_depth`, all pools).
    pub depth: u64,
    /// Age of the oldest ready task (`weft_queue_lag_seconds`).
    pub lag: Duration,
}

/// What the rule remembers between readings: since when (ms) pressure or
/// idleness has lasted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScaleMemory {
    /// Pressure seen without a break since then.
    pub pressure_since: Option<u64>,
    /// An empty queue seen without a break since then.
    pub idle_since: Option<u64>,
}

/// The rule's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Keep the current number.
    Hold,
    /// Go to `to` workers, for `reason`.
    Scale {
        /// The new number of workers.
        to: usize,
        /// Why, for the log.
        reason: String,
    },
}

/// Applies the rule to `current` workers and a reading taken at `now_ms`;
/// returns the updated memory and the decision. A `current` outside
/// `min..=max` is brought back inside first.
pub(crate) fn decide(
    rule: &ScaleRule,
    memory: ScaleMemory,
    current: usize,
    sample: QueueSample,
    now_ms: u64,
) -> (ScaleMemory, Decision) {
    let (min, max) = (rule.min, rule.max.max(rule.min));
    if current < min || current > max {
        let to = current.clamp(min, max);
        let reason = format!("{current} is outside {min}..={max}");
        return (ScaleMemory::default(), Decision::Scale { to, reason });
    }
    let slots = (current.max(1) * rule.slots_per_worker.max(1)) as f64;
    let per_slot = sample.depth as f64 / slots;
    let deep = per_slot > rule.up_depth_per_slot;
    let late = sample.lag > rule.up_lag;
    if deep || late {
        let since = memory.pressure_since.unwrap_or(now_ms);
        let held = ScaleMemory {
            pressure_since: Some(since),
            idle_since: None,
        };
        if now_ms.saturating_sub(since) < millis(rule.up_after) || current >= max {
            return (held, Decision::Hold);
        }
        let per_worker = rule.slots_per_worker.max(1) as f64 * rule.up_depth_per_slot.max(0.001);
        let wanted = (sample.depth as f64 / per_worker).ceil() as usize;
        let to = wanted.max(current + 1).min(max);
        let reason = format!(
            "{:.1} ready per slot (above {}), lag {:.1}s (limit {:.1}s) for {:.1}s",
            per_slot,
            rule.up_depth_per_slot,
            sample.lag.as_secs_f64(),
            rule.up_lag.as_secs_f64(),
            now_ms.saturating_sub(since) as f64 / 1000.0
        );
        // Pressure must last again before the next step up.
        let next = ScaleMemory {
            pressure_since: Some(now_ms),
            idle_since: None,
        };
        return (next, Decision::Scale { to, reason });
    }
    if sample.depth > 0 {
        return (ScaleMemory::default(), Decision::Hold);
    }
    let since = memory.idle_since.unwrap_or(now_ms);
    let idle_for = now_ms.saturating_sub(since);
    if idle_for < millis(rule.down_after) || current <= min {
        let held = ScaleMemory {
            pressure_since: None,
            idle_since: Some(since),
        };
        return (held, Decision::Hold);
    }
    let reason = format!("queue empty for {:.1}s", idle_for as f64 / 1000.0);
    let next = ScaleMemory {
        pressure_since: None,
        idle_since: Some(now_ms),
    };
    (
        next,
        Decision::Scale {
            to: current - 1,
            reason,
        },
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ScaleRule {
        ScaleRule {
            min: 1,
            max: 6,
            slots_per_worker: 2,
            up_depth_per_slot: 1.0,
            up_lag: Duration::from_secs(30),
            up_after: Duration::from_secs(10),
            down_after: Duration::from_secs(60),
        }
    }

    fn sample(depth: u64, lag_s: u64) -> QueueSample {
        QueueSample {
            depth,
            lag: Duration::from_secs(lag_s),
        }
    }

    fn to(decision: &Decision) -> Option<usize> {
        match decision {
            Decision::Hold => None,
            Decision::Scale { to, .. } => Some(*to),
        }
    }

    #[test]
    fn pressure_must_last_before_scaling_up() {
        let r = rule();
        let (m, d) = decide(&r, ScaleMemory::default(), 1, sample(8, 0), 0);
        assert_eq!(d, Decision::Hold);
        assert_eq!(m.pressure_since, Some(0));
        let (m, d) = decide(&r, m, 1, sample(8, 0), 9_999);
        assert_eq!(d, Decision::Hold);
        let (m, d) = decide(&r, m, 1, sample(8, 0), 10_000);
        // 8 ready / (2 slots × 1 per slot) = 4 workers.
        assert_eq!(to(&d), Some(4));
        assert_eq!(m.pressure_since, Some(10_000), "the clock starts again");
    }

    #[test]
    fn a_break_in_pressure_resets_the_clock() {
        let r = rule();
        let (m, _) = decide(&r, ScaleMemory::default(), 1, sample(8, 0), 0);
        let (m, d) = decide(&r, m, 1, sample(1, 0), 5_000);
        assert_eq!((d, m.pressure_since), (Decision::Hold, None));
        let (_, d) = decide(&r, m, 1, sample(8, 0), 12_000);
        assert_eq!(d, Decision::Hold, "pressure began again at 12s");
    }

    #[test]
    fn lag_alone_is_pressure_and_scales_by_at_least_one() {
        let r = rule();
        let (m, _) = decide(&r, ScaleMemory::default(), 2, sample(1, 31), 0);
        let (_, d) = decide(&r, m, 2, sample(1, 31), 10_000);
        assert_eq!(to(&d), Some(3));
    }

    #[test]
    fn never_above_max_nor_below_min() {
        let r = rule();
        let (m, _) = decide(&r, ScaleMemory::default(), 1, sample(1_000, 0), 0);
        let (_, d) = decide(&r, m, 1, sample(1_000, 0), 10_000);
        assert_eq!(to(&d), Some(6));
        let (m, _) = decide(&r, ScaleMemory::default(), 6, sample(1_000, 0), 0);
        let (_, d) = decide(&r, m, 6, sample(1_000, 0), 20_000);
        assert_eq!(d, Decision::Hold, "already at max");
        let (m, _) = decide(&r, ScaleMemory::default(), 1, sample(0, 0), 0);
        let (_, d) = decide(&r, m, 1, sample(0, 0), 600_000);
        assert_eq!(d, Decision::Hold, "already at min");
        let (_, d) = decide(&r, ScaleMemory::default(), 9, sample(0, 0), 0);
        assert_eq!(to(&d), Some(6), "brought back inside the range");
        let (_, d) = decide(&r, ScaleMemory::default(), 0, sample(0, 0), 0);
        assert_eq!(to(&d), Some(1));
    }

    #[test]
    fn idle_steps_down_one_worker_per_period() {
        let r = rule();
        let (m, d) = decide(&r, ScaleMemory::default(), 3, sample(0, 0), 0);
        assert_eq!(d, Decision::Hold);
        let (m, d) = decide(&r, m, 3, sample(0, 0), 59_999);
        assert_eq!(d, Decision::Hold);
        let (m, d) = decide(&r, m, 3, sample(0, 0), 60_000);
        assert_eq!(to(&d), Some(2));
        let (m, d) = decide(&r, m, 2, sample(0, 0), 60_001);
        assert_eq!(d, Decision::Hold, "the next step waits a full period");
        let (_, d) = decide(&r, m, 2, sample(0, 0), 120_000);
        assert_eq!(to(&d), Some(1));
    }

    #[test]
    fn work_below_the_threshold_is_neither_pressure_nor_idle() {
        let r = rule();
        let (m, _) = decide(&r, ScaleMemory::default(), 3, sample(0, 0), 0);
        let (m, d) = decide(&r, m, 3, sample(2, 1), 30_000);
        assert_eq!((d, m), (Decision::Hold, ScaleMemory::default()));
        let (_, d) = decide(&r, m, 3, sample(0, 0), 70_000);
        assert_eq!(d, Decision::Hold, "idle began again at 70s");
    }
}
