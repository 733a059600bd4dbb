//! Per-call limits and the resource limiter that enforces and reports them.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// What one plugin call may use. Every call gets its own copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock deadline for the whole call, instantiation included.
    pub timeout: Duration,
    /// Cap on the total linear memory of the call's instances, in bytes.
    pub memory_bytes: usize,
    /// Cap on the elements of any one table.
    pub table_elements: usize,
    /// Cap on the number of core instances, tables and memories each.
    pub instances: usize,
    /// Cap on the size of what the call returns, in bytes.
    pub output_bytes: usize,
    /// Cap on log lines the call may write (more are dropped and counted).
    pub log_lines: usize,
    /// Cap on stdout + stderr bytes kept for error messages.
    pub stderr_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_bytes: 128 * 1024 * 1024,
            table_elements: 200_000,
            instances: 64,
            output_bytes: 4 * 1024 * 1024,
            log_lines: 1000,
            stderr_bytes: 64 * 1024,
        }
    }
}

/// Which limit a call ran into, kept so the error can say so precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// Linear memory: the cap and what was asked for.
    Memory { cap: usize, requested: usize },
    /// A table: the cap and what was asked for.
    Table { cap: usize, requested: usize },
}

/// A `ResourceLimiter` that refuses growth past the call's caps, traps on refusal
/// (so a plugin cannot ignore a failed `memory.grow` and limp on), and remembers
/// which cap was hit.
pub(crate) struct SandboxLimiter {
    memory_cap: usize,
    memory_used: usize,
    table_cap: usize,
    instances: usize,
    pub(crate) hit: Option<LimitHit>,
}

impl SandboxLimiter {
    pub(crate) fn new(limits: &CallLimits) -> Self {
        Self {
            memory_cap: limits.memory_bytes,
            memory_used: 0,
            table_cap: limits.table_elements,
            instances: limits.instances,
            hit: None,
        }
    }
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A component has several memories; the cap is on their sum.
        let total = self.memory_used - current.min(self.memory_used) + desired;
        if total > self.memory_cap {
            self.hit = Some(LimitHit::Memory {
                cap: self.memory_cap,
                requested: total,
            });
            return Err(wasmtime::format_err!(
                "memory cap of {} bytes exceeded",
                self.memory_cap
            ));
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_cap {
            self.hit = Some(LimitHit::Table {
                cap: self.table_cap,
                requested: desired,
            });
            return Err(wasmtime::format_err!(
                "table cap of {} elements exceeded",
                self.table_cap
            ));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(memory_bytes: usize, table_elements: usize) -> SandboxLimiter {
        SandboxLimiter::new(&CallLimits {
            memory_bytes,
            table_elements,
            ..CallLimits::default()
        })
    }

    #[test]
    fn the_memory_cap_is_on_the_sum_of_all_memories() {
        let mut l = limiter(100, 10);
        assert!(l.memory_growing(0, 60, None).is_ok()); // first memory
        assert!(l.memory_growing(0, 30, None).is_ok()); // second memory: 90 in all
        assert!(l.memory_growing(30, 40, None).is_ok()); // 60 + 40 = 100: at the cap
        assert_eq!(l.hit, None);
        assert!(l.memory_growing(40, 50, None).is_err()); // 60 + 50 > 100
        assert_eq!(
            l.hit,
            Some(LimitHit::Memory {
                cap: 100,
                requested: 110
            })
        );
    }

    #[test]
    fn growth_within_the_cap_is_allowed_and_tables_are_capped_per_table() {
        let mut l = limiter(100, 10);
        assert!(l.memory_growing(0, 50, None).is_ok());
        assert!(l.memory_growing(50, 100, None).is_ok());
        assert_eq!(l.hit, None);
        assert!(l.table_growing(0, 10, None).is_ok());
        assert!(l.table_growing(10, 11, None).is_err());
        assert_eq!(
            l.hit,
            Some(LimitHit::Table {
                cap: 10,
                requested: 11
            })
        );
    }
}
