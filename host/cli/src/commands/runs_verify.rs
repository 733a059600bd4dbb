//! `weft runs verify RUN [--state DIR | --daemon URL] [--public-key FILE]
//! [--json]`: recompute a run's hash chain and, with a public key, check it
//! against the run's signed heads (`signed_heads`).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use weft_store_api::{BadEvent, LedgerPublicKey};

use super::runs_verify_signed::{Signed, check_signed, read_public_key};
use super::state::print_json;
use crate::cli::RunsVerifyArgs;
use crate::client::{self, WeftClient};

/// Hex characters of the head hash shown in the text view.
const HEAD: usize = 16;

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
    let client = client::open(&args.run.state);
    let verified = verify(client.as_ref(), &args.run.run, key.as_ref()).await?;
    print(&verified, args.run.state.json)
}

/// Recomputes the chain; with `key`, checks it against the signed heads too
/// (where the client can read them: the daemon's API does not serve them).
async fn verify(
    client: &dyn WeftClient,
    id: &str,
    key: Option<&LedgerPublicKey>,
) -> Result<Verified> {
    let report = client.verify(id).await?;
    let events = client.ledger(id).await?;
    let head = events.last().map(|e| e.hash.clone()).unwrap_or_default();
    let mut first_bad = report.first_bad;
    let mut signed = None;
    if let Some(key) = key
        && let Some(sigs) = client.head_signatures(&report.run).await?
    {
        let run = client.run(&report.run).await?;
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
        run_id: report.run,
        events: report.events,
        head,
        first_bad,
        signed,
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
