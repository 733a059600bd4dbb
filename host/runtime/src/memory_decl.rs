//! A component that declares more initial memory than a call may have: said
//! as such at load, with the declared size, the limit and where it is set.
//!
//! Two limits refuse it. The pooling allocator's memory slots
//! (`RuntimeConfig::max_memory_bytes`) refuse it when wasmtime compiles the
//! component; its error names the limit in hex (`exceeds the limit of
//! 0x40000000 bytes`, which reads like a limit of 0) and calls the component
//! invalid. A smaller declaration still over the memory cap of a
//! call (`CallLimits::memory_bytes`) is refused by the trial instantiation at
//! load, where the limiter sees the memory grow to its declared size.

use crate::error::LoadError;

/// What wasmtime's pooling allocator says before the declared size.
const POOL_REFUSAL: &str = "memory has a minimum byte size of ";

/// The declared size in wasmtime's refusal `text` of a component whose memory
/// does not fit the pooling allocator's slots, if that is what it says.
fn declared_in(text: &str) -> Option<u64> {
    let start = text.find(POOL_REFUSAL)? + POOL_REFUSAL.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `error` of compiling a component, as [`LoadError::MemoryDeclared`] when it
/// is the pooling allocator's refusal of a memory over `max_memory_bytes`.
pub(crate) fn compile_error(error: LoadError, max_memory_bytes: usize) -> LoadError {
    match &error {
        LoadError::Compile(text) => match declared_in(text) {
            Some(declared) => LoadError::MemoryDeclared {
                declared,
                limit: u64::try_from(max_memory_bytes).unwrap_or(u64::MAX),
                set_by: "the largest memory this runtime gives any call \
                         (`RuntimeConfig::max_memory_bytes`, 1 GiB unless the host sets it)",
            },
            None => error,
        },
        _ => error,
    }
}

/// The refusal of a trial instantiation whose memory grew past the call's
/// cap `cap` to `requested`: its declared initial memory.
pub(crate) fn over_call_cap(cap: usize, requested: usize) -> LoadError {
    LoadError::MemoryDeclared {
        declared: u64::try_from(requested).unwrap_or(u64::MAX),
        limit: u64::try_from(cap).unwrap_or(u64::MAX),
        set_by: "the memory cap of a call (`CallLimits::memory_bytes`, 128 MiB by default; \
                 `weft plugin run --memory` sets it for one call)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_size_is_read_from_the_pooling_refusal() {
        let text = "memory index 0 is unsupported in this pooling allocator configuration: \
                    memory has a minimum byte size of 1310720000 which exceeds the limit of \
                    0x40000000 bytes";
        assert_eq!(declared_in(text), Some(1_310_720_000));
        assert_eq!(declared_in("something else"), None);
    }
}
