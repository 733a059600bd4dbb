//! `weft dlq purge TARGET [--all] [--yes] [--state DIR | --daemon URL] [--json]`:
//! drop dead-lettered tasks for good: a task id, a run id or a glob over run
//! ids, or `--all` for every one. On a terminal it asks first unless `--yes`;
//! elsewhere (a script, a pipe) it refuses without `--yes`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use weft_store_api::DeadLetter;

use super::dlq_select::{Target, confirm_purge, list, select};
use super::state::print_json;
use crate::cli::PurgeArgs;
use crate::client;

/// Purges the dead letters TARGET names, once confirmed.
pub(crate) async fn run(args: PurgeArgs) -> Result<ExitCode> {
    let target = Target::parse(args.target.as_deref(), args.all, "purge")?;
    let chosen = client::with_client(&args.state, async |client| {
        let dead = client.dlq_list(None, None).await?;
        let place = client.place().await?;
        let chosen = select(dead, &target, args.all, false, &place, "purge")?;
        if !chosen.is_empty() && !confirmed(&chosen, args.yes, target.is_one_task())? {
            bail!("nothing purged")
        }
        for d in &chosen {
            client.dlq_purge(d.task).await?;
        }
        Ok(chosen)
    })
    .await?;
    if args.state.json {
        let rows: Vec<Value> = chosen.iter().map(row).collect();
        match (target.is_one_task(), rows.as_slice()) {
            (true, [one]) => print_json(one)?,
            _ => print_json(&json!(rows))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if chosen.is_empty() {
        eprintln!("the dead-letter queue is empty: nothing to purge");
    }
    for d in &chosen {
        println!(
            "purged task {} (step `{}` of run {})",
            d.task, d.step, d.run
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether to go on: `--yes`, or a yes to the question on a terminal. Without
/// a terminal to ask on, and without `--yes`, an error says how to do it.
fn confirmed(chosen: &[DeadLetter], yes: bool, one_task: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return confirm_purge(
            chosen,
            &mut std::io::stdin().lock(),
            &mut std::io::stderr().lock(),
        );
    }
    let again = if one_task {
        format!("weft dlq purge {} --yes", chosen[0].task)
    } else {
        "the same command with --yes".to_owned()
    };
    bail!(
        "purging drops {} for good: {}; nothing asked (not on a terminal), nothing purged: run `{again}` to do it",
        if chosen.len() == 1 {
            "1 dead-lettered task".to_owned()
        } else {
            format!("{} dead-lettered tasks", chosen.len())
        },
        list(chosen)
    )
}

/// One purged task, as `--json` shows it.
fn row(d: &DeadLetter) -> Value {
    json!({"task": d.task, "run_id": d.run, "step": d.step, "purged": true})
}
