//! Walking a store file for `check`: every row of every table read, every
//! JSON record decoded, every ledger's hash chain recomputed. Each table and
//! each ledger is read in a guarded call of its own, so one damaged part is a
//! problem of the report, not the end of the walk.

use crate::db::OrDb;
use std::collections::BTreeSet;
use std::path::Path;

use redb::{
    Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value,
};
use serde::de::DeserializeOwned;

use crate::guard::guarded;
use crate::ledger::{self, LedgerEvent};
use crate::tables::{self as t, decode};
use weft_store_api::StoreError;
use weft_store_api::{
    DeadLetter, HeadSignature, LeaseRecord, LockRecord, Override, RunRecord, ScheduleState,
    TaskRecord,
};

/// The rows of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    /// The table's name (see docs/storage.md).
    pub name: String,
    /// Rows read.
    pub rows: u64,
}

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Every table, with the rows read from it.
    pub tables: Vec<TableRows>,
    /// Runs whose record decodes.
    pub runs: u64,
    /// Ledgers (of runs and of `@` streams) whose chain and head verify.
    pub ledgers_verified: u64,
    /// Ledgers that do not verify.
    pub ledgers_broken: u64,
    /// Ledger events in the ledgers that verify.
    pub events: u64,
    /// The first problems found, in the order found.
    pub problems: Vec<String>,
    /// How many problems were found in all (more than `problems` holds when
    /// it was capped).
    pub problem_count: u64,
}

impl Walk {
    fn note(&mut self, max: usize, problem: String) {
        self.problem_count += 1;
        if self.problems.len() < max {
            self.problems.push(problem);
        }
    }
}

/// A check of a value's bytes: `Err` says why it is bad.
type Check = fn(&[u8]) -> Result<(), String>;

/// `bytes` decode as a `T` (JSON).
fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), String> {
    decode::<T>(bytes).map(drop).map_err(|e| e.to_string())
}

/// `text` is JSON.
fn json_text(text: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(text)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// What `e` says about the file, without the advice a damaged file's error
/// gives (a report is that advice).
pub(crate) fn detail(e: StoreError) -> String {
    match e {
        StoreError::Damaged { detail, .. } => detail,
        other => other.to_string(),
    }
}

/// Walks the database `db` (the file `path`), noting at most `max` problems.
pub(crate) fn walk(db: &impl ReadableDatabase, path: &Path, max: usize) -> Walk {
    let mut w = Walk::default();
    let rt = match guarded(path, || db.begin_read().db()) {
        Ok(rt) => rt,
        Err(e) => {
            w.note(max, format!("no read transaction: {}", detail(e)));
            return w;
        }
    };
    let rows = |w: &mut Walk, name: &str, r: Result<(u64, u64), StoreError>| match r {
        Ok((n, bad)) => {
            w.tables.push(TableRows {
                name: name.to_owned(),
                rows: n,
            });
            n - bad
        }
        Err(e) => {
            w.tables.push(TableRows {
                name: name.to_owned(),
                rows: 0,
            });
            w.note(max, format!("table `{name}` cannot be read: {}", detail(e)));
            0
        }
    };
    macro_rules! table {
        ($def:expr) => {
            table!($def, None)
        };
        ($def:expr, $check:expr) => {{
            let r = guarded(path, || rows_of(&rt, $def, $check, &mut w, max));
            rows(&mut w, $def.name(), r)
        }};
    }
    w.runs = table!(t::RUNS, Some(json::<RunRecord>));
    table!(t::RUNS_BY_TIME);
    table!(t::TASKS, Some(json::<TaskRecord>));
    table!(t::RUN_TASKS);
    table!(t::READY);
    table!(t::READY_BY_TENANT);
    table!(t::POOL_QUEUED);
    table!(t::DELAYED);
    table!(t::LEASES, Some(json::<LeaseRecord>));
    table!(t::LEASE_EXPIRY);
    table!(t::LEDGER, Some(json::<LedgerEvent>));
    table!(t::LEDGER_HEAD);
    table!(t::LEDGER_SIGNATURES, Some(json::<HeadSignature>));
    table!(t::JOURNAL, Some(json_text));
    table!(t::IDEMPOTENCY);
    table!(t::IDEMPOTENCY_EXPIRY);
    table!(t::DEAD_LETTERS, Some(json::<DeadLetter>));
    table!(t::ARTIFACTS, Some(json_text));
    table!(t::STEP_OUTPUTS, Some(json_text));
    table!(t::DAY_SEQ);
    table!(t::SCHEDULES, Some(json::<ScheduleState>));
    table!(t::LOCKS, Some(json::<LockRecord>));
    table!(t::LOCK_EXPIRY);
    table!(t::RUN_COST);
    table!(t::COST_TENANT_DAY);
    table!(t::COST_POOL_DAY);
    table!(t::COST_DETAIL);
    table!(t::CHANGES);
    table!(t::OVERRIDES, Some(json::<Override>));
    table!(t::COUNTERS);
    verify_ledgers(&rt, path, &mut w, max);
    w
}

/// Reads every row of `def`, checking each value with `check`; the rows read
/// (a record that fails its check is a problem, and counted) and the bad ones.
fn rows_of<K: Key + 'static, V: Value + 'static>(
    rt: &ReadTransaction,
    def: TableDefinition<K, V>,
    check: Option<Check>,
    w: &mut Walk,
    max: usize,
) -> Result<(u64, u64), StoreError> {
    let table = match rt.open_table(def) {
        Ok(table) => table,
        // A store made by an older weft may lack a table; nothing to read.
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((0, 0)),
        Err(e) => return Err(crate::db::db_error(e.into())),
    };
    let (mut n, mut bad) = (0, 0);
    for entry in table.iter().db()? {
        let (k, v) = entry.db()?;
        n += 1;
        if let Some(check) = check
            && let Err(why) = check(V::as_bytes(&v.value()).as_ref())
        {
            bad += 1;
            w.note(
                max,
                format!("table `{}` key {:?}: {why}", def.name(), k.value()),
            );
        }
    }
    Ok((n, bad))
}

/// Recomputes the ledger of every run and stream that has a record or a head.
fn verify_ledgers(rt: &ReadTransaction, path: &Path, w: &mut Walk, max: usize) {
    let ids = guarded(path, || {
        let mut ids = BTreeSet::new();
        for entry in rt.open_table(t::RUNS).db()?.iter().db()? {
            ids.insert(entry.db()?.0.value().to_owned());
        }
        for entry in rt.open_table(t::LEDGER_HEAD).db()?.iter().db()? {
            ids.insert(entry.db()?.0.value().to_owned());
        }
        Ok(ids)
    });
    let ids = match ids {
        Ok(ids) => ids,
        Err(e) => {
            w.note(max, format!("the ledgers cannot be listed: {}", detail(e)));
            return;
        }
    };
    for id in ids {
        let report = guarded(path, || {
            let table = rt.open_table(t::LEDGER).db()?;
            let heads = rt.open_table(t::LEDGER_HEAD).db()?;
            let events = ledger::read_events(&table, &id)?;
            let head = heads.get(id.as_str()).db()?.map(|g| g.value());
            Ok(ledger::verify_events(&id, events, head))
        });
        match report {
            Ok(r) => match r.first_bad {
                None => {
                    w.ledgers_verified += 1;
                    w.events += r.events;
                }
                Some(bad) => {
                    w.ledgers_broken += 1;
                    w.note(
                        max,
                        format!("ledger of {id}: broken at seq {}: {}", bad.seq, bad.reason),
                    );
                }
            },
            Err(e) => {
                w.ledgers_broken += 1;
                w.note(max, format!("ledger of {id} cannot be read: {}", detail(e)));
            }
        }
    }
}
