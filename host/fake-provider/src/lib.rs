//! A fake LLM provider on loopback, for tests of the model adapters: it speaks
//! the OpenAI chat-completions protocol (`POST /v1/chat/completions`) and the
//! Anthropic messages protocol (`POST /v1/messages`) closely enough that the
//! real adapters cannot tell, and fails on demand.
//!
//! Each test scripts what the next requests get with [`FakeProvider::push`]
//! (a queue; when it is empty a request gets an ordinary answer), and reads
//! back what was sent with [`FakeProvider::requests`]. Every request is
//! recorded with its headers, body and arrival time; the server also counts
//! requests in flight and the most seen at once, and [`FakeProvider::wait_for`]
//! waits on a notification, never on a sleep. [`FakeProvider::hold`] keeps
//! requests in flight until [`FakeProvider::release`], so a concurrency test
//! can read [`FakeProvider::max_in_flight`] without any timing.
//!
//! ```no_run
//! # async fn demo() {
//! use weft_fake_provider::{FakeProvider, Reply};
//! let fake = FakeProvider::start().await.unwrap();
//! fake.push(Reply::RateLimited { retry_after_secs: 1 });
//! fake.push(Reply::text("hello", 3, 1));
//! // point an adapter at fake.base_url() ...
//! # }
//! ```

//!
//! The same server is the binary `weft-fake-provider` (`src/main.rs`): a
//! fake on a port of your choice, one protocol or both, with replies scripted
//! in a file ([`script`]), so that the adapters, retries, circuits and budgets
//! can be tried with no provider account.

mod protocol;
pub mod script;
mod server;

pub use protocol::Protocol;
pub use server::{FakeProvider, Options, RecordedRequest, Reply};
