//! How `weft daemon` authenticates: by the tokens of weft.yaml whenever it
//! declares any; without authentication only when asked with `--no-auth`, and
//! then only on a loopback address (the Unix socket, mode 0600, is fine).

use std::net::SocketAddr;

use anyhow::{Result, bail};
use weft_flow::ProjectConfig;
use weft_server::Auth;

/// The daemon's [`Auth`] for `project`, or why it must not start.
pub(crate) fn auth_for(project: &ProjectConfig, no_auth: bool) -> Result<Auth> {
    let declared = project.declares_tokens();
    match (declared, no_auth) {
        (true, false) => Ok(Auth::from_project(project)),
        (false, true) => Ok(Auth::disabled()),
        (true, true) => {
            let count = Auth::from_project(project).token_count();
            bail!(
                "--no-auth given, but {} declares {count} API token(s): the daemon always \
                 authenticates when weft.yaml declares tokens; drop --no-auth",
                project.file
            )
        }
        (false, false) => bail!(
            "{} declares no API token, and the daemon does not serve its API unauthenticated \
             unless told to: declare tokens (`weft token new --tenant NAME`, `--admin` or \
             `--worker` prints the weft.yaml line), or start it with --no-auth to serve every \
             caller as an admin on a loopback address or the Unix socket only",
            project.file
        ),
    }
}

/// Refuses an API address other than loopback when `auth` is disabled.
pub(crate) fn check_listen(auth: &Auth, requested: &str, bound: SocketAddr) -> Result<()> {
    if auth.is_enabled() || bound.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    bail!(
        "--no-auth refuses --listen {requested} ({bound}): without authentication the API may \
         listen only on a loopback address (127.0.0.0/8 or ::1), e.g. --listen 127.0.0.1:7878, \
         or on the Unix socket (--socket); declare API tokens in weft.yaml to listen elsewhere"
    )
}

/// One line for the log about how callers are authenticated.
pub(crate) fn describe(auth: &Auth, project: &ProjectConfig) -> String {
    if !auth.is_enabled() {
        return "auth disabled (--no-auth): every caller is an admin".to_owned();
    }
    let tenants: Vec<&str> = project
        .tenants
        .values()
        .filter(|t| !t.tokens.is_empty())
        .map(|t| t.name.as_str())
        .collect();
    format!(
        "auth on: {} API token(s) from {}; tenants with tokens: {}",
        auth.token_count(),
        project.file,
        if tenants.is_empty() {
            "none".to_owned()
        } else {
            tenants.join(", ")
        }
    )
}
