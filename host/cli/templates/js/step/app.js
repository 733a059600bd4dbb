// {{name}}: a weft step plugin.
//
// Input: `{"name": "Ada"}`. Config (optional): `{"greeting": "Hello", "model":
// "mock"}`. Output: `{"message": "Hello, Ada!"}`; with `model`, the step also
// asks that model (a model of weft.yaml) to greet the name and adds its answer
// as `reply`.
//
// An error is thrown as the plugin-error variant: `{ tag: 'invalid-input', val: msg }`.

import { log } from 'weft:plugin/logging@0.1.0';
import { complete } from 'weft:plugin/host@0.1.0';

function object(what, text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw { tag: 'invalid-input', val: `${what}: expected a JSON object` };
  }
  return value;
}

export const step = {
  run(info, config, input) {
    const settings = object('config', config);
    const data = object('input', input);
    if (typeof data.name !== 'string') {
      throw { tag: 'invalid-input', val: 'input.name: required, a string' };
    }
    const greeting = typeof settings.greeting === 'string' ? settings.greeting : 'Hello';
    log('info', `greeting ${data.name} (attempt ${info.attempt})`);
    const out = { message: `${greeting}, ${data.name}!` };
    if (typeof settings.model === 'string') {
      const completion = complete({
        model: settings.model,
        messages: [{ role: 'user', content: `Say hello to ${data.name}.` }],
      });
      out.reply = completion.text;
    }
    return JSON.stringify(out);
  },
};
