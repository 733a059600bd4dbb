/*
 * c-hostile-oob: a C step that writes outside its linear memory, through a
 * pointer near the top of the 32-bit address space. Wasm bounds-checks every
 * store, so the call must trap ("out of bounds") and the host go on.
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
    volatile uint8_t *wild = (volatile uint8_t *)(uintptr_t)0xFFFFFF00u;
    for (int i = 0; i < 256; i++) {
        wild[i] = 0xAA;
    }
    step_plugin_string_dup(ret, "{\"escaped\":true}");
    return true;
}
