//! `weft ledger keygen --out FILE [--public-out FILE]`: an Ed25519 key pair
//! for signing ledger heads.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use weft_store_api::LedgerSigner;

use crate::cli::LedgerKeygenArgs;

/// Writes `text` to a new file `path` (refused if it exists) with `mode`.
fn write_new(path: &Path, text: &str, mode: u32) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Makes the key pair; prints the public key.
pub(crate) fn run(args: &LedgerKeygenArgs) -> Result<ExitCode> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).context("the operating system gave no random bytes")?;
    let signer = LedgerSigner::from_seed(seed);
    let public_out = args.public_out.clone().unwrap_or_else(|| {
        let mut name = args.out.clone().into_os_string();
        name.push(".pub");
        PathBuf::from(name)
    });
    let public = signer.public().to_text();
    write_new(&args.out, &signer.to_text(), 0o600)?;
    write_new(&public_out, &public, 0o644)?;
    eprintln!(
        "wrote the signing key to {} (keep it away from the store) and the public key to {}",
        args.out.display(),
        public_out.display()
    );
    print!("{public}");
    Ok(ExitCode::SUCCESS)
}
