//! The operators' locks: a named mutex with a time to live and a fencing token.
//!
//! A lock is free once `expires_ms <= now`. Every acquire first removes the
//! locks that have run out (a range scan of `lock_expiry`), so expired locks do
//! not pile up. Tokens come from the durable `lock_tokens` counter: every
//! acquire that takes a lock (new, or taken over after an expiry) gets a token
//! greater than every token handed out before, whatever the key; re-acquiring
//! a lock one already holds renews it and keeps its token.

use crate::db::OrDb;
use redb::ReadableTable;

use crate::ops::common::bump;
use crate::tables::{Tables, decode, encode};
use weft_store_api::StoreError;
use weft_store_api::{LockAcquire, LockRecord, MAX_LOCK_KEY, MAX_LOCK_OWNER};

/// Counter: the last lock token handed out.
pub const LOCK_TOKENS: &str = "lock_tokens";

/// Checks a lock key: 1 to [`MAX_LOCK_KEY`] bytes of `[A-Za-z0-9._:/-]`.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/');
    if key.is_empty() || key.len() > MAX_LOCK_KEY || !key.chars().all(allowed) {
        return Err(StoreError::Invalid(format!(
            "lock key {key:?}: expected 1 to {MAX_LOCK_KEY} letters, digits, `.`, `_`, `-`, `:` or `/`"
        )));
    }
    Ok(())
}

/// Checks an acquire's owner and time to live.
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

/// The stored lock of `key`, live or not.
pub fn get(t: &Tables<'_>, key: &str) -> Result<Option<LockRecord>, StoreError> {
    t.locks
        .get(key)
        .db()?
        .map(|g| decode(g.value()))
        .transpose()
}

/// Stores a lock and its expiry entry.
pub fn put(t: &mut Tables<'_>, lock: &LockRecord) -> Result<(), StoreError> {
    t.locks
        .insert(lock.key.as_str(), encode(lock)?.as_slice())
        .db()?;
    t.lock_expiry
        .insert((lock.expires_ms, lock.key.as_str()), ())
        .db()?;
    Ok(())
}

/// Removes a lock and its expiry entry.
pub fn remove(t: &mut Tables<'_>, lock: &LockRecord) -> Result<(), StoreError> {
    t.locks.remove(lock.key.as_str()).db()?;
    t.lock_expiry
        .remove((lock.expires_ms, lock.key.as_str()))
        .db()?;
    Ok(())
}

/// Removes every lock that has run out at `now`; returns how many.
fn reap_expired(t: &mut Tables<'_>, now: u64) -> Result<usize, StoreError> {
    let mut expired = Vec::new();
    for entry in t.lock_expiry.range((0u64, "")..=(now, "\u{10ffff}")).db()? {
        let (guard, _) = entry.db()?;
        let (expires_ms, key) = guard.value();
        expired.push((expires_ms, key.to_owned()));
    }
    for (expires_ms, key) in &expired {
        t.lock_expiry.remove((*expires_ms, key.as_str())).db()?;
        // Only if the lock still has that expiry (a renewal moved it otherwise).
        if get(t, key)?.is_some_and(|l| l.expires_ms == *expires_ms) {
            t.locks.remove(key.as_str()).db()?;
        }
    }
    Ok(expired.len())
}

/// Takes the lock `key` for `owner` until `now + ttl_ms`: a free (or expired)
/// lock gets a new token; a lock `owner` already holds is renewed with its
/// token; a lock someone else holds is answered with its holder.
pub fn acquire(
    t: &mut Tables<'_>,
    key: &str,
    owner: &str,
    ttl_ms: u64,
    now: u64,
) -> Result<LockAcquire, StoreError> {
    check_key(key)?;
    check_owner_and_ttl(owner, ttl_ms)?;
    reap_expired(t, now)?;
    let expires_ms = now.saturating_add(ttl_ms);
    if let Some(mut held) = get(t, key)? {
        if held.owner != owner {
            return Ok(LockAcquire::Held {
                owner: held.owner,
                expires_ms: held.expires_ms,
            });
        }
        t.lock_expiry.remove((held.expires_ms, key)).db()?;
        held.expires_ms = expires_ms;
        put(t, &held)?;
        return Ok(LockAcquire::Acquired {
            lock: held,
            renewed: true,
        });
    }
    let lock = LockRecord {
        key: key.to_owned(),
        owner: owner.to_owned(),
        token: bump(t, LOCK_TOKENS, 1)?,
        acquired_ms: now,
        expires_ms,
    };
    put(t, &lock)?;
    Ok(LockAcquire::Acquired {
        lock,
        renewed: false,
    })
}

/// Releases the lock `key` held with `token`; returns the lock as it was. A lock
/// that is not held at `now` (never taken, released, or expired) is
/// [`StoreError::LockNotHeld`]; another token is [`StoreError::LockTokenMismatch`].
/// Neither refusal writes anything.
pub fn release(
    t: &mut Tables<'_>,
    key: &str,
    token: u64,
    now: u64,
) -> Result<LockRecord, StoreError> {
    check_key(key)?;
    let Some(held) = get(t, key)?.filter(|l| l.is_live(now)) else {
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
    remove(t, &held)?;
    Ok(held)
}
