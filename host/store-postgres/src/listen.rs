//! The `LISTEN weft_commits` task: a dedicated connection that moves the
//! commit watch whenever another process (or this one) commits a write to
//! the same schema, reconnecting with back-off when the connection drops.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::Stats;
use crate::tx::{CHANNEL, END_MARK, FROM_MARK};

/// Starts the task; aborting the handle ends it and its connection.
pub(crate) fn spawn(
    mut pg: tokio_postgres::Config,
    schema: String,
    stats: Arc<Stats>,
) -> tokio::task::AbortHandle {
    // Named, so that an operator (or a test) can tell it from the pool's.
    pg.application_name(format!("weft-listen {schema}"));
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            if listen_once(&pg, &schema, &stats).await {
                delay = Duration::from_millis(100);
            }
            stats.listening.send_replace(false);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    })
    .abort_handle()
}

/// Listens until the connection ends; whether it got as far as listening.
async fn listen_once(pg: &tokio_postgres::Config, schema: &str, stats: &Stats) -> bool {
    let Ok((client, mut connection)) = pg.connect(NoTls).await else {
        tracing::warn!("the store's LISTEN connection failed; retrying");
        return false;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(n) = message
                && tx.send(n.payload().to_owned()).is_err()
            {
                break;
            }
        }
    });
    if client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .is_err()
    {
        driver.abort();
        return false;
    }
    // Commits made while nobody listened are not seen: look again once
    // (before saying so, so that a caller who waited for `listening` only
    // sees later moves).
    stats.bump_foreign();
    stats
        .listens
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    stats.listening.send_replace(true);
    let end_prefix = format!("{schema}{END_MARK}");
    let from_prefix = format!("{schema}{FROM_MARK}");
    while let Some(payload) = rx.recv().await {
        if let Some(origin) = payload.strip_prefix(&from_prefix) {
            // Its own commits moved the watch already, when they committed.
            if origin != stats.origin {
                stats.bump_foreign();
            }
        } else if payload == schema {
            // A daemon of a version before origins.
            stats.bump_foreign();
        } else if let Some(run) = payload.strip_prefix(&end_prefix) {
            // No receiver: nobody waits for a run now.
            let _ = stats.ended.send(run.to_owned());
        }
    }
    drop(client);
    true
}
