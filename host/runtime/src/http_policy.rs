//! Outgoing HTTP for model adapters. Until per-model host allow-lists exist, every
//! request is refused with `HTTP-request-denied`: the `model-plugin` world already
//! imports `wasi:http/outgoing-handler`, so adapters link, but nothing leaves the
//! machine.

use wasmtime_wasi_http::{Error, WasiBody, WasiHttpHooks};

/// Hooks that refuse every outgoing request.
pub(crate) struct DenyAllHttp;

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for DenyAllHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        tracing::warn!(uri = %request.uri(), "outgoing HTTP request refused: no host is allowed");
        Box::new(async { Err(Error::HttpRequestDenied) })
    }
}
