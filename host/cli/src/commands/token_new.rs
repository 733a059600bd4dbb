//! `weft token new (--tenant T | --admin | --worker) [--name N] [--json]`: a new
//! random API token, and the weft.yaml line that lets the daemon accept it.
//!
//! The token is 32 random bytes from the operating system, written `weft_` and
//! 64 hex digits. It is printed once and never written anywhere by weft; weft.yaml
//! holds only its SHA-256.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use sha2::{Digest, Sha256};
use weft_flow::{check_name, check_tenant_name};

use super::state::print_json;
use crate::cli::TokenNewArgs;

/// What every token starts with, so that one is recognisable in a secret scanner
/// or a misplaced config line.
const TOKEN_PREFIX: &str = "weft_";

/// Prints a new token for the role `args` names.
pub(crate) fn run(args: &TokenNewArgs) -> Result<ExitCode> {
    let place = Place::of(args)?;
    let token = new_token()?;
    let sha256 = hex::encode(Sha256::digest(token.as_bytes()));
    let name = match &args.name {
        Some(name) => {
            if let Err(why) = check_name(name, 64) {
                bail!(
                    "invalid token name `{name}`: {why} (expected lowercase letters, digits, `-` or `_`, at most 64 characters)"
                );
            }
            name.clone()
        }
        None => format!("token-{}", &sha256[..8]),
    };
    let line = format!(
        "{}- {{ name: {name}, sha256: \"{sha256}\" }}",
        " ".repeat(place.indent)
    );
    if args.json {
        print_json(&json!({
            "token": token,
            "sha256": sha256,
            "name": name,
            "role": place.role,
            "yaml_path": place.path,
            "yaml_line": line.trim_start(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{token}");
    println!();
    println!("Add this line under `{}` in weft.yaml:", place.path);
    println!();
    println!("{line}");
    println!();
    println!("The token is shown only now: weft keeps only its SHA-256.");
    println!("Clients send it as `Authorization: Bearer <token>`; the weft CLI reads WEFT_TOKEN.");
    println!("Restart the daemon to pick up the new line.");
    Ok(ExitCode::SUCCESS)
}

/// Where in weft.yaml the token goes.
struct Place {
    role: &'static str,
    /// The dotted path of its list, e.g. `tenants.acme.tokens`.
    path: String,
    /// The indentation of a list item there, in a file indented by 2.
    indent: usize,
}

impl Place {
    fn of(args: &TokenNewArgs) -> Result<Self> {
        if let Some(tenant) = &args.tenant {
            if let Err(why) = check_tenant_name(tenant) {
                bail!(
                    "invalid tenant name `{tenant}`: {why} (expected lowercase letters, digits and `-`)"
                );
            }
            return Ok(Self {
                role: "tenant",
                path: format!("tenants.{tenant}.tokens"),
                indent: 6,
            });
        }
        let (role, list) = if args.admin {
            ("admin", "admin_tokens")
        } else {
            ("worker", "worker_tokens")
        };
        Ok(Self {
            role,
            path: format!("auth.{list}"),
            indent: 4,
        })
    }
}

/// `weft_` and 32 random bytes from the operating system, in hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).context("the operating system gave no random bytes")?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}
