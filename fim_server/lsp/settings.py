"""Editor-facing settings of the language server, validated in one place.

Layers, lowest first: built-in defaults with the server's own configuration
(``fim_server.config``: command line, TOML file, ``FIM_SERVER_*``), then
``initializationOptions``, then the latest ``workspace/didChangeConfiguration``
(or ``workspace/configuration``) values. Each layer is read from its
``fimServer`` section when it has one, else from the object itself.

Keys, as editors send them::

    modelPath         model folder written by `fim-server train --export`; "" or null: the server default
    effort            "instant", "low", "medium" or "high", for requests the user invokes explicitly
    typingEffort      the same choices, for requests the editor sends while the user types
    maxLines          maximum lines in one suggestion, 1 to 200
    minConfidence     hide suggestions whose confidence (0 to 1) is below this; 0 shows every one;
                      null: the server default
    languages         {"*": true, "markdown": false}: on or off per LSP language id, "*" for the rest
    inComments        "on", "line" (single-line suggestions only) or "off"
    inStrings         "on", "line" or "off"
    debounceMinMs     shortest wait before a model call, 0 to 5000 ms
    debounceMaxMs     longest wait before a model call, debounceMinMs to 5000 ms
    maxDocumentChars  documents longer than this (code points) get no suggestions, 1 to 20,000,000
    engine            "local" (the model loads in the server) or "daemon" (the shared model daemon,
                      started when none runs); null: the server default
    daemonSocket      absolute path of the daemon's Unix socket; "" or null: the server default
    daemonIdleTimeout seconds without requests before a daemon that the server starts exits, 0 for
                      never; null: the server default

An invalid value keeps that key's last valid value from the same source, and
the valid keys beside it apply. The caller reports the invalid keys to the
user. A layer that is not an object, or whose values contradict each other
(debounceMinMs above debounceMaxMs), is rejected as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import ENGINE_LOCATIONS, idle_timeout_problem, socket_path_problem
from ..engine.types import EFFORTS, confidence_floor_problem
from ..pipeline import MAX_DOCUMENT_CHARS
from ..quoting import json_value

SECTION = "fimServer"
SCOPE_BEHAVIOURS = ("on", "line", "off")
# inComments/inStrings value -> the pipeline's policy (CompletionRequest.comments and .strings)
SCOPE_POLICIES = {"on": "complete", "line": "line", "off": "none"}
MAX_DEBOUNCE_MS = 5000


class SettingsError(ValueError):
    """One or more settings are invalid; the message names each key, its value and the fix."""


class PartlyAppliedSettings(SettingsError):
    """Some keys of a layer were invalid and kept their last valid values; the other keys applied.

    ``previous`` is the settings before the update and ``layer`` the layer now in force.
    """

    def __init__(self, message: str, *, previous: LspSettings, layer: Layer) -> None:
        super().__init__(message)
        self.previous, self.layer = previous, layer


@dataclass(frozen=True, slots=True, kw_only=True)
class LspSettings:
    model: str | None = None  # None: the model the server was started with
    effort: str = "low"
    typing_effort: str = "instant"  # automatic triggers: fewer steps keep up with typing
    max_lines: int = 20
    min_confidence: float = 0.0
    languages: Mapping[str, bool] = field(default_factory=lambda: {"*": True})
    in_comments: str = "on"
    in_strings: str = "line"
    debounce_min_ms: int = 10
    debounce_max_ms: int = 500
    max_document_chars: int = 2_000_000
    engine: str | None = None  # None: the engine setting the server was started with
    socket: str | None = None  # None: the socket setting the server was started with
    idle_timeout: int | None = None  # None: the idle_timeout setting the server was started with

    def language_enabled(self, language_id: str) -> bool:
        if language_id in self.languages:
            return self.languages[language_id]
        return self.languages.get("*", True)


def _whole_number(low: int, high: int):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return None, f"use a whole number from {low} to {high}"
        return value, None

    return check


def _fraction_or_default(value):
    """Check a 0-1 fraction. None passes, and ``combine`` then uses the server's own value."""
    if value is None:
        return None, None
    problem = confidence_floor_problem(value)
    if problem:
        return None, problem
    return float(value), None


def _one_of(choices: tuple[str, ...]):
    def check(value):
        if value not in choices:
            return None, f"use one of {', '.join(json_value(choice) for choice in choices)}"
        return value, None

    return check


def _model_path(value):
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "use a folder path as a string, or \"\" for the server default"
    if not (Path(value).expanduser() / "config.json").is_file():
        return None, "no config.json there; use a folder written by `fim-server train --export`"
    return str(Path(value).expanduser()), None


def _engine(value):
    if value is None:
        return None, None
    return _one_of(ENGINE_LOCATIONS)(value)


def _socket_path(value):
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "use an absolute path as a string, or \"\" for the server default"
    path = str(Path(value).expanduser())
    problem = socket_path_problem(path)
    return (None, problem) if problem else (path, None)


def _idle_timeout(value):
    if value is None:
        return None, None
    problem = idle_timeout_problem(value)
    return (None, problem) if problem else (value, None)


def _languages(value):
    problem = 'use an object such as {"*": true, "markdown": false}'
    if not isinstance(value, Mapping):
        return None, problem
    if not all(isinstance(key, str) and isinstance(flag, bool) for key, flag in value.items()):
        return None, problem + " (language ids mapped to true or false)"
    return dict(value), None


# JSON key -> (field name, check returning (value, problem))
_KEYS = {
    "modelPath": ("model", _model_path),
    "effort": ("effort", _one_of(tuple(EFFORTS))),
    "typingEffort": ("typing_effort", _one_of(tuple(EFFORTS))),
    "maxLines": ("max_lines", _whole_number(1, 200)),
    "minConfidence": ("min_confidence", _fraction_or_default),
    "languages": ("languages", _languages),
    "inComments": ("in_comments", _one_of(SCOPE_BEHAVIOURS)),
    "inStrings": ("in_strings", _one_of(SCOPE_BEHAVIOURS)),
    "debounceMinMs": ("debounce_min_ms", _whole_number(0, MAX_DEBOUNCE_MS)),
    "debounceMaxMs": ("debounce_max_ms", _whole_number(0, MAX_DEBOUNCE_MS)),
    "maxDocumentChars": ("max_document_chars", _whole_number(1, MAX_DOCUMENT_CHARS)),
    "engine": ("engine", _engine),
    "daemonSocket": ("socket", _socket_path),
    "daemonIdleTimeout": ("idle_timeout", _idle_timeout),
}
KNOWN_KEYS = tuple(_KEYS)


@dataclass(frozen=True, slots=True)
class Layer:
    """Validated values of one settings source, and the keys it did not recognise."""

    values: dict[str, object]
    unknown: tuple[str, ...] = ()


def section_of(raw: object) -> object:
    """Return the ``fimServer`` section of a settings object, or the object itself."""
    if isinstance(raw, Mapping) and SECTION in raw:
        return raw[SECTION]
    return raw


def check_layer(raw: object, source: str) -> tuple[Layer, dict[str, str]]:
    """Validate one settings object and return the layer of its valid keys and a problem per invalid field.

    Raises SettingsError when ``raw`` is not an object at all.
    """
    raw = section_of(raw)
    if raw is None:
        return Layer({}), {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f"invalid {source}: expected an object of settings, got {type(raw).__name__}")
    values: dict[str, object] = {}
    invalid: dict[str, str] = {}  # field name -> "key=value: problem"
    for key, value in raw.items():
        if key not in _KEYS:
            continue
        name, check = _KEYS[key]
        checked, problem = check(value)
        if problem:
            invalid[name] = f"{key}={json_value(value)}: {problem}"
        else:
            values[name] = checked
    unknown = tuple(sorted(str(key) for key in raw if key not in _KEYS))
    return Layer(values, unknown), invalid


def combine(base: LspSettings, *layers: Layer) -> LspSettings:
    """Apply layers over ``base`` in order and check the settings that depend on each other."""
    values: dict[str, object] = {}
    for layer in layers:
        values.update(layer.values)
    # A null from the editor selects the server's own value, which ``base`` carries.
    chosen = {name: getattr(base, name) if value is None else value for name, value in values.items()}
    settings = replace(base, **chosen)
    if settings.debounce_min_ms > settings.debounce_max_ms:
        raise SettingsError(
            f"invalid settings: debounceMinMs={settings.debounce_min_ms} is above "
            f"debounceMaxMs={settings.debounce_max_ms}; make the minimum the smaller one"
        )
    return settings


class SettingsState:
    """The current settings and the layers they were built from.

    ``update`` keeps, for each invalid key, the value that the same source
    last gave it, and commits the layer only when the combined settings are
    valid.
    """

    def __init__(self, base: LspSettings) -> None:
        self.base = base
        self._layers: dict[str, Layer] = {"initializationOptions": Layer({}), "workspace": Layer({})}
        self.current = base

    def update(self, origin: str, raw: object, source: str) -> tuple[LspSettings, Layer]:
        """Replace the ``origin`` layer ("initializationOptions" or "workspace") with ``raw``.

        Returns (previous settings, parsed layer). When some keys are invalid,
        the rest apply and PartlyAppliedSettings names the invalid ones. When
        ``raw`` is not an object or the combined settings contradict each other,
        SettingsError is raised and the current settings stay.
        """
        layer, invalid = check_layer(raw, source)
        if invalid:
            last = self._layers[origin].values
            last_valid = {name: last[name] for name in invalid if name in last}
            layer = Layer({**layer.values, **last_valid}, layer.unknown)
        layers = {**self._layers, origin: layer}
        settings = combine(self.base, *layers.values())
        previous, self.current, self._layers = self.current, settings, layers
        if invalid:
            raise PartlyAppliedSettings(f"invalid settings in {source}: " + "; ".join(invalid.values()),
                                        previous=previous, layer=layer)
        return previous, layer


__all__ = ["KNOWN_KEYS", "SCOPE_POLICIES", "Layer", "LspSettings", "PartlyAppliedSettings", "SettingsError",
           "SettingsState", "check_layer", "combine"]
