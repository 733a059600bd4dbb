//! `weft runs verify RUN [--state DIR | --daemon URL] [--public-key FILE]
//! [--json]`: recompute a run's hash chain and, with a public key, check it
//! against the run's signed heads (`signed_heads`).

use std::process::ExitCode;

use anyhow::Result;
use serde::Deserialize;
use serde_json::{Value, json};

use super::daemon_client::{DaemonClient, field};
use super::runs_verify_signed::{Signed, check_signed, read_public_key};
use super::state::{StateStore, print_json};
use crate::cli::{RunIdArgs, RunsVerifyArgs};

/// Hex characters of the head hash shown in the text view.
const HEAD: usize = 16;

/// The first event that does not verify.
#[derive(Debug, Deserialize)]
struct BadEvent {
    seq: u64,
    reason: String,
}

/// What verifying a run found.
struct Verified {
    run_id: String,
    events: u64,
    head: String,
    first_bad: Option<BadEvent>,
    /// With `--public-key`: what the signed heads say.
    signed: Option<Signed>,
}

/// Verifies a run's hash chain; exit 1 names the first bad seq.
pub(crate) async fn run(args: RunsVerifyArgs) -> Result<ExitCode> {
    let key = args
        .public_key
        .as_deref()
        .map(read_public_key)
        .transpose()?;
    let verified = match DaemonClient::from_flag(args.run.state.daemon.as_deref()) {
        Some(daemon) => remote(&daemon, &args.run.run)?,
        None => local(&args.run, key.as_ref()).await?,
    };
    print(&verified, args.run.state.json)
}

/// Verifies in the state folder; with `key`, against the signed heads too.
async fn local(
    args: &RunIdArgs,
    key: Option<&weft_store_api::LedgerPublicKey>,
) -> Result<Verified> {
    let state = StateStore::open(&args.state).await?;
    let run = state.run(&args.run).await?;
    let report = state.store.verify(&run.id).await?;
    let events = state.store.ledger(&run.id).await?;
    let head = events.last().map(|e| e.hash.clone()).unwrap_or_default();
    let mut first_bad = report.first_bad.map(|b| BadEvent {
        seq: b.seq,
        reason: b.reason,
    });
    let mut signed = None;
    if let Some(key) = key {
        let sigs = state.store.head_signatures(&run.id).await?;
        let checked = check_signed(&run, &events, &sigs, key);
        if first_bad.is_none()
            && let Signed::Broken { seq, reason } = &checked
        {
            first_bad = Some(BadEvent {
                seq: *seq,
                reason: reason.clone(),
            });
        }
        signed = Some(checked);
    }
    Ok(Verified {
        run_id: run.id,
        events: report.events,
        head,
        first_bad,
        signed,
    })
}

/// Verifies through `GET /v1/runs/{id}/verify`; the head from its events.
fn remote(daemon: &DaemonClient, id: &str) -> Result<Verified> {
    let report = daemon.get(&format!("/v1/runs/{id}/verify"), &[])?;
    let events: Vec<Value> = field(
        &daemon.get(&format!("/v1/runs/{id}/events"), &[])?,
        "events",
    )?;
    let head = events
        .last()
        .and_then(|e| e.get("hash"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Verified {
        run_id: field(&report, "run")?,
        events: field(&report, "events")?,
        head,
        first_bad: field(&report, "first_bad")?,
        signed: None,
    })
}

/// Prints the verdict; the exit code says whether the chain holds.
fn print(v: &Verified, as_json: bool) -> Result<ExitCode> {
    if as_json {
        let mut report = json!({
            "run_id": v.run_id,
            "verified": v.first_bad.is_none(),
            "events": v.events,
            "head": v.head,
            "first_bad": v.first_bad.as_ref().map(|b| json!({"seq": b.seq, "reason": b.reason})),
        });
        // Only with `--public-key`: without it the report is as it always was.
        if let (Some(signed), Some(map)) = (&v.signed, report.as_object_mut()) {
            map.insert("signature".into(), signed.to_json());
        }
        print_json(&report)?;
    } else if let Some(bad) = &v.first_bad {
        println!(
            "ledger of {} BROKEN at seq {}: {} ({} events verified before it)",
            v.run_id, bad.seq, bad.reason, v.events
        );
    } else {
        let prefix: String = v.head.chars().take(HEAD).collect();
        let signed = v
            .signed
            .as_ref()
            .map(|s| format!("; {}", s.text()))
            .unwrap_or_default();
        println!(
            "ledger of {} verified: {} events, head {prefix}{signed}",
            v.run_id, v.events
        );
    }
    Ok(if v.first_bad.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
