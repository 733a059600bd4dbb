//! The `wait=SECONDS` of the API's long polls (`GET /v1/runs/{id}`,
//! `…/events`, `GET /v1/flows`): at most [`MAX_WAIT_SECS`], and a longer one
//! is refused rather than cut short without a word.

use std::time::Duration;

use crate::error::ApiError;

/// The longest `wait`, in seconds.
pub(crate) const MAX_WAIT_SECS: u64 = 300;

/// `secs` as a wait; over [`MAX_WAIT_SECS`] it is a `400` that says the limit.
pub(crate) fn wait_secs(secs: u64) -> Result<Duration, ApiError> {
    if secs > MAX_WAIT_SECS {
        return Err(ApiError::BadRequest(format!(
            "wait={secs} is over the limit of {MAX_WAIT_SECS} seconds; \
             ask for at most {MAX_WAIT_SECS} and ask again if it is not over yet"
        )));
    }
    Ok(Duration::from_secs(secs))
}
