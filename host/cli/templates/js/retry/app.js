// {{name}}: a weft retry strategy with a fixed delay.
//
// Config (optional): `{"delay_ms": 1000, "max_attempts": 3}`. A transient error
// is retried after `delay_ms` until `max_attempts` attempts have failed, then
// goes to the dead-letter queue; a permanent error goes there at once; an
// invalid-input error fails the run (the flow must be fixed).

function number(settings, key, fallback) {
  const value = settings?.[key];
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

export const retryStrategy = {
  decide(config, attempt) {
    let settings = null;
    try {
      settings = JSON.parse(config);
    } catch {
      settings = null;
    }
    const delayMs = number(settings, 'delay_ms', 1000);
    const maxAttempts = number(settings, 'max_attempts', 3);
    const { tag, val } = attempt.error;
    if (tag === 'transient') {
      if (attempt.attempt < maxAttempts) {
        return { tag: 'retry-after', val: BigInt(delayMs) };
      }
      return { tag: 'dead-letter', val: `gave up after ${attempt.attempt} attempts: ${val}` };
    }
    if (tag === 'permanent') {
      return { tag: 'dead-letter', val };
    }
    return { tag: 'fail', val };
  },
};
