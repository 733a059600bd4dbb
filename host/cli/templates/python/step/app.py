"""{{name}}: a weft step plugin.

Input: ``{"name": "Ada"}``. Config (optional): ``{"greeting": "Hello", "model":
"mock"}``. Output: ``{"message": "Hello, Ada!"}``; with ``model``, the step also
asks that model (a model of weft.yaml) to greet the name and adds its answer as
``reply``.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, logging
from wit_world.imports.types import (
    ChatMessage,
    CompletionRequest,
    Level,
    PluginError_InvalidInput,
    RunInfo,
)


def _object(what: str, text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Err(PluginError_InvalidInput(f"{what}: expected a JSON object"))
    return value


class Step(exports.Step):
    def run(self, info: RunInfo, config: str, input: str) -> str:
        config = _object("config", config)
        data = _object("input", input)
        name = data.get("name")
        if not isinstance(name, str):
            raise Err(PluginError_InvalidInput("input.name: required, a string"))
        greeting = config.get("greeting", "Hello")
        logging.log(Level.INFO, f"greeting {name} (attempt {info.attempt})")
        out = {"message": f"{greeting}, {name}!"}
        model = config.get("model")
        if isinstance(model, str):
            # An error of the host (or the model) is raised as Err and passed on.
            completion = host.complete(
                CompletionRequest(
                    model=model,
                    messages=[ChatMessage(role="user", content=f"Say hello to {name}.")],
                    max_tokens=None,
                    temperature=None,
                    extra=None,
                )
            )
            out["reply"] = completion.text
        return json.dumps(out)
