//! `priority-fifo`: a pool policy that admits the highest priority first, then the
//! task that has been ready longest, then the smallest task id. Config is ignored.

wit_bindgen::generate!({ world: "pool-plugin", path: "../../wit" });

use exports::weft::plugin::pool_policy::Guest;
use weft::plugin::types::{Candidate, PoolState};

struct PriorityFifo;

impl Guest for PriorityFifo {
    fn select(_config: String, state: PoolState, mut candidates: Vec<Candidate>) -> Vec<String> {
        candidates.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.ready_at_ms.cmp(&b.ready_at_ms))
                .then_with(|| a.task_id.cmp(&b.task_id))
        });
        candidates
            .into_iter()
            .take(state.free_slots as usize)
            .map(|c| c.task_id)
            .collect()
    }
}

export!(PriorityFifo);
