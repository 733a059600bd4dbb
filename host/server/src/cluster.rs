//! Which daemons serve the store: each daemon holds a lock of the store under
//! [`PRESENCE_PREFIX`] and renews it while it runs, so every daemon on one
//! database sees the others (`GET /v1/cluster`, and the count `weft daemon`
//! prints at start). A daemon that stops releases its lock; one that dies
//! drops out when the lock runs out ([`PRESENCE_TTL_MS`]).
//!
//! Presence rides on the store's locks rather than a table of its own: a lock
//! already has an owner, a time to live and an atomic take-or-renew on both
//! backends, which is all presence needs, and it needs no schema change.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;
use weft_engine::Engine;
use weft_store_api::{LockAcquire, LockRecord, StoreError};

use crate::AppState;
use crate::error::ApiError;

/// The prefix of presence locks; the rest of the key names the daemon.
pub const PRESENCE_PREFIX: &str = "weft/daemon/";
/// How long a daemon counts as present after its last renewal.
pub const PRESENCE_TTL_MS: u64 = 15_000;
/// How often a daemon renews its presence.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// What a daemon says of itself in its presence lock (the lock's owner, as JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaemonInfo {
    /// The instance name (`--instance-id`, or the host name).
    pub instance: String,
    /// The daemon's process id on its host.
    pub pid: u32,
    /// Where its API listens (`http://ADDR`).
    pub api: String,
    /// The weft version it runs.
    pub version: String,
}

/// A daemon seen in the store.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Member {
    /// Its presence lock's key without [`PRESENCE_PREFIX`].
    pub id: String,
    /// What it said of itself (absent if its lock's owner does not parse).
    #[serde(flatten)]
    pub info: Option<DaemonInfo>,
    /// When it first took its presence lock (ms since the epoch).
    pub since_ms: u64,
    /// When its presence runs out unless renewed.
    pub expires_ms: u64,
}

/// This daemon's presence in the store.
#[derive(Debug)]
pub struct Presence {
    id: String,
    owner: String,
    token: tokio::sync::Mutex<Option<u64>>,
}

impl Presence {
    /// The presence of a daemon described by `info`, started at `now` ms; not
    /// yet announced (see [`Presence::announce`]).
    pub fn new(info: &DaemonInfo, now: u64) -> Self {
        let name: String = info
            .instance
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
                _ => '_',
            })
            .take(64)
            .collect();
        Self {
            id: format!("{name}/{}-{now}", info.pid),
            owner: serde_json::to_string(info).unwrap_or_default(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// This daemon's id among the members.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes or renews this daemon's presence lock.
    pub async fn announce(&self, engine: &Engine) -> Result<(), StoreError> {
        let key = format!("{PRESENCE_PREFIX}{}", self.id);
        let answer = engine
            .store()
            .lock_acquire(&key, &self.owner, PRESENCE_TTL_MS, engine.now_ms())
            .await?;
        if let LockAcquire::Acquired { lock, .. } = answer {
            *self.token.lock().await = Some(lock.token);
        }
        Ok(())
    }

    /// Releases the presence lock, so the others see this daemon leave now.
    pub async fn withdraw(&self, engine: &Engine) {
        let Some(token) = self.token.lock().await.take() else {
            return;
        };
        let key = format!("{PRESENCE_PREFIX}{}", self.id);
        if let Err(e) = engine
            .store()
            .lock_release(&key, token, engine.now_ms())
            .await
        {
            tracing::warn!("cannot withdraw this daemon's presence: {e}");
        }
    }

    /// Renews the presence every few seconds until `stop` turns true, then
    /// withdraws it. A renewal that fails (the database is down) is logged and
    /// tried again at the next beat.
    pub fn spawn(
        self: Arc<Self>,
        engine: Engine,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(RENEW_EVERY);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = beat.tick() => {
                        if let Err(e) = self.announce(&engine).await {
                            tracing::warn!("cannot renew this daemon's presence: {e}");
                        }
                    }
                    // The guard `wait_for` answers is not `Send`: drop it here.
                    () = async { drop(stop.wait_for(|s| *s).await) } => break,
                }
            }
            self.withdraw(&engine).await;
        })
    }
}

/// The daemons present in `engine`'s store now, oldest first.
pub async fn members(engine: &Engine) -> Result<Vec<Member>, StoreError> {
    let locks = engine.store().locks_list(engine.now_ms()).await?;
    let mut members: Vec<Member> = locks.iter().filter_map(member_of).collect();
    members.sort_by(|a, b| (a.since_ms, &a.id).cmp(&(b.since_ms, &b.id)));
    Ok(members)
}

fn member_of(lock: &LockRecord) -> Option<Member> {
    let id = lock.key.strip_prefix(PRESENCE_PREFIX)?;
    Some(Member {
        id: id.to_owned(),
        info: serde_json::from_str(&lock.owner).ok(),
        since_ms: lock.acquired_ms,
        expires_ms: lock.expires_ms,
    })
}

/// `GET /v1/cluster`: the store this daemon serves, its own id and every
/// daemon present in the store (this one included).
pub async fn cluster(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    let daemons = members(engine).await?;
    Ok(Json(json!({
        "store": engine.store().describe(),
        "self": state.presence.as_ref().map(|p| p.id().to_owned()),
        "daemons": daemons,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presence_key_keeps_only_lock_key_characters() {
        let info = DaemonInfo {
            instance: "pod weft-7f9c/α".into(),
            pid: 42,
            api: "http://10.0.0.7:8080".into(),
            version: "0.1.0".into(),
        };
        let presence = Presence::new(&info, 1_000);
        assert_eq!(presence.id(), "pod_weft-7f9c__/42-1000");
        let lock = LockRecord {
            key: format!("{PRESENCE_PREFIX}{}", presence.id()),
            owner: presence.owner.clone(),
            token: 1,
            acquired_ms: 1_000,
            expires_ms: 16_000,
        };
        let member = member_of(&lock).unwrap();
        assert_eq!(member.info, Some(info));
        let other = LockRecord {
            key: "deploy/prod".into(),
            ..lock
        };
        assert_eq!(member_of(&other), None);
    }
}
