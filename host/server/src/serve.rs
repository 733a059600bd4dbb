//! Serving a router on TCP and on a Unix socket (mode 0600) until shutdown.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::serve::Listener;
use tokio::net::{TcpListener, UnixListener};

/// Why a listener could not be set up or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket file is in use by a live process or cannot be replaced.
    #[error("cannot listen on {path}: {source}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` on `listener` (TCP or Unix) until `shutdown` resolves;
/// in-flight requests finish first.
async fn serve<L>(
    router: Router,
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Serves `router` on the TCP `listener` until `shutdown` resolves.
pub async fn serve_tcp(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve(router, listener, shutdown).await
}

/// Binds a Unix socket at `path` readable and writable by its owner only. A
/// stale socket file (nobody accepts on it) is replaced; a live one is an error.
pub async fn bind_unix(path: &Path) -> Result<UnixListener, ServeError> {
    let err = |source| ServeError::Socket {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            let busy = std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another process is serving on it",
            );
            return Err(err(busy));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

/// Serves `router` on the Unix socket `listener` until `shutdown` resolves.
pub async fn serve_unix(
    router: Router,
    listener: UnixListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve(router, listener, shutdown).await
}
