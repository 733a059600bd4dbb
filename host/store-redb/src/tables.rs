//! The redb tables (see `docs/storage.md` for the layout) and the set of them a
//! write batch opens once and hands to every operation.

use crate::db::OrDb;
use redb::{ReadableDatabase, Table, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use weft_store_api::StoreError;

/// Run id → `RunRecord` (JSON).
pub const RUNS: TableDefinition<&str, &[u8]> = TableDefinition::new("runs");
/// (created ms, run id) → (): runs in submission order.
pub const RUNS_BY_TIME: TableDefinition<(u64, &str), ()> = TableDefinition::new("runs_by_time");
/// Task id → `TaskRecord` (JSON).
pub const TASKS: TableDefinition<u64, &[u8]> = TableDefinition::new("tasks");
/// (run id, task id) → (): the tasks of a run.
pub const RUN_TASKS: TableDefinition<(&str, u64), ()> = TableDefinition::new("run_tasks");
/// (pool, u32::MAX - priority, ready_at, task id) → (): the ready queue.
pub const READY: TableDefinition<(&str, u32, u64, u64), ()> = TableDefinition::new("ready");
/// (pool, tenant, u32::MAX - priority, ready_at, task id) → (): the ready
/// queue again, per tenant, so admission reads the head of each tenant's queue
/// without reading past another tenant's flood (see `ops::ready_index`).
pub const READY_BY_TENANT: TableDefinition<(&str, &str, u32, u64, u64), ()> =
    TableDefinition::new("ready_by_tenant");
/// Pool → how many of its tasks are in the ready queue.
pub const POOL_QUEUED: TableDefinition<&str, u64> = TableDefinition::new("pool_queued");
/// (ready_at, task id) → (): tasks waiting out a retry back-off.
pub const DELAYED: TableDefinition<(u64, u64), ()> = TableDefinition::new("delayed");
/// Task id → `LeaseRecord` (JSON).
pub const LEASES: TableDefinition<u64, &[u8]> = TableDefinition::new("leases");
/// (expires_at, task id) → (): leases by expiry.
pub const LEASE_EXPIRY: TableDefinition<(u64, u64), ()> = TableDefinition::new("lease_expiry");
/// (run id, seq) → `StoredEvent` (JSON).
pub const LEDGER: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("ledger");
/// Run id → (last seq, last hash).
pub const LEDGER_HEAD: TableDefinition<&str, (u64, [u8; 32])> = TableDefinition::new("ledger_head");
/// (run id, seq) → `HeadSignature` (JSON): signed heads of a run's ledger
/// (see `head_signatures`).
pub const LEDGER_SIGNATURES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("ledger_signatures");
/// (run id, step id, call index) → model call answer (JSON text).
pub const JOURNAL: TableDefinition<(&str, &str, u32), &str> = TableDefinition::new("journal");
/// Idempotency key → (run id, expires_at).
pub const IDEMPOTENCY: TableDefinition<&str, (&str, u64)> = TableDefinition::new("idempotency");
/// (expires_at, idempotency key) → (): keys by expiry, so purging the expired
/// ones is a range scan.
pub const IDEMPOTENCY_EXPIRY: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("idempotency_expiry");
/// Task id → `DeadLetter` (JSON).
pub const DEAD_LETTERS: TableDefinition<u64, &[u8]> = TableDefinition::new("dead_letters");
/// (run id, key) → artifact (JSON text).
pub const ARTIFACTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("artifacts");
/// (run id, step id) → step output (JSON text).
pub const STEP_OUTPUTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("step_outputs");
/// (id prefix, yyyy-mm-dd) → last run sequence number of that day.
pub const DAY_SEQ: TableDefinition<(&str, &str), u64> = TableDefinition::new("day_seq");
/// (flow id, schedule key) → `ScheduleState` (JSON).
pub const SCHEDULES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("schedules");
/// Lock key → `LockRecord` (JSON): the operators' locks (see `ops::lock`).
pub const LOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("locks");
/// (expires_ms, lock key) → (): locks by expiry, so reaping is a range scan.
pub const LOCK_EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("lock_expiry");
/// Run id → (model calls charged, micro-dollars): a run's cost.
pub const RUN_COST: TableDefinition<&str, (u64, u64)> = TableDefinition::new("run_cost");
/// (UTC day `yyyy-mm-dd`, tenant) → micro-dollars charged.
pub const COST_TENANT_DAY: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("cost_tenant_day");
/// (UTC day, pool) → micro-dollars charged.
pub const COST_POOL_DAY: TableDefinition<(&str, &str), u64> = TableDefinition::new("cost_pool_day");
/// Key of [`COST_DETAIL`]: (UTC day, tenant, pool, model).
pub type CostKey<'a> = (&'a str, &'a str, &'a str, &'a str);
/// Value of [`COST_DETAIL`]: (calls, input tokens, output tokens, micro-dollars).
pub type CostTotals = (u64, u64, u64, u64);
/// (UTC day, tenant, pool, model) → (calls, input tokens, output tokens,
/// micro-dollars).
pub const COST_DETAIL: TableDefinition<CostKey<'static>, CostTotals> =
    TableDefinition::new("cost_detail");
/// Global change sequence → run id: one row per ledger append (streams whose
/// id starts with `@` excepted), written in the same transaction. Readers such
/// as the search index follow it with `Store::changes_since`.
pub const CHANGES: TableDefinition<u64, &str> = TableDefinition::new("changes");
/// Override key (`pool:<name>`, `retry:<flow>`) → `Override` (JSON): a
/// component swapped in at run time (see `swaps`).
pub const OVERRIDES: TableDefinition<&str, &[u8]> = TableDefinition::new("overrides");
/// (pool, task id) → `()`: the tasks of a pool that hold a lease, so that a
/// conditional lease counts a pool's leases in a few key reads (written with
/// [`LEASES`]).
pub const POOL_LEASES: TableDefinition<(&str, u64), ()> = TableDefinition::new("pool_leases");
/// Pool → its rate-limit token bucket (micro-tokens, ms), taken from by
/// conditional leases.
pub const POOL_BUCKETS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("pool_buckets");
/// Reservation id → `Reservation` (JSON): budget held by a model call in flight.
pub const RESERVATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("reservations");
/// (expires_at ms, reservation id) → `()`: reservations in the order they lapse.
pub const RESERVATION_EXPIRY: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("reservation_expiry");
/// (UTC day, tenant) → micro-dollars reserved by calls in flight.
pub const RESERVED_TENANT_DAY: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("reserved_tenant_day");
/// (UTC day, pool) → micro-dollars reserved by calls in flight.
pub const RESERVED_POOL_DAY: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("reserved_pool_day");
/// Counter name → value (`next_task_id`, `stale_refusals`, `redelivered`,
/// `schedule_fires`, `epoch`, `lock_tokens`).
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// Every table, open in one write transaction.
pub struct Tables<'t> {
    /// See [`RUNS`].
    pub runs: Table<'t, &'static str, &'static [u8]>,
    /// See [`RUNS_BY_TIME`].
    pub runs_by_time: Table<'t, (u64, &'static str), ()>,
    /// See [`TASKS`].
    pub tasks: Table<'t, u64, &'static [u8]>,
    /// See [`RUN_TASKS`].
    pub run_tasks: Table<'t, (&'static str, u64), ()>,
    /// See [`READY`].
    pub ready: Table<'t, (&'static str, u32, u64, u64), ()>,
    /// See [`READY_BY_TENANT`].
    pub ready_by_tenant: Table<'t, (&'static str, &'static str, u32, u64, u64), ()>,
    /// See [`POOL_QUEUED`].
    pub pool_queued: Table<'t, &'static str, u64>,
    /// See [`DELAYED`].
    pub delayed: Table<'t, (u64, u64), ()>,
    /// See [`LEASES`].
    pub leases: Table<'t, u64, &'static [u8]>,
    /// See [`LEASE_EXPIRY`].
    pub lease_expiry: Table<'t, (u64, u64), ()>,
    /// See [`LEDGER`].
    pub ledger: Table<'t, (&'static str, u64), &'static [u8]>,
    /// See [`LEDGER_HEAD`].
    pub ledger_head: Table<'t, &'static str, (u64, [u8; 32])>,
    /// See [`LEDGER_SIGNATURES`].
    pub ledger_signatures: Table<'t, (&'static str, u64), &'static [u8]>,
    /// See [`JOURNAL`].
    pub journal: Table<'t, (&'static str, &'static str, u32), &'static str>,
    /// See [`IDEMPOTENCY`].
    pub idempotency: Table<'t, &'static str, (&'static str, u64)>,
    /// See [`IDEMPOTENCY_EXPIRY`].
    pub idempotency_expiry: Table<'t, (u64, &'static str), ()>,
    /// See [`DEAD_LETTERS`].
    pub dead_letters: Table<'t, u64, &'static [u8]>,
    /// See [`ARTIFACTS`].
    pub artifacts: Table<'t, (&'static str, &'static str), &'static str>,
    /// See [`STEP_OUTPUTS`].
    pub step_outputs: Table<'t, (&'static str, &'static str), &'static str>,
    /// See [`DAY_SEQ`].
    pub day_seq: Table<'t, (&'static str, &'static str), u64>,
    /// See [`SCHEDULES`].
    pub schedules: Table<'t, (&'static str, &'static str), &'static [u8]>,
    /// See [`LOCKS`].
    pub locks: Table<'t, &'static str, &'static [u8]>,
    /// See [`LOCK_EXPIRY`].
    pub lock_expiry: Table<'t, (u64, &'static str), ()>,
    /// See [`CHANGES`].
    pub changes: Table<'t, u64, &'static str>,
    /// See [`COUNTERS`].
    pub counters: Table<'t, &'static str, u64>,
    /// See [`RUN_COST`].
    pub run_cost: Table<'t, &'static str, (u64, u64)>,
    /// See [`COST_TENANT_DAY`].
    pub cost_tenant_day: Table<'t, (&'static str, &'static str), u64>,
    /// See [`COST_POOL_DAY`].
    pub cost_pool_day: Table<'t, (&'static str, &'static str), u64>,
    /// See [`COST_DETAIL`].
    pub cost_detail: Table<'t, CostKey<'static>, CostTotals>,
    /// See [`OVERRIDES`].
    pub overrides: Table<'t, &'static str, &'static [u8]>,
    /// See [`POOL_LEASES`].
    pub pool_leases: Table<'t, (&'static str, u64), ()>,
    /// See [`POOL_BUCKETS`].
    pub pool_buckets: Table<'t, &'static str, (u64, u64)>,
    /// See [`RESERVATIONS`].
    pub reservations: Table<'t, u64, &'static [u8]>,
    /// See [`RESERVATION_EXPIRY`].
    pub reservation_expiry: Table<'t, (u64, u64), ()>,
    /// See [`RESERVED_TENANT_DAY`].
    pub reserved_tenant_day: Table<'t, (&'static str, &'static str), u64>,
    /// See [`RESERVED_POOL_DAY`].
    pub reserved_pool_day: Table<'t, (&'static str, &'static str), u64>,
}

impl<'t> Tables<'t> {
    /// Opens (creating on first use) every table in `tx`.
    pub fn open(tx: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            runs: tx.open_table(RUNS).db()?,
            runs_by_time: tx.open_table(RUNS_BY_TIME).db()?,
            tasks: tx.open_table(TASKS).db()?,
            run_tasks: tx.open_table(RUN_TASKS).db()?,
            ready: tx.open_table(READY).db()?,
            ready_by_tenant: tx.open_table(READY_BY_TENANT).db()?,
            pool_queued: tx.open_table(POOL_QUEUED).db()?,
            delayed: tx.open_table(DELAYED).db()?,
            leases: tx.open_table(LEASES).db()?,
            lease_expiry: tx.open_table(LEASE_EXPIRY).db()?,
            ledger: tx.open_table(LEDGER).db()?,
            ledger_head: tx.open_table(LEDGER_HEAD).db()?,
            ledger_signatures: tx.open_table(LEDGER_SIGNATURES).db()?,
            journal: tx.open_table(JOURNAL).db()?,
            idempotency: tx.open_table(IDEMPOTENCY).db()?,
            idempotency_expiry: tx.open_table(IDEMPOTENCY_EXPIRY).db()?,
            dead_letters: tx.open_table(DEAD_LETTERS).db()?,
            artifacts: tx.open_table(ARTIFACTS).db()?,
            step_outputs: tx.open_table(STEP_OUTPUTS).db()?,
            day_seq: tx.open_table(DAY_SEQ).db()?,
            schedules: tx.open_table(SCHEDULES).db()?,
            locks: tx.open_table(LOCKS).db()?,
            lock_expiry: tx.open_table(LOCK_EXPIRY).db()?,
            changes: tx.open_table(CHANGES).db()?,
            counters: tx.open_table(COUNTERS).db()?,
            run_cost: tx.open_table(RUN_COST).db()?,
            cost_tenant_day: tx.open_table(COST_TENANT_DAY).db()?,
            cost_pool_day: tx.open_table(COST_POOL_DAY).db()?,
            cost_detail: tx.open_table(COST_DETAIL).db()?,
            overrides: tx.open_table(OVERRIDES).db()?,
            pool_leases: tx.open_table(POOL_LEASES).db()?,
            pool_buckets: tx.open_table(POOL_BUCKETS).db()?,
            reservations: tx.open_table(RESERVATIONS).db()?,
            reservation_expiry: tx.open_table(RESERVATION_EXPIRY).db()?,
            reserved_tenant_day: tx.open_table(RESERVED_TENANT_DAY).db()?,
            reserved_pool_day: tx.open_table(RESERVED_POOL_DAY).db()?,
        })
    }
}

/// Creates every table, so that read transactions never meet a missing one.
pub fn create_all(db: &redb::Database) -> Result<(), StoreError> {
    let mut tx = db.begin_write().db()?;
    tx.set_durability(redb::Durability::Immediate).db()?;
    drop(Tables::open(&tx)?);
    crate::ops::ready_index::rebuild(&tx)?;
    crate::ops::pool_leases::rebuild(&tx)?;
    tx.commit().db()?;
    // A read straight after open must see the tables.
    drop(db.begin_read().db()?);
    Ok(())
}

/// Counter: 1 once every key of [`IDEMPOTENCY`] has its [`IDEMPOTENCY_EXPIRY`]
/// entry (stores written before that table existed get them at their first open).
const IDEMPOTENCY_INDEXED: &str = "idempotency_indexed";

/// Gives every idempotency key its expiry entry, once per store (a store made
/// before [`IDEMPOTENCY_EXPIRY`] existed has keys without one).
pub fn index_idempotency(db: &redb::Database) -> Result<(), StoreError> {
    use redb::ReadableTable;
    let indexed = db
        .begin_read()
        .db()?
        .open_table(COUNTERS)
        .db()?
        .get(IDEMPOTENCY_INDEXED)
        .db()?
        .is_some_and(|g| g.value() == 1);
    if indexed {
        return Ok(());
    }
    let mut tx = db.begin_write().db()?;
    tx.set_durability(redb::Durability::Immediate).db()?;
    {
        let keys = tx.open_table(IDEMPOTENCY).db()?;
        let mut expiry = tx.open_table(IDEMPOTENCY_EXPIRY).db()?;
        for entry in keys.iter().db()? {
            let (key, value) = entry.db()?;
            let (_, expires_at) = value.value();
            expiry.insert((expires_at, key.value()), ()).db()?;
        }
        tx.open_table(COUNTERS)
            .db()?
            .insert(IDEMPOTENCY_INDEXED, 1)
            .db()?;
    }
    tx.commit().db()?;
    Ok(())
}

/// The counter of opens, bumped durably by [`open_epoch`].
const EPOCH: &str = "epoch";

/// Counts this open of the database (durably, before any lease) and returns the
/// count: every process that opens the store gets a new epoch.
pub fn open_epoch(db: &redb::Database) -> Result<u64, StoreError> {
    let mut tx = db.begin_write().db()?;
    tx.set_durability(redb::Durability::Immediate).db()?;
    let epoch = {
        let mut counters = tx.open_table(COUNTERS).db()?;
        let epoch = redb::ReadableTable::get(&counters, EPOCH)
            .db()?
            .map_or(0, |g| g.value())
            + 1;
        counters.insert(EPOCH, epoch).db()?;
        epoch
    };
    tx.commit().db()?;
    Ok(epoch)
}

/// Encodes a record as JSON bytes.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    Ok(serde_json::to_vec(value)?)
}

/// Decodes a record stored as JSON bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    Ok(serde_json::from_slice(bytes)?)
}
