// {{name}}: a weft model adapter. This one answers offline: its text is
// `prefix` (config, default "echo: ") followed by the last user message. A real
// adapter would call its provider over wasi:http instead.
//
// Usage: input tokens are the bytes of every message, output tokens the bytes
// of the answer (u64: BigInt); no cost (the host prices tokens with the
// model's `price`).

const bytes = (s) => BigInt(new TextEncoder().encode(s).length);

export const modelAdapter = {
  complete(config, req) {
    let settings;
    try {
      settings = JSON.parse(config);
    } catch (e) {
      throw { tag: 'invalid-input', val: `config: ${e}` };
    }
    const prefix = typeof settings?.prefix === 'string' ? settings.prefix : 'echo: ';
    const users = req.messages.filter((m) => m.role === 'user');
    if (users.length === 0) {
      throw { tag: 'invalid-input', val: 'messages: no user message' };
    }
    const text = prefix + users[users.length - 1].content;
    const inputTokens = req.messages.reduce((n, m) => n + bytes(m.content), 0n);
    return {
      text,
      model: req.model,
      usage: { inputTokens, outputTokens: bytes(text), costUsd: 0 },
      finishReason: 'stop',
    };
  },
};
