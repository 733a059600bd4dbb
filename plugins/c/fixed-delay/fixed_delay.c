/*
 * fixed-delay: the C reference retry strategy of weft.
 *
 * Config (all optional): {"delay_ms": 1000, "max_attempts": 3}. A transient
 * error is retried after `delay_ms` until `max_attempts` attempts have failed,
 * then goes to the dead-letter queue; a permanent error goes there at once; an
 * invalid-input error fails the run. A config that is not an object, or a key
 * that is not a non-negative integer, fails the run and names the key.
 *
 * Built by plugins/c/build.sh (wit-bindgen c, clang, wasm-tools).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry_plugin.h"
#include "weft_json.h"

typedef exports_weft_plugin_retry_strategy_retry_decision_t decision_t;

static void decide_with(decision_t *ret, uint8_t tag, const char *text, size_t len) {
    ret->tag = tag;
    retry_plugin_string_t *s =
        tag == WEFT_PLUGIN_TYPES_RETRY_DECISION_FAIL ? &ret->val.fail : &ret->val.dead_letter;
    s->ptr = malloc(len ? len : 1);
    s->len = s->ptr ? len : 0;
    if (s->ptr) {
        memcpy(s->ptr, text, len);
    }
}

/* Read a non-negative integer setting; false (and a reason in `ret`) when it
 * is there but is not one. */
static bool setting(const retry_plugin_string_t *config, const char *key, uint64_t fallback,
                    uint64_t *out, decision_t *ret) {
    wj_span v;
    if (!wj_field((const char *)config->ptr, config->len, key, &v)) {
        *out = fallback;
        return true;
    }
    if (wj_u64(v, out)) {
        return true;
    }
    char message[128];
    int n = snprintf(message, sizeof message,
                     "fixed-delay: config.%s: expected an integer >= 0", key);
    decide_with(ret, WEFT_PLUGIN_TYPES_RETRY_DECISION_FAIL, message, (size_t)n);
    return false;
}

static void decide(const retry_plugin_string_t *config,
                   const exports_weft_plugin_retry_strategy_attempt_info_t *attempt,
                   decision_t *ret) {
    if (!wj_is_object((const char *)config->ptr, config->len)) {
        const char *m = "fixed-delay: config: expected a JSON object";
        decide_with(ret, WEFT_PLUGIN_TYPES_RETRY_DECISION_FAIL, m, strlen(m));
        return;
    }
    uint64_t delay_ms, max_attempts;
    if (!setting(config, "delay_ms", 1000, &delay_ms, ret) ||
        !setting(config, "max_attempts", 3, &max_attempts, ret)) {
        return;
    }
    const weft_plugin_types_plugin_error_t *error = &attempt->error;
    switch (error->tag) {
    case WEFT_PLUGIN_TYPES_PLUGIN_ERROR_TRANSIENT: {
        if (attempt->attempt < max_attempts) {
            ret->tag = WEFT_PLUGIN_TYPES_RETRY_DECISION_RETRY_AFTER;
            ret->val.retry_after = delay_ms;
            return;
        }
        const retry_plugin_string_t *m = &error->val.transient;
        char head[64];
        int n = snprintf(head, sizeof head, "gave up after %u attempts: ", attempt->attempt);
        wj_buf reason = {0};
        wj_raw(&reason, head, (size_t)n);
        wj_raw(&reason, (const char *)m->ptr, m->len);
        decide_with(ret, WEFT_PLUGIN_TYPES_RETRY_DECISION_DEAD_LETTER,
                    reason.oom ? "gave up" : reason.ptr, reason.oom ? 7 : reason.len);
        free(reason.ptr);
        return;
    }
    case WEFT_PLUGIN_TYPES_PLUGIN_ERROR_PERMANENT:
        decide_with(ret, WEFT_PLUGIN_TYPES_RETRY_DECISION_DEAD_LETTER,
                    (const char *)error->val.permanent.ptr, error->val.permanent.len);
        return;
    default:
        decide_with(ret, WEFT_PLUGIN_TYPES_RETRY_DECISION_FAIL,
                    (const char *)error->val.invalid_input.ptr, error->val.invalid_input.len);
        return;
    }
}

void exports_weft_plugin_retry_strategy_decide(
    retry_plugin_string_t *config, exports_weft_plugin_retry_strategy_attempt_info_t *attempt,
    decision_t *ret) {
    decide(config, attempt, ret);
    retry_plugin_string_free(config);
    exports_weft_plugin_retry_strategy_attempt_info_free(attempt);
}
