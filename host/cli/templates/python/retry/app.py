"""{{name}}: a weft retry strategy with a fixed delay.

Config (optional): ``{"delay_ms": 1000, "max_attempts": 3}``. A transient error
is retried after ``delay_ms`` until ``max_attempts`` attempts have failed, then
goes to the dead-letter queue; a permanent error goes there at once; an
invalid-input error fails the run (the flow must be fixed).
"""

import json

from wit_world import exports
from wit_world.imports.types import (
    AttemptInfo,
    PluginError_Permanent,
    PluginError_Transient,
    RetryDecision,
    RetryDecision_DeadLetter,
    RetryDecision_Fail,
    RetryDecision_RetryAfter,
)


def _number(settings, key: str, default: int) -> int:
    value = settings.get(key) if isinstance(settings, dict) else None
    return value if isinstance(value, int) and value >= 0 else default


class RetryStrategy(exports.RetryStrategy):
    def decide(self, config: str, attempt: AttemptInfo) -> RetryDecision:
        try:
            settings = json.loads(config)
        except ValueError:
            settings = None
        delay_ms = _number(settings, "delay_ms", 1000)
        max_attempts = _number(settings, "max_attempts", 3)
        error = attempt.error
        if isinstance(error, PluginError_Transient):
            if attempt.attempt < max_attempts:
                return RetryDecision_RetryAfter(delay_ms)
            return RetryDecision_DeadLetter(
                f"gave up after {attempt.attempt} attempts: {error.value}"
            )
        if isinstance(error, PluginError_Permanent):
            return RetryDecision_DeadLetter(error.value)
        return RetryDecision_Fail(error.value)
