/*
 * {{name}}: a weft pool policy that admits the oldest ready tasks first (ties
 * by task id), as many as the pool has free slots.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_plugin.h"

typedef weft_plugin_types_candidate_t candidate_t;

static int compare_ids(const pool_plugin_string_t *a, const pool_plugin_string_t *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->ptr, b->ptr, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int oldest_first(const void *pa, const void *pb) {
    const candidate_t *a = pa, *b = pb;
    if (a->ready_at_ms != b->ready_at_ms) {
        return a->ready_at_ms < b->ready_at_ms ? -1 : 1;
    }
    return compare_ids(&a->task_id, &b->task_id);
}

void exports_weft_plugin_pool_policy_select(
    pool_plugin_string_t *config, exports_weft_plugin_pool_policy_pool_state_t *state,
    exports_weft_plugin_pool_policy_list_candidate_t *candidates, pool_plugin_list_string_t *ret) {
    qsort(candidates->ptr, candidates->len, sizeof(candidate_t), oldest_first);
    size_t n = candidates->len < state->free_slots ? candidates->len : state->free_slots;
    ret->ptr = n ? malloc(n * sizeof(pool_plugin_string_t)) : NULL;
    ret->len = ret->ptr ? n : 0;
    for (size_t i = 0; i < ret->len; i++) {
        pool_plugin_string_dup_n(&ret->ptr[i], (const char *)candidates->ptr[i].task_id.ptr,
                                 candidates->ptr[i].task_id.len);
    }
    /* The arguments of an export belong to the callee. */
    pool_plugin_string_free(config);
    exports_weft_plugin_pool_policy_pool_state_free(state);
    exports_weft_plugin_pool_policy_list_candidate_free(candidates);
}
