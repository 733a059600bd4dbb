//! Starting, waiting for and stopping one PostgreSQL server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The user the server runs as when the tests run as root.
const PG_USER: &str = "weftpg";
/// Where Debian's `postgresql-15` puts its binaries.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long the server may take to answer after it was started.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The PostgreSQL binaries are not installed.
    #[error(
        "PostgreSQL binaries not found in {0} (set WEFT_PG_BIN, or install them: \
         `apt-get install postgresql`)"
    )]
    Missing(PathBuf),
    /// A command of the set-up failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// What was run.
        command: String,
        /// Its status and output.
        detail: String,
    },
    /// The server did not answer before the deadline.
    #[error("postgres did not become ready within {0:?}: {1}")]
    NotReady(Duration, String),
    /// An I/O error of the set-up.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A running PostgreSQL server in a temporary folder; stopped on drop.
#[derive(Debug)]
pub struct PgServer {
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    ids: Option<(u32, u32)>,
}

/// A name no other call in this process returned, usable as a schema or
/// database name (`<prefix>_<pid>_<n>`, lowercase).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

impl PgServer {
    /// Starts a fresh server (see the crate docs).
    pub fn start() -> Result<Self, HarnessError> {
        let bin = std::env::var_os("WEFT_PG_BIN")
            .map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from);
        if !bin.join("postgres").exists() || !bin.join("initdb").exists() {
            return Err(HarnessError::Missing(bin));
        }
        let dir = tempfile::Builder::new().prefix("weft-pg-").tempdir()?;
        let data = dir.path().join("data");
        let ids = run_as_ids()?;
        if let Some((uid, gid)) = ids {
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{uid}:{gid}"))
                .arg(dir.path()))?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C.UTF-8"]);
        run(as_user(&mut initdb, ids))?;
        let mut server = Self {
            dir: Some(dir),
            child: None,
            port: free_port()?,
            bin,
            ids,
        };
        // The port was free when picked, but another process (a test's daemon
        // on port 0) may take it before postgres binds it: pick another.
        let mut attempts = 0;
        loop {
            server.spawn_postgres()?;
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) if attempts < 4 && server.log_tail().contains("could not bind") => {
                    attempts += 1;
                    eprintln!(
                        "weft-pg-harness: postgres could not bind its port, trying another: {e}"
                    );
                    server.port = free_port()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts `postgres` on this server's folder and port.
    fn spawn_postgres(&mut self) -> Result<(), HarnessError> {
        let Some(dir) = self.dir.as_ref().map(|d| d.path().to_owned()) else {
            return Ok(());
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))?;
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
            .args(["-c", "max_connections=300", "-c", "deadlock_timeout=50ms"])
            .args(["-c", "shared_buffers=32MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        self.child = Some(as_user(&mut postgres, self.ids).spawn()?);
        Ok(())
    }

    /// Stops the server the way a crash would (`SIGQUIT`: immediate
    /// shutdown, no checkpoint, recovery from the WAL at the next start) and
    /// starts it again on the same folder and port.
    pub fn crash_and_restart(&mut self) -> Result<(), HarnessError> {
        self.crash();
        self.restart()
    }

    /// Stops the server the way a crash would (see [`PgServer::crash_and_restart`])
    /// and leaves it down until [`PgServer::restart`].
    pub fn crash(&mut self) {
        self.stop();
    }

    /// Starts a stopped server again on the same folder and port, and waits
    /// until it accepts connections.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.spawn_postgres()?;
        self.wait_ready()
    }

    /// Sends `SIGQUIT` and waits for the postmaster to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: immediate shutdown, the backends go with the postmaster.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// The one server of this test process, started at the first call and
    /// stopped by a watchdog once the process has exited.
    pub fn shared() -> Result<&'static PgServer, HarnessError> {
        static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
        binaries()?;
        let server = SHARED.get_or_init(|| {
            let server = Self::start().map_err(|e| e.to_string())?;
            server.watch_parent().map_err(|e| e.to_string())?;
            Ok(server)
        });
        server.as_ref().map_err(|e| HarnessError::Command {
            command: "starting the shared postgres".into(),
            detail: e.clone(),
        })
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `postgres` as user `postgres` (trust
    /// authentication: no password).
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// A connection URL for database `db`.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (with `createdb`).
    pub fn create_database(&self, name: &str) -> Result<(), HarnessError> {
        run(Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(name))
    }

    /// Polls `pg_isready` until the server answers, the server exits, or the
    /// deadline passes.
    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let start = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                return Err(HarnessError::Command {
                    command: "postgres".into(),
                    detail: format!("exited with {status}: {}", self.log_tail()),
                });
            }
            if start.elapsed() > READY_DEADLINE {
                return Err(HarnessError::NotReady(READY_DEADLINE, self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of the server's log, for an error message.
    fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2_000);
        log.get(start..).unwrap_or_default().to_owned()
    }

    /// Spawns a watchdog that stops the server and removes its folder once
    /// this process has exited.
    fn watch_parent(&self) -> Result<(), HarnessError> {
        let (Some(child), Some(dir)) = (&self.child, &self.dir) else {
            return Ok(());
        };
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; \
             kill -QUIT {pg} 2>/dev/null; sleep 1; kill -KILL {pg} 2>/dev/null; rm -rf '{dir}'",
            parent = std::process::id(),
            pg = child.id(),
            dir = dir.path().display(),
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(())
    }

    /// The server's folder.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The folder of the PostgreSQL binaries, if they are there.
fn binaries() -> Result<PathBuf, HarnessError> {
    let bin =
        std::env::var_os("WEFT_PG_BIN").map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from);
    if bin.join("postgres").exists() && bin.join("initdb").exists() {
        Ok(bin)
    } else {
        Err(HarnessError::Missing(bin))
    }
}

/// A free TCP port of 127.0.0.1 (bound and released; a race with another
/// process taking it in between is possible but shows as a start failure).
fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The (uid, gid) to run PostgreSQL as when this process is root, creating
/// the user if it is missing; `None` when not root.
fn run_as_ids() -> Result<Option<(u32, u32)>, HarnessError> {
    if id_of("-u", None)? != 0 {
        return Ok(None);
    }
    if id_of("-u", Some(PG_USER)).is_err() {
        // Two test processes may race here: a second useradd fails, and the
        // user exists either way.
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER,
            ])
            .status();
    }
    Ok(Some((
        id_of("-u", Some(PG_USER))?,
        id_of("-g", Some(PG_USER))?,
    )))
}

/// `id -u [user]` or `id -g [user]`.
fn id_of(flag: &str, user: Option<&str>) -> Result<u32, HarnessError> {
    let mut cmd = Command::new("id");
    cmd.arg(flag);
    if let Some(user) = user {
        cmd.arg(user);
    }
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| HarnessError::Command {
        command: format!("id {flag} {}", user.unwrap_or("")),
        detail: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `cmd`, set to run as `ids` when given.
fn as_user(cmd: &mut Command, ids: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = ids {
        cmd.uid(uid).gid(gid);
        // The user has no home; run from a folder it may read.
        cmd.current_dir("/");
    }
    cmd
}

/// Runs `cmd` to its end; a failure carries its output.
fn run(cmd: &mut Command) -> Result<(), HarnessError> {
    let out = cmd.output()?;
    if out.status.success() {
        return Ok(());
    }
    Err(HarnessError::Command {
        command: format!("{:?}", cmd.get_program()),
        detail: format!(
            "{}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]
    use super::*;

    #[test]
    fn a_server_starts_answers_and_stops_on_drop() {
        let server = PgServer::start().unwrap();
        let port = server.port();
        let ready = |port: u16| {
            Command::new(Path::new(DEFAULT_BIN).join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .unwrap()
                .success()
        };
        assert!(ready(port));
        server.create_database("made_here").unwrap();
        drop(server);
        assert!(!ready(port), "the server stops when dropped");
    }

    #[test]
    fn missing_binaries_say_how_to_install_them() {
        // WEFT_PG_BIN is read by `binaries`; point it nowhere in a child
        // process so this test's environment stays as it is.
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "server::tests::missing_binaries_child",
                "--nocapture",
            ])
            .env("WEFT_PG_BIN", "/nonexistent/pg/bin")
            .env("WEFT_PG_HARNESS_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("apt-get install postgresql"), "{text}");
        assert!(text.contains("/nonexistent/pg/bin"), "{text}");
    }

    #[test]
    fn missing_binaries_child() {
        if std::env::var_os("WEFT_PG_HARNESS_CHILD").is_none() {
            return;
        }
        let err = PgServer::start().unwrap_err();
        println!("{err}");
        assert!(matches!(PgServer::shared(), Err(HarnessError::Missing(_))));
    }

    #[test]
    fn names_are_unique() {
        assert_ne!(unique_name("t"), unique_name("t"));
    }
}
