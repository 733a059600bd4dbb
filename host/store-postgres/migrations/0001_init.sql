-- weft's PostgreSQL store, version 1: every table of the store contract.
-- Text keys use the "C" collation so that they sort by bytes, as redb's do.
-- JSON values are kept as text (serde_json's own bytes): jsonb would reorder
-- keys and reformat numbers.

CREATE TABLE counters (
    name text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
);

CREATE TABLE runs (
    id text COLLATE "C" PRIMARY KEY,
    flow_id text COLLATE "C" NOT NULL,
    flow_version text NOT NULL,
    tenant text COLLATE "C" NOT NULL,
    status text NOT NULL,
    input text NOT NULL,
    output text,
    error text,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    priority bigint NOT NULL,
    cost_calls bigint NOT NULL DEFAULT 0,
    cost_input_tokens bigint NOT NULL DEFAULT 0,
    cost_output_tokens bigint NOT NULL DEFAULT 0,
    cost_micro_usd bigint NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_time ON runs (created_ms, id);

CREATE TABLE day_seq (
    prefix text COLLATE "C" NOT NULL,
    day text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (prefix, day)
);

CREATE SEQUENCE task_ids;

-- A task and its lease in one row: the lease columns are set while the task
-- is `leased` and null otherwise.
CREATE TABLE tasks (
    id bigint PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs (id),
    step_id text COLLATE "C" NOT NULL,
    attempt bigint NOT NULL,
    pool text COLLATE "C" NOT NULL,
    priority bigint NOT NULL,
    ready_at bigint NOT NULL,
    state text NOT NULL,
    last_token bigint NOT NULL,
    error text,
    tenant text COLLATE "C" NOT NULL,
    lease_owner text,
    lease_token bigint,
    lease_expires_at bigint,
    leased_at bigint
);
CREATE INDEX tasks_of_run ON tasks (run_id, id);
CREATE INDEX tasks_ready ON tasks (priority DESC, ready_at, id) WHERE state = 'ready';
CREATE INDEX tasks_ready_pool ON tasks (pool, priority DESC, ready_at, id) WHERE state = 'ready';
CREATE INDEX tasks_ready_tenant ON tasks (pool, tenant, priority DESC, ready_at, id)
    WHERE state = 'ready';
CREATE INDEX tasks_delayed ON tasks (ready_at, id) WHERE state = 'delayed';
CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_at, id) WHERE state = 'leased';
CREATE INDEX tasks_leased_pool ON tasks (pool, lease_expires_at) WHERE state = 'leased';

-- One row per pool that was ever leased conditionally: the row `lease_task`
-- locks (so concurrent daemons serialise per pool) and the token bucket.
CREATE TABLE pools (
    pool text COLLATE "C" PRIMARY KEY,
    bucket_micro bigint,
    bucket_at bigint
);

CREATE TABLE step_outputs (
    run_id text COLLATE "C" NOT NULL,
    step_id text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (run_id, step_id)
);

CREATE TABLE artifacts (
    run_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE idempotency (
    key text COLLATE "C" PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency (expires_at, key);

CREATE TABLE dead_letters (
    task_id bigint PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL,
    step_id text NOT NULL,
    reason text NOT NULL,
    time_ms bigint NOT NULL
);

CREATE TABLE ledger (
    run_id text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    time_ms bigint NOT NULL,
    kind text NOT NULL,
    payload text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- The last event of each run (or `@` stream); appends lock this row.
CREATE TABLE ledger_head (
    run_id text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL,
    hash bytea NOT NULL
);

CREATE TABLE journal (
    run_id text COLLATE "C" NOT NULL,
    step_id text COLLATE "C" NOT NULL,
    idx bigint NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (run_id, step_id, idx)
);

-- The change feed. Its seq comes from the `change_seq` counter, taken at the
-- end of each transaction (the counter row stays locked until the commit), so
-- seqs are gap-free and in commit order; a BIGSERIAL would be neither.
CREATE TABLE changes (
    seq bigint PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL
);

CREATE TABLE schedules (
    flow_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    last_fire_ms bigint NOT NULL,
    paused boolean NOT NULL,
    fires bigint NOT NULL,
    last_run text,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    PRIMARY KEY (flow_id, key)
);

CREATE TABLE op_locks (
    key text COLLATE "C" PRIMARY KEY,
    owner text NOT NULL,
    token bigint NOT NULL,
    acquired_ms bigint NOT NULL,
    expires_ms bigint NOT NULL
);
CREATE INDEX op_locks_expiry ON op_locks (expires_ms);

-- Charges (micro_usd) and live reservations (reserved) per UTC day: the rows
-- a budget reservation locks.
CREATE TABLE cost_tenant_day (
    day text COLLATE "C" NOT NULL,
    tenant text COLLATE "C" NOT NULL,
    micro_usd bigint NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, tenant)
);

CREATE TABLE cost_pool_day (
    day text COLLATE "C" NOT NULL,
    pool text COLLATE "C" NOT NULL,
    micro_usd bigint NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, pool)
);

CREATE TABLE cost_detail (
    day text COLLATE "C" NOT NULL,
    tenant text COLLATE "C" NOT NULL,
    pool text COLLATE "C" NOT NULL,
    model text COLLATE "C" NOT NULL,
    calls bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    micro_usd bigint NOT NULL,
    PRIMARY KEY (day, tenant, pool, model)
);

CREATE SEQUENCE reservation_ids;

CREATE TABLE reservations (
    id bigint PRIMARY KEY,
    day text COLLATE "C" NOT NULL,
    tenant text COLLATE "C" NOT NULL,
    pool text COLLATE "C" NOT NULL,
    micro_usd bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX reservations_expiry ON reservations (expires_at, id);

CREATE TABLE overrides (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
