"""{{name}}: a weft model adapter. This one answers offline: its text is
``prefix`` (config, default ``"echo: "``) followed by the last user message. A
real adapter would call its provider over ``wasi:http`` instead.

Usage: input tokens are the bytes of every message, output tokens the bytes of
the answer; no cost (the host prices tokens with the model's ``price``).
"""

import json

# The model world also imports wasi:http, whose `types` interface takes the
# plain name: weft's types are `weft_plugin_types` here.
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.weft_plugin_types import (
    Completion,
    CompletionRequest,
    PluginError_InvalidInput,
    Usage,
)


class ModelAdapter(exports.ModelAdapter):
    def complete(self, config: str, req: CompletionRequest) -> Completion:
        try:
            settings = json.loads(config)
        except ValueError as e:
            raise Err(PluginError_InvalidInput(f"config: {e}"))
        prefix = settings.get("prefix", "echo: ") if isinstance(settings, dict) else "echo: "
        users = [m for m in req.messages if m.role == "user"]
        if not users:
            raise Err(PluginError_InvalidInput("messages: no user message"))
        text = prefix + users[-1].content
        input_tokens = sum(len(m.content.encode()) for m in req.messages)
        return Completion(
            text=text,
            model=req.model,
            usage=Usage(
                input_tokens=input_tokens,
                output_tokens=len(text.encode()),
                cost_usd=0.0,
            ),
            finish_reason="stop",
        )
