//! `{{name}}`: a weft pool policy that admits the oldest ready tasks first
//! (ties by task id), as many as the pool has free slots.

wit_bindgen::generate!({ world: "pool-plugin", path: "wit" });

use exports::weft::plugin::pool_policy::Guest;
use weft::plugin::types::{Candidate, PoolState};

struct Plugin;

impl Guest for Plugin {
    fn select(_config: String, state: PoolState, mut candidates: Vec<Candidate>) -> Vec<String> {
        candidates.sort_by(|a, b| {
            (a.ready_at_ms, &a.task_id).cmp(&(b.ready_at_ms, &b.task_id))
        });
        candidates
            .into_iter()
            .take(state.free_slots as usize)
            .map(|c| c.task_id)
            .collect()
    }
}

export!(Plugin);
