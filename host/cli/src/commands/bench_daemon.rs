//! What `weft bench` measures against: a project of its own (a 3-step `echo`
//! chain and a 1-step flow, the reference pool policy) and real `weft daemon`
//! and `weft worker` processes started from this binary, with their CPU time,
//! RSS and Prometheus counters read while they run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::embedded::REFERENCE_PLUGINS;

/// The 3-step chain of the burst and latency workloads.
pub(crate) const CHAIN: &str = "bench-chain";
/// The 1-step flow of the backlog drains.
pub(crate) const ONE: &str = "bench-one";

/// Writes the bench project into `dir`: `echo` and the policy component,
/// the default pool with `max_concurrent: slots` and `policy` (none for
/// `none`), and the two flows.
pub(crate) fn write_project(
    dir: &Path,
    policy: &str,
    slots: usize,
    store: Option<&str>,
) -> Result<()> {
    std::fs::create_dir_all(dir.join("plugins"))?;
    std::fs::create_dir_all(dir.join("flows"))?;
    let mut plugins = String::from("plugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n");
    let mut wanted = vec!["echo"];
    let pool_policy = match policy {
        "none" => String::new(),
        "priority-fifo" | "fair-share" => {
            wanted.push(policy);
            plugins.push_str(&format!(
                "  {policy}: {{ path: plugins/{policy}.wasm, kind: pool }}\n"
            ));
            format!(", policy: {policy}")
        }
        other => bail!("unknown --policy `{other}`: expected priority-fifo, fair-share or none"),
    };
    for (name, _, bytes) in REFERENCE_PLUGINS.iter().filter(|p| wanted.contains(&p.0)) {
        std::fs::write(dir.join(format!("plugins/{name}.wasm")), bytes)?;
    }
    std::fs::write(
        dir.join("weft.yaml"),
        format!(
            "id_prefix: bench\n{plugins}pools:\n  default: {{ max_concurrent: {slots}{pool_policy} }}\n{}",
            store.unwrap_or_default()
        ),
    )?;
    std::fs::write(
        dir.join(format!("flows/{CHAIN}.yaml")),
        format!(
            "id: {CHAIN}\ninputs:\n  n: {{ type: integer, required: true }}\nsteps:\n  a: {{ uses: echo }}\n  b: {{ uses: echo, needs: [a] }}\n  c: {{ uses: echo, needs: [b] }}\n"
        ),
    )?;
    std::fs::write(
        dir.join(format!("flows/{ONE}.yaml")),
        format!(
            "id: {ONE}\ninputs:\n  n: {{ type: integer, required: true }}\nsteps:\n  a: {{ uses: echo }}\n"
        ),
    )?;
    Ok(())
}

/// The `store:` section of a bench project on PostgreSQL (the URL in
/// `$WEFT_DATABASE_URL`), in a schema of its own for `phase`.
pub(crate) fn postgres_store(phase: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "store:\n  backend: postgres\n  url_env: WEFT_DATABASE_URL\n  schema: bench_{phase}_{}_{secs}\n",
        std::process::id()
    )
}

/// A `weft daemon` process of the bench, stopped (SIGTERM, then killed) when
/// dropped.
pub(crate) struct BenchDaemon {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl BenchDaemon {
    /// Starts `weft daemon --no-auth` in `project` on a free loopback port
    /// with `workers` in-process workers; returns once it listens. Its log
    /// goes to `project/daemon.log`.
    pub fn start(project: &Path, workers: usize, no_index: bool) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find this weft binary")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(project.join("daemon.log"))?;
        let mut command = Command::new(exe);
        command
            .args(["daemon", "--no-auth", "--listen", "127.0.0.1:0"])
            .args(["--workers", &workers.to_string()])
            .current_dir(project)
            .stdout(Stdio::piped())
            .stderr(log);
        if no_index {
            command.arg("--no-index");
        }
        let mut child = command.spawn().context("cannot start weft daemon")?;
        let stdout = child.stdout.take().context("no stdout of weft daemon")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("weft daemon listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "weft daemon did not start (its log: {})",
                project.join("daemon.log").display()
            );
        };
        Ok(Self {
            url: addr.to_owned(),
            child,
        })
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the daemon (SIGTERM: in-flight tasks finish) and waits for it.
    pub fn stop(mut self) -> Result<()> {
        terminate(&mut self.child, Duration::from_secs(30))
    }
}

impl Drop for BenchDaemon {
    fn drop(&mut self) {
        let _ = terminate(&mut self.child, Duration::from_secs(5));
    }
}

/// `weft worker` processes of the bench, stopped when dropped.
pub(crate) struct BenchWorkers(Vec<Child>);

impl BenchWorkers {
    /// Starts `n` workers of `slots` slots each against `url`.
    pub fn start(url: &str, n: usize, slots: usize, log: &Path) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find this weft binary")?;
        let mut children = Vec::new();
        for _ in 0..n {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)?;
            let child = Command::new(&exe)
                .args(["worker", "--daemon", url, "--lease", "30s"])
                .args(["--concurrency", &slots.to_string()])
                .env_remove("WEFT_TOKEN")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .context("cannot start weft worker")?;
            children.push(child);
        }
        Ok(Self(children))
    }
}

impl Drop for BenchWorkers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = terminate(child, Duration::from_secs(5));
        }
    }
}

/// SIGTERM, then SIGKILL after `grace`.
fn terminate(child: &mut Child, grace: Duration) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    super::workers_children::terminate(child.id());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// CPU seconds (user + system) a process has used, and its RSS in MiB.
pub(crate) fn cpu_and_rss(pid: u32) -> Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit(") ")
        .next()
        .unwrap_or_default()
        .split(' ')
        .collect();
    let tick = |i: usize| -> f64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0.0) };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    // Clock ticks are 100 per second on Linux.
    Ok(((tick(11) + tick(12)) / 100.0, rss_kb / 1024.0))
}

/// CPU seconds used so far by this machine's `postgres` processes (the
/// server and its backends, when the bench's database runs here); `None`
/// when there is none. A backend that exits takes its CPU with it, but the
/// daemons' pooled connections live through a burst.
pub(crate) fn local_postgres_cpu() -> Option<f64> {
    let mut total = 0.0;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() != "postgres" {
            continue;
        }
        if let Ok((cpu, _)) = cpu_and_rss(pid) {
            total += cpu;
            found = true;
        }
    }
    found.then_some(total)
}

/// A process's resident memory in MiB: anonymous (heap, stacks: what it
/// holds) and file-backed (mapped files such as the search index: page cache
/// the kernel can take back), from `/proc/PID/status`.
pub(crate) fn rss_parts(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0)
    };
    Ok((kib("RssAnon:") / 1024.0, kib("RssFile:") / 1024.0))
}

/// A temporary folder for the bench's projects, removed when dropped.
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    /// A new folder under the system's temporary directory.
    pub fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("weft-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
