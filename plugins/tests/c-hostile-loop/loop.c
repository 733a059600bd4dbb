/*
 * c-hostile-loop: a C step that never returns. The host's deadline must stop
 * it; `volatile` keeps the optimiser from deleting the loop.
 */
#include <stdint.h>

#include "step_plugin.h"

bool exports_weft_plugin_step_run(exports_weft_plugin_step_run_info_t *info,
                                  step_plugin_string_t *config, step_plugin_string_t *input,
                                  step_plugin_string_t *ret,
                                  exports_weft_plugin_step_plugin_error_t *err) {
    (void)info;
    (void)config;
    (void)input;
    (void)err;
    volatile uint64_t spins = 0;
    for (;;) {
        spins++;
    }
    step_plugin_string_dup(ret, "{}");
    return true;
}
