// {{name}}: a weft pool policy that admits the oldest ready tasks first (ties
// by task id), as many as the pool has free slots. `readyAtMs` is a u64, so a
// BigInt.

export const poolPolicy = {
  select(config, state, candidates) {
    const oldest = [...candidates].sort((a, b) => {
      if (a.readyAtMs !== b.readyAtMs) {
        return a.readyAtMs < b.readyAtMs ? -1 : 1;
      }
      return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
    });
    return oldest.slice(0, state.freeSlots).map((c) => c.taskId);
  },
};
