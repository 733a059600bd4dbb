//! HTTP/1.1 to the daemon over its Unix socket (`weft daemon --socket PATH`),
//! for `--daemon unix:PATH`: a ureq connector that opens the socket whatever
//! the request's host is, and a resolver that resolves nothing (there is no
//! host to look up). Requests go to `http://localhost/...` through it.
//!
//! ureq's transport API is outside its semver promise; `Cargo.lock` pins the
//! version this is written against.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

/// The base URL requests are sent to; the connector ignores its host.
pub(crate) const SOCKET_BASE: &str = "http://localhost";

/// An agent whose every connection is to the Unix socket at `path`.
pub(crate) fn unix_agent(path: PathBuf, config: Config) -> ureq::Agent {
    ureq::Agent::with_parts(config, UnixConnector { path }, NoResolver)
}

/// Opens the socket for every connection.
#[derive(Debug)]
struct UnixConnector {
    path: PathBuf,
}

impl Connector for UnixConnector {
    type Out = UnixTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, Error> {
        let stream = UnixStream::connect(&self.path)?;
        let config = details.config;
        let transport = UnixTransport {
            stream: Arc::new(Socket(stream)),
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
        };
        let handle: Weak<dyn ShutdownHandle> =
            Arc::downgrade(&transport.stream) as Weak<dyn ShutdownHandle>;
        (details.register_shutdown)(handle)?;
        Ok(Some(transport))
    }
}

/// The socket, shared (weakly) with the agent so that it can shut it down.
#[derive(Debug)]
struct Socket(UnixStream);

impl ShutdownHandle for Socket {
    fn shutdown(&self) {
        // An error means it is closed already.
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// One connection to the socket.
#[derive(Debug)]
struct UnixTransport {
    stream: Arc<Socket>,
    buffers: LazyBuffers,
}

/// `timeout` as the socket's read or write timeout; an error when it is spent.
fn socket_timeout(timeout: NextTimeout) -> Result<Option<Duration>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|d| *d))
}

/// An I/O error as ureq's: a timed-out read or write is its timeout.
fn io_error(e: io::Error, reason: Timeout) -> Error {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(reason),
        _ => Error::Io(e),
    }
}

impl Transport for UnixTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let stream = &self.stream.0;
        stream.set_write_timeout(socket_timeout(timeout)?)?;
        let output = &self.buffers.output()[..amount];
        (&*stream)
            .write_all(output)
            .map_err(|e| io_error(e, timeout.reason))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let stream = &self.stream.0;
        stream.set_read_timeout(socket_timeout(timeout)?)?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match (&*stream).read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other.map_err(|e| io_error(e, timeout.reason))?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // Open means: nothing to read, and not closed by the daemon.
        let stream = &self.stream.0;
        if stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8];
        let open = matches!(
            (&*stream).read(&mut byte),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        stream.set_nonblocking(false).is_ok() && open
    }
}

/// Resolves every URI to one placeholder address: the connector does not use it.
#[derive(Debug)]
struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(
        &self,
        _uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let mut addrs = self.empty();
        addrs.push(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        Ok(addrs)
    }
}
