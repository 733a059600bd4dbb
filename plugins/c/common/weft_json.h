/*
 * weft_json: the little JSON a weft C plugin needs. weft passes config, input
 * and other payloads as JSON text; these functions read the top-level fields of
 * an object and write JSON into a growable buffer. Not a general parser: no
 * DOM, keys are compared as written (no escapes in keys), numbers are read as
 * unsigned integers.
 */
#ifndef WEFT_JSON_H
#define WEFT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A span of JSON text: a value inside a document, not a copy. */
typedef struct {
    const char *ptr;
    size_t len;
} wj_span;

/* The raw value of top-level key `key` of the object in `json[0..len]`.
 * False when the text is not an object, or has no such key. */
bool wj_field(const char *json, size_t len, const char *key, wj_span *out);

/* True when `json[0..len]` is one well-formed JSON object (structure only). */
bool wj_is_object(const char *json, size_t len);

/* Decode the JSON string `v` into a new NUL-terminated buffer (malloc).
 * False when `v` is not a string; `*out` is then untouched. */
bool wj_string(wj_span v, char **out, size_t *out_len);

/* Read `v` as an unsigned integer. False when it is not one (or too big). */
bool wj_u64(wj_span v, uint64_t *out);

/* The elements of the array `v`, one per call: start with `*at = 0`; false
 * when there are no more (or `v` is not an array). */
bool wj_next_element(wj_span v, size_t *at, wj_span *element);

/* A growable output buffer. `oom` is set when an allocation failed; the
 * buffer then stops growing and the caller should report an error. */
typedef struct {
    char *ptr;
    size_t len;
    size_t cap;
    bool oom;
} wj_buf;

/* Append raw text (already JSON). */
void wj_raw(wj_buf *b, const char *text, size_t len);
/* Append a NUL-terminated raw text. */
void wj_lit(wj_buf *b, const char *text);
/* Append `s[0..len]` as a quoted, escaped JSON string. */
void wj_str(wj_buf *b, const char *s, size_t len);
/* Append an unsigned integer. */
void wj_u64_out(wj_buf *b, uint64_t n);

#endif
