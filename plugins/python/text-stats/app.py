"""text-stats: a weft step plugin, written in Python, that counts things in a text.

It reads one string field of the step's input (``text`` unless ``config.field``
names another one; a field name the input does not have is read as a dotted path,
e.g. ``extract.summary``) and returns::

    {
      "characters": 1234,            # Unicode code points, whitespace included
      "words": 210,                  # runs of letters/digits ("don't" is one word)
      "sentences": 12,               # stretches of text ended by . ! ? (or the end)
      "lines": 30,                   # as str.splitlines() counts them
      "average_word_length": 4.37,   # characters per word, rounded to 2 places
      "top_words": [["weft", 9], ["flow", 7], ...]
    }

``top_words`` holds the ``config.top`` (default 5) most frequent words, lowercased,
most frequent first and ties in alphabetical order. When ``config.stopwords`` is a
list of strings, those words (compared lowercased) are left out of ``top_words``;
they still count in ``words`` and ``average_word_length``.

Config (all optional)::

    {"field": "body", "top": 10, "stopwords": ["the", "a", "and"]}

Errors are ``invalid-input``: input or config that is not well-formed JSON or not an
object, a config key of the wrong type, or a missing/non-string text field.

Build it with ``build.sh`` next to this file (componentize-py, world
``step-plugin`` of ``weft:plugin@0.1.0``). The counting lives in plain functions
(``text_stats``, ``stats_for``) so it can be tried with an ordinary Python.
"""

import json
import re
from collections import Counter

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import logging
from wit_world.imports.types import (
    Level,
    PluginError_InvalidInput,
    PluginError_Permanent,
    RunInfo,
)

DEFAULT_FIELD = "text"
DEFAULT_TOP = 5

# A word is a run of letters or digits, possibly joined by an apostrophe
# ("don't", "l'eau"). `[^\W_]` is `\w` without the underscore.
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# Sentences end at one or more of . ! ? (also the ellipsis character).
SENTENCE_END_RE = re.compile(r"[.!?\u2026]+")


class InvalidInput(ValueError):
    """The config or input is wrong; the message says which field and why."""


def count_sentences(text: str) -> int:
    """Count stretches of text that end in . ! ? (or at the end) and hold a word."""
    return sum(1 for part in SENTENCE_END_RE.split(text) if WORD_RE.search(part))


def text_stats(text: str, top: int = DEFAULT_TOP, stopwords=()) -> dict:
    """Compute the statistics of `text` (see the module docstring)."""
    words = WORD_RE.findall(text)
    excluded = {word.lower() for word in stopwords}
    counts = Counter(w.lower() for w in words if w.lower() not in excluded)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    average = sum(len(w) for w in words) / len(words) if words else 0.0
    return {
        "characters": len(text),
        "words": len(words),
        "sentences": count_sentences(text),
        "lines": len(text.splitlines()),
        "average_word_length": round(average, 2),
        "top_words": [[word, count] for word, count in ranked[:top]],
    }


def _parse_object(document: str, what: str) -> dict:
    """Parse a JSON document that must be an object (`null` counts as `{}`)."""
    try:
        value = json.loads(document)
    except ValueError as error:
        raise InvalidInput(f"{what} is not well-formed JSON: {error}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _field(doc: dict, path: str):
    """The key `path` itself when `doc` has it, else the dotted path (`a.b`)."""
    if path in doc:
        return doc[path]
    value = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def stats_for(config_json: str, input_json: str) -> tuple:
    """Validate config and input, then compute the stats.

    Returns `(field, stats)`; raises `InvalidInput` when config or input is wrong.
    """
    config = _parse_object(config_json, "config")
    input_doc = _parse_object(input_json, "input")

    field = config.get("field", DEFAULT_FIELD)
    if not isinstance(field, str) or not field:
        raise InvalidInput("config `field` must be a non-empty string")

    top = config.get("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise InvalidInput("config `top` must be a non-negative integer")

    stopwords = config.get("stopwords")
    if stopwords is None:
        stopwords = []
    elif not isinstance(stopwords, list) or not all(isinstance(w, str) for w in stopwords):
        raise InvalidInput("config `stopwords` must be a list of strings")

    text = _field(input_doc, field)
    if not isinstance(text, str):
        raise InvalidInput(f"input field `{field}` is missing or not a string")

    return field, text_stats(text, top=top, stopwords=stopwords)


class Step(exports.Step):
    """The exported `step` interface."""

    def run(self, info: RunInfo, config: str, input: str) -> str:
        try:
            field, stats = stats_for(config, input)
        except InvalidInput as error:
            raise Err(PluginError_InvalidInput(str(error)))
        except Exception as error:  # a bug here: retrying would not help
            raise Err(PluginError_Permanent(f"text-stats failed: {error!r}"))
        logging.log(
            Level.INFO,
            f"text-stats: field `{field}` has {stats['characters']} characters, "
            f"{stats['words']} words, {stats['sentences']} sentences "
            f"(step {info.step_id}, attempt {info.attempt})",
        )
        return json.dumps(stats, ensure_ascii=False)
