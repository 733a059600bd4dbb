/*
 * {{name}}: a weft model adapter. This one answers offline: its text is
 * `prefix` (config, default "echo: ") followed by the last user message. A real
 * adapter would call its provider over wasi:http instead (model_plugin.h has
 * the bindings).
 *
 * Usage: input tokens are the bytes of every message, output tokens the bytes
 * of the answer; no cost (the host prices tokens with the model's `price`).
 */
#include <stdlib.h>
#include <string.h>

#include "model_plugin.h"
#include "weft_json.h"

typedef exports_weft_plugin_model_adapter_plugin_error_t plugin_error_t;

static bool invalid(plugin_error_t *err, const char *message) {
    err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_INPUT;
    model_plugin_string_dup(&err->val.invalid_input, message);
    return false;
}

static bool complete(const model_plugin_string_t *config,
                     const exports_weft_plugin_model_adapter_completion_request_t *req,
                     exports_weft_plugin_model_adapter_completion_t *ret, plugin_error_t *err) {
    if (!wj_is_object((const char *)config->ptr, config->len)) {
        return invalid(err, "config: expected a JSON object");
    }
    char *prefix = NULL;
    size_t prefix_len = 0;
    wj_span v;
    if (wj_field((const char *)config->ptr, config->len, "prefix", &v) &&
        !wj_string(v, &prefix, &prefix_len)) {
        return invalid(err, "config.prefix: expected a string");
    }
    const weft_plugin_types_chat_message_t *last = NULL;
    uint64_t input_tokens = 0;
    for (size_t i = 0; i < req->messages.len; i++) {
        const weft_plugin_types_chat_message_t *m = &req->messages.ptr[i];
        input_tokens += m->content.len;
        if (m->role.len == 4 && memcmp(m->role.ptr, "user", 4) == 0) {
            last = m;
        }
    }
    if (!last) {
        free(prefix);
        return invalid(err, "messages: no user message");
    }
    wj_buf text = {0};
    wj_lit(&text, prefix ? prefix : "echo: ");
    wj_raw(&text, (const char *)last->content.ptr, last->content.len);
    free(prefix);
    if (text.oom) {
        free(text.ptr);
        err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_PERMANENT;
        model_plugin_string_dup(&err->val.permanent, "out of memory");
        return false;
    }
    ret->text.ptr = (uint8_t *)text.ptr;
    ret->text.len = text.len;
    model_plugin_string_dup_n(&ret->model, (const char *)req->model.ptr, req->model.len);
    ret->usage.input_tokens = input_tokens;
    ret->usage.output_tokens = text.len;
    ret->usage.cost_usd = 0.0;
    model_plugin_string_dup(&ret->finish_reason, "stop");
    return true;
}

bool exports_weft_plugin_model_adapter_complete(
    model_plugin_string_t *config, exports_weft_plugin_model_adapter_completion_request_t *req,
    exports_weft_plugin_model_adapter_completion_t *ret, plugin_error_t *err) {
    bool ok = complete(config, req, ret, err);
    /* The arguments of an export belong to the callee. */
    model_plugin_string_free(config);
    exports_weft_plugin_model_adapter_completion_request_free(req);
    return ok;
}
