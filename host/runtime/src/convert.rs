//! Conversions between the generated binding types and `weft_core`'s plain types.

use weft_core as core;

use crate::bindings::types as wit;

pub(crate) fn level(level: wit::Level) -> core::LogLevel {
    match level {
        wit::Level::Trace => core::LogLevel::Trace,
        wit::Level::Debug => core::LogLevel::Debug,
        wit::Level::Info => core::LogLevel::Info,
        wit::Level::Warn => core::LogLevel::Warn,
        wit::Level::Error => core::LogLevel::Error,
    }
}

pub(crate) fn error_to_guest(e: core::PluginError) -> wit::PluginError {
    match e {
        core::PluginError::Transient(m) => wit::PluginError::Transient(m),
        core::PluginError::Permanent(m) => wit::PluginError::Permanent(m),
        core::PluginError::InvalidInput(m) => wit::PluginError::InvalidInput(m),
    }
}

pub(crate) fn error_from_guest(e: wit::PluginError) -> core::PluginError {
    match e {
        wit::PluginError::Transient(m) => core::PluginError::Transient(m),
        wit::PluginError::Permanent(m) => core::PluginError::Permanent(m),
        wit::PluginError::InvalidInput(m) => core::PluginError::InvalidInput(m),
    }
}

pub(crate) fn run_info_to_guest(i: &core::RunInfo) -> wit::RunInfo {
    wit::RunInfo {
        run_id: i.run_id.clone(),
        flow_id: i.flow_id.clone(),
        step_id: i.step_id.clone(),
        attempt: i.attempt,
        tenant: i.tenant.clone(),
    }
}

pub(crate) fn request_to_guest(r: &core::CompletionRequest) -> wit::CompletionRequest {
    wit::CompletionRequest {
        model: r.model.clone(),
        messages: r
            .messages
            .iter()
            .map(|m| wit::ChatMessage {
                role: m.role.clone(),
                content: m.content.clone(),
            })
            .collect(),
        max_tokens: r.max_tokens,
        temperature: r.temperature,
        extra: r.extra.clone(),
    }
}

pub(crate) fn request_from_guest(r: wit::CompletionRequest) -> core::CompletionRequest {
    core::CompletionRequest {
        model: r.model,
        messages: r
            .messages
            .into_iter()
            .map(|m| core::ChatMessage {
                role: m.role,
                content: m.content,
            })
            .collect(),
        max_tokens: r.max_tokens,
        temperature: r.temperature,
        extra: r.extra,
    }
}

pub(crate) fn completion_to_guest(c: core::Completion) -> wit::Completion {
    wit::Completion {
        text: c.text,
        model: c.model,
        usage: wit::Usage {
            input_tokens: c.usage.input_tokens,
            output_tokens: c.usage.output_tokens,
            cost_usd: c.usage.cost_usd,
        },
        finish_reason: c.finish_reason,
    }
}

pub(crate) fn completion_from_guest(c: wit::Completion) -> core::Completion {
    core::Completion {
        text: c.text,
        model: c.model,
        usage: core::Usage {
            input_tokens: c.usage.input_tokens,
            output_tokens: c.usage.output_tokens,
            cost_usd: c.usage.cost_usd,
        },
        finish_reason: c.finish_reason,
    }
}

pub(crate) fn attempt_to_guest(a: &core::AttemptInfo) -> wit::AttemptInfo {
    wit::AttemptInfo {
        run_id: a.run_id.clone(),
        flow_id: a.flow_id.clone(),
        step_id: a.step_id.clone(),
        attempt: a.attempt,
        error: error_to_guest(a.error.clone()),
        elapsed_ms: a.elapsed_ms,
    }
}

pub(crate) fn decision_from_guest(d: wit::RetryDecision) -> core::RetryDecision {
    match d {
        wit::RetryDecision::RetryAfter(ms) => core::RetryDecision::RetryAfter(ms),
        wit::RetryDecision::DeadLetter(r) => core::RetryDecision::DeadLetter(r),
        wit::RetryDecision::Fail(r) => core::RetryDecision::Fail(r),
    }
}

pub(crate) fn pool_state_to_guest(s: &core::PoolState) -> wit::PoolState {
    wit::PoolState {
        pool: s.pool.clone(),
        active: s.active,
        max_concurrent: s.max_concurrent,
        free_slots: s.free_slots,
        now_ms: s.now_ms,
        active_by_tenant: s
            .active_by_tenant
            .iter()
            .map(|t| wit::TenantLoad {
                tenant: t.tenant.clone(),
                active: t.active,
            })
            .collect(),
    }
}

pub(crate) fn candidate_to_guest(c: &core::Candidate) -> wit::Candidate {
    wit::Candidate {
        task_id: c.task_id.clone(),
        run_id: c.run_id.clone(),
        flow_id: c.flow_id.clone(),
        tenant: c.tenant.clone(),
        priority: c.priority,
        ready_at_ms: c.ready_at_ms,
    }
}
