// reshape: a weft step plugin, written in JavaScript (componentize-js), that groups
// the items of its input, counts them and sums some of their fields.
//
// Config (the step's `with:` block), every key optional:
//
//   {
//     "items": "items",        // field (or dotted path) of the input holding the array
//     "group_by": "customer",  // field (or dotted path) of an item to group by;
//                              //   absent: all items form one group
//     "sum": ["amount"],       // numeric fields to add up per group (or one name)
//     "count_as": "n",         // name of the per-group item count (default "count")
//     "sort_by": "-amount"     // output field to sort groups by, `-` for descending;
//                              //   default (and for ties): group key ascending
//   }
//
// Input: `{"items": [{"customer": "acme", "amount": 12.5}, ...]}`
// Output: `{"groups": [{"customer": "acme", "n": 3, "amount": 40}, ...]}`
//
// Items whose group field is missing fall into the group with key `null`. Keys of
// different JSON types sort null < booleans < numbers < strings < arrays/objects.
//
// Errors (`plugin-error` of weft:plugin/types) are `invalid-input`, naming the field:
// a non-array `items`, an item that is not an object, a summed field that is not a
// number (e.g. "input `items[3].amount` must be a number, got string"), or bad config.
//
// How an error crosses the boundary: `run` returns `result<json, plugin-error>`. The
// componentize-js bindings turn a normal return into `ok`, and a thrown value into
// `err`; the thrown value must be the variant itself, `{ tag: 'invalid-input', val:
// message }` (or an Error with a `payload` property holding it).
//
// Build with build.sh next to this file.

import { log } from 'weft:plugin/logging@0.1.0';
import { InvalidInput, parseObject, reshape } from './reshape.js';

function pluginError(tag, message) {
  return { tag, val: message };
}

export const step = {
  /**
   * @param {{runId: string, flowId: string, stepId: string, attempt: number, tenant: string}} info
   * @param {string} config the step's config, a JSON object
   * @param {string} input the step's input, a JSON object
   * @returns {string} the output as JSON
   */
  run(info, config, input) {
    let cfg;
    let output;
    try {
      cfg = parseObject(config, 'config');
      output = reshape(cfg, parseObject(input, 'input'));
    } catch (e) {
      if (e instanceof InvalidInput) throw pluginError('invalid-input', e.message);
      // A bug in this plugin: retrying will not help.
      throw pluginError('permanent', `reshape failed: ${e && e.message ? e.message : String(e)}`);
    }
    log(
      'info',
      `reshape: ${output.groups.length} group(s)` +
        (cfg.group_by ? ` by \`${cfg.group_by}\`` : '') +
        ` (step ${info.stepId}, attempt ${info.attempt})`,
    );
    return JSON.stringify(output);
  },
};
