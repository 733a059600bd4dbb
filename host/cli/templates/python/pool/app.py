"""{{name}}: a weft pool policy that admits the oldest ready tasks first (ties
by task id), as many as the pool has free slots."""

from typing import List

from wit_world import exports
from wit_world.imports.types import Candidate, PoolState


class PoolPolicy(exports.PoolPolicy):
    def select(self, config: str, state: PoolState, candidates: List[Candidate]) -> List[str]:
        oldest = sorted(candidates, key=lambda c: (c.ready_at_ms, c.task_id))
        return [c.task_id for c in oldest[: state.free_slots]]
