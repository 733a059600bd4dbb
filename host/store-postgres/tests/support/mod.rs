//! The PostgreSQL backend of the conformance suite and of this crate's own
//! tests: the shared throwaway server of `weft-pg-harness`, one schema per
//! store.
#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    reason = "each test binary uses a part; a test backend fails loudly"
)]

use std::sync::Arc;

use weft_pg_harness::{PgServer, unique_name};
use weft_store_api::{NewRun, NewTask, SharedStore};
use weft_store_conformance::Backend;
use weft_store_postgres::{PgConfig, PgStore};

/// The shared server of this test process.
pub fn server() -> &'static PgServer {
    PgServer::shared().unwrap_or_else(|e| panic!("no PostgreSQL server for the tests: {e}"))
}

/// The config of schema `schema` on the shared server.
pub fn config(schema: &str) -> PgConfig {
    PgConfig {
        url: server().url(),
        schema: schema.to_owned(),
        pool_size: 12,
    }
}

/// A store on a fresh schema.
pub async fn fresh_store() -> (PgStore, String) {
    let schema = unique_name("t");
    let store = PgStore::connect(config(&schema)).await.expect("connect");
    (store, schema)
}

/// Fresh schemas on the shared server.
pub struct PgBackend;

/// The backend the conformance macro builds for each case.
pub async fn backend() -> PgBackend {
    PgBackend
}

#[async_trait::async_trait]
impl Backend for PgBackend {
    async fn fresh(&self) -> (SharedStore, String) {
        let (store, schema) = fresh_store().await;
        (Arc::new(store), schema)
    }

    async fn reopen(&self, id: &str) -> SharedStore {
        Arc::new(PgStore::connect(config(id)).await.expect("reconnect"))
    }

    async fn second_handle(&self, id: &str) -> Option<SharedStore> {
        let store = PgStore::connect(config(id)).await.expect("connect again");
        store.listening().await;
        Some(Arc::new(store))
    }
}

/// 2026-11-22T00:00:00Z in ms.
pub const T0: u64 = 1_795_305_600_000;

/// A one-task run of flow `demo` (tenant `acme`) in pool `p`.
pub fn one_task(step: &str) -> NewRun {
    NewRun {
        flow_id: "demo".into(),
        flow_version: "1".into(),
        tenant: "acme".into(),
        input: serde_json::json!({}),
        priority: 0,
        idempotency_key: None,
        id_prefix: "acme".into(),
        not_before: None,
        initial_tasks: vec![NewTask {
            step_id: step.into(),
            pool: "p".into(),
            priority: 0,
        }],
    }
}

/// An admin connection to the shared server, its search path on `schema`.
pub async fn admin(schema: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server().url(), tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("SET search_path = {schema}"))
        .await
        .expect("admin connection");
    client
}
