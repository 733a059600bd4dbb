/* weft_json: see weft_json.h. */
#include "weft_json.h"

#include <stdlib.h>
#include <string.h>

static size_t skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
        i++;
    }
    return i;
}

/* Index just past the string starting at s[i] == '"', or 0 when unterminated. */
static size_t skip_string(const char *s, size_t len, size_t i) {
    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* Index just past the value starting at s[i], or 0 when it is malformed.
 * Nesting is tracked with a counter: strings are skipped whole, so brackets
 * inside them do not count. */
static size_t skip_value(const char *s, size_t len, size_t i) {
    if (i >= len) {
        return 0;
    }
    if (s[i] == '"') {
        return skip_string(s, len, i);
    }
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                if (i == 0) {
                    return 0;
                }
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
            i++;
        }
        return 0;
    }
    size_t start = i;
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
           s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
        i++;
    }
    return i > start ? i : 0;
}

/* Walk the top-level members of an object; stop at `key` when given. */
static bool walk(const char *json, size_t len, const char *key, wj_span *out) {
    size_t i = skip_ws(json, len, 0);
    if (i >= len || json[i] != '{') {
        return false;
    }
    i = skip_ws(json, len, i + 1);
    if (i < len && json[i] == '}') {
        return key == NULL && skip_ws(json, len, i + 1) == len;
    }
    size_t key_len = key ? strlen(key) : 0;
    while (i < len && json[i] == '"') {
        size_t k0 = i + 1;
        size_t k1 = skip_string(json, len, i);
        if (k1 == 0) {
            return false;
        }
        i = skip_ws(json, len, k1);
        if (i >= len || json[i] != ':') {
            return false;
        }
        size_t v0 = skip_ws(json, len, i + 1);
        size_t v1 = skip_value(json, len, v0);
        if (v1 == 0) {
            return false;
        }
        if (key && k1 - 1 - k0 == key_len && memcmp(json + k0, key, key_len) == 0) {
            out->ptr = json + v0;
            out->len = v1 - v0;
            return true;
        }
        i = skip_ws(json, len, v1);
        if (i < len && json[i] == ',') {
            i = skip_ws(json, len, i + 1);
        } else if (i < len && json[i] == '}') {
            return key == NULL && skip_ws(json, len, i + 1) == len;
        } else {
            return false;
        }
    }
    return false;
}

bool wj_field(const char *json, size_t len, const char *key, wj_span *out) {
    return walk(json, len, key, out);
}

bool wj_is_object(const char *json, size_t len) {
    return walk(json, len, NULL, NULL);
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool wj_string(wj_span v, char **out, size_t *out_len) {
    if (v.len < 2 || v.ptr[0] != '"' || v.ptr[v.len - 1] != '"') {
        return false;
    }
    /* Decoded text is never longer than the quoted text. */
    char *buf = malloc(v.len);
    if (!buf) {
        return false;
    }
    size_t n = 0;
    for (size_t i = 1; i + 1 < v.len; i++) {
        char c = v.ptr[i];
        if (c != '\\') {
            buf[n++] = c;
            continue;
        }
        if (++i + 1 >= v.len) {
            break;
        }
        switch (v.ptr[i]) {
        case 'n': buf[n++] = '\n'; break;
        case 't': buf[n++] = '\t'; break;
        case 'r': buf[n++] = '\r'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'u': {
            /* \uXXXX as UTF-8 (surrogate pairs become two 3-byte sequences). */
            unsigned cp = 0;
            for (int k = 0; k < 4 && i + 1 + k + 1 < v.len; k++) {
                int h = hex(v.ptr[i + 1 + k]);
                cp = cp * 16 + (unsigned)(h < 0 ? 0 : h);
            }
            i += 4;
            if (cp < 0x80) {
                buf[n++] = (char)cp;
            } else if (cp < 0x800) {
                buf[n++] = (char)(0xC0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[n++] = (char)(0xE0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: buf[n++] = v.ptr[i]; break; /* \" \\ \/ */
        }
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return true;
}

bool wj_u64(wj_span v, uint64_t *out) {
    if (v.len == 0) {
        return false;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) {
            return false;
        }
        n = n * 10 + (uint64_t)(c - '0');
    }
    *out = n;
    return true;
}

bool wj_next_element(wj_span v, size_t *at, wj_span *element) {
    size_t i = *at == 0 ? 1 : *at;
    if (v.len < 2 || v.ptr[0] != '[') {
        return false;
    }
    i = skip_ws(v.ptr, v.len, i);
    if (i < v.len && v.ptr[i] == ',') {
        i = skip_ws(v.ptr, v.len, i + 1);
    }
    if (i >= v.len || v.ptr[i] == ']') {
        return false;
    }
    size_t end = skip_value(v.ptr, v.len, i);
    if (end == 0) {
        return false;
    }
    element->ptr = v.ptr + i;
    element->len = end - i;
    *at = end;
    return true;
}

void wj_raw(wj_buf *b, const char *text, size_t len) {
    if (b->oom) {
        return;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        char *grown = realloc(b->ptr, cap);
        if (!grown) {
            b->oom = true;
            return;
        }
        b->ptr = grown;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, text, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void wj_lit(wj_buf *b, const char *text) {
    wj_raw(b, text, strlen(text));
}

void wj_str(wj_buf *b, const char *s, size_t len) {
    static const char digits[] = "0123456789abcdef";
    wj_raw(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            wj_raw(b, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
            wj_raw(b, esc, 6);
        } else {
            wj_raw(b, (const char *)&s[i], 1);
        }
    }
    wj_raw(b, "\"", 1);
}

void wj_u64_out(wj_buf *b, uint64_t n) {
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    wj_raw(b, digits + i, sizeof digits - i);
}
