//! The operators' locks (as redb's `ops::lock`): a named mutex with a TTL and
//! a fencing token from the `lock_tokens` counter. The key is the primary
//! key of `op_locks`: two acquires of a free lock race on the insert, and the
//! loser runs again and finds the lock held.

use tokio_postgres::Row;
use weft_store_api::{LockAcquire, LockRecord, MAX_LOCK_KEY, MAX_LOCK_OWNER, StoreError};

use crate::conv::{i, u};
use crate::ops::common::bump;
use crate::tx::Tx;

/// Counter: the last lock token handed out.
pub(crate) const LOCK_TOKENS: &str = "lock_tokens";

/// The columns [`lock_from`] reads.
pub(crate) const LOCK_COLS: &str = "key, owner, token, acquired_ms, expires_ms";

/// A lock from a row of [`LOCK_COLS`].
pub(crate) fn lock_from(r: &Row) -> LockRecord {
    LockRecord {
        key: r.get(0),
        owner: r.get(1),
        token: u(r.get(2)),
        acquired_ms: u(r.get(3)),
        expires_ms: u(r.get(4)),
    }
}

/// Checks a lock key: 1 to [`MAX_LOCK_KEY`] bytes of `[A-Za-z0-9._:/-]`.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/');
    if key.is_empty() || key.len() > MAX_LOCK_KEY || !key.chars().all(allowed) {
        return Err(StoreError::Invalid(format!(
            "lock key {key:?}: expected 1 to {MAX_LOCK_KEY} letters, digits, `.`, `_`, `-`, `:` or `/`"
        )));
    }
    Ok(())
}

fn check_owner_and_ttl(owner: &str, ttl_ms: u64) -> Result<(), StoreError> {
    if owner.trim().is_empty() || owner.len() > MAX_LOCK_OWNER {
        return Err(StoreError::Invalid(format!(
            "lock owner {owner:?}: expected a name of 1 to {MAX_LOCK_OWNER} bytes"
        )));
    }
    if ttl_ms == 0 {
        return Err(StoreError::Invalid(
            "a lock's time to live must be at least 1 ms".into(),
        ));
    }
    Ok(())
}

/// Takes the lock `key` for `owner` until `now + ttl_ms` (see
/// `LockStore::lock_acquire`); expired locks are removed first.
pub(crate) async fn acquire(
    t: &Tx<'_>,
    key: &str,
    owner: &str,
    ttl_ms: u64,
    now: u64,
) -> Result<LockAcquire, StoreError> {
    check_key(key)?;
    check_owner_and_ttl(owner, ttl_ms)?;
    t.exec("DELETE FROM op_locks WHERE expires_ms <= $1", &[&i(now)])
        .await?;
    let expires_ms = now.saturating_add(ttl_ms);
    let held = t
        .row(
            &format!("SELECT {LOCK_COLS} FROM op_locks WHERE key = $1 FOR UPDATE"),
            &[&key],
        )
        .await?
        .map(|r| lock_from(&r));
    if let Some(mut held) = held {
        if held.owner != owner {
            return Ok(LockAcquire::Held {
                owner: held.owner,
                expires_ms: held.expires_ms,
            });
        }
        held.expires_ms = expires_ms;
        t.exec(
            "UPDATE op_locks SET expires_ms = $2 WHERE key = $1",
            &[&key, &i(expires_ms)],
        )
        .await?;
        return Ok(LockAcquire::Acquired {
            lock: held,
            renewed: true,
        });
    }
    let lock = LockRecord {
        key: key.to_owned(),
        owner: owner.to_owned(),
        token: bump(t, LOCK_TOKENS, 1).await?,
        acquired_ms: now,
        expires_ms,
    };
    t.exec(
        &format!("INSERT INTO op_locks ({LOCK_COLS}) VALUES ($1, $2, $3, $4, $5)"),
        &[
            &lock.key,
            &lock.owner,
            &i(lock.token),
            &i(lock.acquired_ms),
            &i(lock.expires_ms),
        ],
    )
    .await?;
    Ok(LockAcquire::Acquired {
        lock,
        renewed: false,
    })
}

/// Releases the lock `key` held with `token`; refusals write nothing.
pub(crate) async fn release(
    t: &Tx<'_>,
    key: &str,
    token: u64,
    now: u64,
) -> Result<LockRecord, StoreError> {
    check_key(key)?;
    let held = t
        .row(
            &format!("SELECT {LOCK_COLS} FROM op_locks WHERE key = $1 FOR UPDATE"),
            &[&key],
        )
        .await?
        .map(|r| lock_from(&r))
        .filter(|l| l.is_live(now));
    let Some(held) = held else {
        return Err(StoreError::LockNotHeld {
            key: key.to_owned(),
        });
    };
    if held.token != token {
        return Err(StoreError::LockTokenMismatch {
            key: key.to_owned(),
            presented: token,
            owner: held.owner,
        });
    }
    t.exec("DELETE FROM op_locks WHERE key = $1", &[&key])
        .await?;
    Ok(held)
}
