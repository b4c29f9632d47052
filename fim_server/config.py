"""Engine settings from a TOML file and environment variables, validated in one place.

Precedence, lowest first: built-in defaults, the TOML file, ``FIM_SERVER_*``
environment variables, explicit overrides (command-line flags).

The TOML file is ``$FIM_SERVER_CONFIG`` when set, else
``$XDG_CONFIG_HOME/fim-server/config.toml`` (``~/.config/...``) when it exists::

    model = "/path/to/model-folder"
    dtype = "bfloat16"      # or "float32"
    threads = 1             # torch CPU threads; 0 lets torch decide
    effort = "low"          # instant, low, medium or high
    max_lines = 20
    min_confidence = 0.0    # 0 to 1: completions less confident than this are hidden, and 0 shows all
    engine = "local"        # or "daemon": share one model process (`fim-server serve`) between editors
    socket = ""             # the daemon's Unix socket; "" is $XDG_RUNTIME_DIR/fim-server/daemon.sock
    idle_timeout = 1800     # seconds without requests before a daemon that a client starts exits, 0 for never
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .engine.types import EFFORTS

BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "models" / "fim-diffusion-small"
DTYPE_NAMES = ("bfloat16", "float32")
DEVICES = ("cpu",)
ENGINE_LOCATIONS = ("local", "daemon")


class ConfigError(ValueError):
    """A setting is invalid; the message names the field, the value and the fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    model: str = str(BUNDLED_MODEL)
    device: str = "cpu"
    dtype: str = "bfloat16"
    # One thread: on a 2-core laptop CPU a 16-token canvas step of the bundled
    # model took 8-15 ms with one thread and several times longer with two
    # when another process was busy (measured with the engine's fill timings).
    threads: int = 1
    effort: str = "low"
    max_lines: int = 20
    # Candidates whose confidence (geometric mean token probability) is below this are dropped.
    min_confidence: float = 0.0
    # "daemon": fills go to the shared model daemon, which the first client starts.
    engine: str = "local"
    socket: str = ""  # the daemon's socket path; "" picks the default location
    # Seconds without requests before a daemon started by a client exits; 0 keeps it running.
    idle_timeout: int = 1800


ENV_NAMES = {f.name: f"FIM_SERVER_{f.name.upper()}" for f in fields(Settings)}


def socket_path_problem(path: str) -> str | None:
    """Return why ``path`` cannot be the daemon's socket path, or None when it can."""
    from .daemon.locations import MAX_SOCKET_PATH_BYTES

    if not Path(path).is_absolute():
        return "not an absolute path; use one, so that every editor finds the same socket"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        return f"longer than {MAX_SOCKET_PATH_BYTES} bytes, the limit for Unix socket paths; use a shorter path"
    if not Path(path).parent.is_dir():
        return f"folder {Path(path).parent} does not exist; create it with mode 700 or use another folder"
    return None


def idle_timeout_problem(value: object) -> str | None:
    """Return why ``value`` is not a valid daemon idle timeout, or None when it is valid."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "use a whole number of seconds >= 0 (0 keeps the daemon running until it is stopped)"
    return None


def validate(settings: Settings) -> Settings:
    if settings.effort not in EFFORTS:
        raise ConfigError(f"invalid effort {settings.effort!r}: use one of {', '.join(EFFORTS)}")
    if settings.dtype not in DTYPE_NAMES:
        raise ConfigError(f"invalid dtype {settings.dtype!r}: use one of {', '.join(DTYPE_NAMES)}")
    if settings.device not in DEVICES:
        raise ConfigError(f"invalid device {settings.device!r}: only 'cpu' is supported by this build")
    if not isinstance(settings.threads, int) or settings.threads < 0:
        raise ConfigError(f"invalid threads {settings.threads!r}: use a whole number >= 0 (0 lets torch decide)")
    if not isinstance(settings.max_lines, int) or not 1 <= settings.max_lines <= 200:
        raise ConfigError(f"invalid max_lines {settings.max_lines!r}: use a whole number from 1 to 200")
    if not 0.0 <= settings.min_confidence <= 1.0:
        raise ConfigError(f"invalid min_confidence {settings.min_confidence!r}: use a number from 0 to 1 "
                          "(0 shows every completion)")
    if not (Path(settings.model) / "config.json").is_file():
        raise ConfigError(
            f"invalid model {settings.model!r}: no config.json there; point it at a folder written by "
            "`fim-server train --export`, or unset it to use the bundled model"
        )
    if settings.engine not in ENGINE_LOCATIONS:
        raise ConfigError(f"invalid engine {settings.engine!r}: use 'local' (load the model in this process) or "
                          "'daemon' (share one model process, `fim-server serve`, between editors)")
    problem = idle_timeout_problem(settings.idle_timeout)
    if problem:
        raise ConfigError(f"invalid idle_timeout {settings.idle_timeout!r}: {problem}")
    if settings.socket:
        socket = str(Path(settings.socket).expanduser())
        problem = socket_path_problem(socket)
        if problem:
            raise ConfigError(f"invalid socket {settings.socket!r}: {problem}. Unset it to use the default location.")
        settings = replace(settings, socket=socket)
    return settings


def _coerce(name: str, raw, source: str):
    expected = {f.name: f.type for f in fields(Settings)}[name]
    if expected == "int" and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"invalid {name} {raw!r} in {source}: expected a whole number") from None
    if expected == "float":
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise ConfigError(f"invalid {name} {raw!r} in {source}: expected a number") from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            raise ConfigError(f"invalid {name} {raw!r} in {source}: expected a number")
        return float(raw)
    if expected == "str" and not isinstance(raw, str):
        raise ConfigError(f"invalid {name} {raw!r} in {source}: expected a string")
    if expected == "int" and (not isinstance(raw, int) or isinstance(raw, bool)):
        raise ConfigError(f"invalid {name} {raw!r} in {source}: expected a whole number")
    return raw


def config_file_path() -> Path | None:
    explicit = os.environ.get("FIM_SERVER_CONFIG")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "fim-server" / "config.toml"
    return path if path.is_file() else None


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: create it or unset FIM_SERVER_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = set(ENV_NAMES)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r} in {path}: known settings are {', '.join(sorted(known))}")
    return data


def load_settings(overrides: dict | None = None, *, environ=None) -> Settings:
    """Build validated settings from defaults, the config file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    path = config_file_path()
    if path is not None:
        values |= {k: _coerce(k, v, str(path)) for k, v in read_toml(path).items()}
    for name, env in ENV_NAMES.items():
        if environ.get(env):
            values[name] = _coerce(name, environ[env], f"${env}")
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    return validate(replace(Settings(), **values))
