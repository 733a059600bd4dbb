/*
 * word-count: the C reference step plugin of weft.
 *
 * Input: {"text": "..."} (config `{"field": "body"}` reads another top-level
 * field). Output: {"words": N, "characters": N, "lines": N}, where a word is
 * a run of non-space bytes, characters are UTF-8 code points and lines are
 * counted as `wc -l` does plus one for a last line without a newline.
 *
 * Errors are invalid-input, naming the field: a config or input that is not a
 * JSON object, a missing or non-string text field.
 *
 * Built by plugins/c/build.sh (wit-bindgen c, clang, wasm-tools).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_plugin.h"
#include "weft_json.h"

typedef exports_weft_plugin_step_plugin_error_t plugin_error_t;

static bool fail(plugin_error_t *err, const char *message) {
    err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_INPUT;
    step_plugin_string_dup(&err->val.invalid_input, message);
    return false;
}

static bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool run(const step_plugin_string_t *config, const step_plugin_string_t *input,
                step_plugin_string_t *ret, plugin_error_t *err) {
    const char *cfg = (const char *)config->ptr;
    const char *in = (const char *)input->ptr;
    if (!wj_is_object(cfg, config->len)) {
        return fail(err, "config: expected a JSON object");
    }
    if (!wj_is_object(in, input->len)) {
        return fail(err, "input: expected a JSON object");
    }
    char *field = NULL;
    size_t field_len = 0;
    wj_span v;
    if (wj_field(cfg, config->len, "field", &v) && !wj_string(v, &field, &field_len)) {
        return fail(err, "config.field: expected a string");
    }
    const char *key = field ? field : "text";
    char *text = NULL;
    size_t len = 0;
    if (!wj_field(in, input->len, key, &v) || !wj_string(v, &text, &len)) {
        char message[160];
        snprintf(message, sizeof message, "input.%.100s: required, a string", key);
        free(field);
        return fail(err, message);
    }
    free(field);

    uint64_t words = 0, characters = 0, lines = 0;
    bool in_word = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xC0) != 0x80) {
            characters++;
        }
        if (c == '\n') {
            lines++;
        }
        if (is_space((char)c)) {
            in_word = false;
        } else if (!in_word) {
            in_word = true;
            words++;
        }
    }
    if (len > 0 && text[len - 1] != '\n') {
        lines++;
    }
    free(text);

    char line[96];
    snprintf(line, sizeof line, "%llu words in %llu lines", (unsigned long long)words,
             (unsigned long long)lines);
    step_plugin_string_t message;
    step_plugin_string_set(&message, line);
    weft_plugin_logging_log(WEFT_PLUGIN_TYPES_LEVEL_INFO, &message);

    wj_buf out = {0};
    wj_lit(&out, "{\"words\":");
    wj_u64_out(&out, words);
    wj_lit(&out, ",\"characters\":");
    wj_u64_out(&out, characters);
    wj_lit(&out, ",\"lines\":");
    wj_u64_out(&out, lines);
    wj_lit(&out, "}");
    if (out.oom) {
        free(out.ptr);
        err->tag = WEFT_PLUGIN_TYPES_PLUGIN_ERROR_PERMANENT;
        step_plugin_string_dup(&err->val.permanent, "word-count: out of memory");
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
    /* Arguments of an export belong to the callee. */
    exports_weft_plugin_step_run_info_free(info);
    step_plugin_string_free(config);
    step_plugin_string_free(input);
    return ok;
}
