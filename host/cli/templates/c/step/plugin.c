/*
 * {{name}}: a weft step plugin.
 *
 * Input: {"name": "Ada"}. Config (optional): {"greeting": "Hello", "model":
 * "mock"}. Output: {"message": "Hello, Ada!"}; with `model`, the step also asks
 * that model (a model of weft.yaml) to greet the name and adds its answer as
 * `reply`. Config and input are JSON text; weft_json.h reads and writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_plugin.h"
#include "weft_json.h"

typedef exports_weft_plugin_step_plugin_error_t plugin_error_t;

static bool invalid(plugin_error_t *err, const char *message) {
    err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_INPUT;
    step_plugin_string_dup(&err->val.invalid_input, message);
    return false;
}

/* A top-level string field of `json`, decoded (malloc), or NULL. */
static char *string_field(const step_plugin_string_t *json, const char *key) {
    wj_span v;
    char *out = NULL;
    size_t len = 0;
    if (wj_field((const char *)json->ptr, json->len, key, &v) && wj_string(v, &out, &len)) {
        return out;
    }
    return NULL;
}

static bool run(const step_plugin_string_t *config, const step_plugin_string_t *input,
                step_plugin_string_t *ret, plugin_error_t *err) {
    if (!wj_is_object((const char *)config->ptr, config->len)) {
        return invalid(err, "config: expected a JSON object");
    }
    if (!wj_is_object((const char *)input->ptr, input->len)) {
        return invalid(err, "input: expected a JSON object");
    }
    char *name = string_field(input, "name");
    if (!name) {
        return invalid(err, "input.name: required, a string");
    }
    char *greeting = string_field(config, "greeting");
    char *model = string_field(config, "model");

    wj_buf line = {0};
    wj_lit(&line, "greeting ");
    wj_lit(&line, name);
    step_plugin_string_t text = {(uint8_t *)line.ptr, line.len};
    weft_plugin_logging_log(WEFT_PLUGIN_TYPES_LEVEL_INFO, &text);
    free(line.ptr);

    wj_buf message = {0};
    wj_lit(&message, greeting ? greeting : "Hello");
    wj_lit(&message, ", ");
    wj_lit(&message, name);
    wj_lit(&message, "!");

    wj_buf out = {0};
    wj_lit(&out, "{\"message\":");
    wj_str(&out, message.ptr ? message.ptr : "", message.len);
    bool ok = true;
    if (model) {
        wj_buf ask = {0};
        wj_lit(&ask, "Say hello to ");
        wj_lit(&ask, name);
        wj_lit(&ask, ".");
        weft_plugin_types_chat_message_t msg;
        step_plugin_string_set(&msg.role, "user");
        msg.content.ptr = (uint8_t *)ask.ptr;
        msg.content.len = ask.len;
        weft_plugin_host_completion_request_t req = {0};
        step_plugin_string_set(&req.model, model);
        req.messages.ptr = &msg;
        req.messages.len = 1;
        weft_plugin_host_completion_t completion;
        weft_plugin_host_plugin_error_t host_err;
        if (weft_plugin_host_complete(&req, &completion, &host_err)) {
            wj_lit(&out, ",\"reply\":");
            wj_str(&out, (const char *)completion.text.ptr, completion.text.len);
            weft_plugin_host_completion_free(&completion);
        } else {
            /* The host's (or the model's) error is this step's error. */
            *err = host_err;
            ok = false;
        }
        free(ask.ptr);
    }
    wj_lit(&out, "}");
    free(message.ptr);
    free(name);
    free(greeting);
    free(model);
    if (!ok || out.oom) {
        free(out.ptr);
        if (ok) {
            err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_PERMANENT;
            step_plugin_string_dup(&err->val.permanent, "out of memory");
        }
        return false;
    }
    /* The host frees what the export returns: hand over the malloc'd buffer. */
    ret->ptr = (uint8_t *)out.ptr;
    ret->len = out.len;
    return true;
}

bool exports_weft_plugin_step_run(exports_weft_plugin_step_run_info_t *info,
                                  step_plugin_string_t *config, step_plugin_string_t *input,
                                  step_plugin_string_t *ret, plugin_error_t *err) {
    bool ok = run(config, input, ret, err);
    /* The arguments of an export belong to the callee. */
    exports_weft_plugin_step_run_info_free(info);
    step_plugin_string_free(config);
    step_plugin_string_free(input);
    return ok;
}
