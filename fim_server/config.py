"""Engine settings from a TOML file and environment variables, validated in one place.

Precedence, lowest first: built-in defaults, the TOML file, ``FIM_SERVER_*``
environment variables, explicit overrides (command-line flags).

The TOML file is ``$FIM_SERVER_CONFIG`` when set, else
``$XDG_CONFIG_HOME/fim-server/config.toml`` (``~/.config/...``) when it exists::

    model = "/path/to/model-folder"
    dtype = "auto"          # bfloat16 where the CPU supports it natively, else float32; or set one of them
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

from .engine.dtypes import DTYPE_NAMES
from .engine.types import CONFIDENCE_FLOOR_HINT, EFFORTS, confidence_floor_problem

BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "models" / "fim-diffusion-small"
DEVICES = ("cpu",)
ENGINE_LOCATIONS = ("local", "daemon")


class ConfigError(ValueError):
    """A setting is invalid; the message names the field, the value and the fix."""

    def __init__(self, message: str, *, setting: str | None = None, value=None, problem: str = "",
                 source: str | None = None):
        super().__init__(message)
        # When one field is at fault: its name, its value, what is wrong and where it was set.
        self.setting, self.value, self.problem, self.source = setting, value, problem, source

    def located(self, source: str, as_written=None) -> ConfigError:
        """Return the same error, naming where the value was set (a file, a variable or a flag).

        ``as_written`` is the value as that source gave it, before conversion,
        so that the message quotes what the user typed ('-1' rather than -1.0).
        """
        value = self.value if as_written is None else as_written
        return ConfigError(f"invalid {self.setting} {spell(value)} in {source}: {self.problem}",
                           setting=self.setting, value=value, problem=self.problem, source=source)


def spell(value) -> str:
    """Write a setting's value as a user would type it: TOML's true/false, quoted strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _invalid(name: str, value, problem: str) -> ConfigError:
    return ConfigError(f"invalid {name} {spell(value)}: {problem}", setting=name, value=value, problem=problem)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    model: str = str(BUNDLED_MODEL)
    device: str = "cpu"
    dtype: str = "auto"  # resolved when the model loads, see engine/dtypes.py
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


IDLE_TIMEOUT_HINT = "use a whole number of seconds >= 0 (0 keeps the daemon running until it is stopped)"
# What a valid value of each number setting looks like. Type and range errors both print it.
NUMBER_HINTS = {
    "threads": "use a whole number >= 0 (0 lets torch decide)",
    "max_lines": "use a whole number from 1 to 200",
    "min_confidence": CONFIDENCE_FLOOR_HINT,
    "idle_timeout": IDLE_TIMEOUT_HINT,
}


def idle_timeout_problem(value: object) -> str | None:
    """Return why ``value`` is not a valid daemon idle timeout, or None when it is valid."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return IDLE_TIMEOUT_HINT
    return None


def validate(settings: Settings) -> Settings:
    if settings.effort not in EFFORTS:
        raise _invalid("effort", settings.effort, f"use one of {', '.join(EFFORTS)}")
    if settings.dtype not in DTYPE_NAMES:
        raise _invalid("dtype", settings.dtype, f"use one of {', '.join(DTYPE_NAMES)}")
    if settings.device not in DEVICES:
        raise _invalid("device", settings.device, "only 'cpu' is supported by this build")
    if not isinstance(settings.threads, int) or settings.threads < 0:
        raise _invalid("threads", settings.threads, NUMBER_HINTS["threads"])
    if not isinstance(settings.max_lines, int) or not 1 <= settings.max_lines <= 200:
        raise _invalid("max_lines", settings.max_lines, NUMBER_HINTS["max_lines"])
    problem = confidence_floor_problem(settings.min_confidence)
    if problem:
        raise _invalid("min_confidence", settings.min_confidence, problem)
    if not (Path(settings.model) / "config.json").is_file():
        raise _invalid("model", settings.model, "no config.json there; point it at a folder written by "
                       "`fim-server train --export`, or unset it to use the bundled model")
    if settings.engine not in ENGINE_LOCATIONS:
        raise _invalid("engine", settings.engine, "use 'local' (load the model in this process) or "
                       "'daemon' (share one model process, `fim-server serve`, between editors)")
    problem = idle_timeout_problem(settings.idle_timeout)
    if problem:
        raise _invalid("idle_timeout", settings.idle_timeout, problem)
    if settings.socket:
        socket = str(Path(settings.socket).expanduser())
        problem = socket_path_problem(socket)
        if problem:
            raise _invalid("socket", settings.socket, f"{problem}. Unset it to use the default location.")
        settings = replace(settings, socket=socket)
    return settings


def _coerce(name: str, raw, source: str):
    def wrong(problem: str) -> ConfigError:
        return _invalid(name, raw, NUMBER_HINTS.get(name, problem)).located(source)

    expected = {f.name: f.type for f in fields(Settings)}[name]
    if expected == "int" and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            raise wrong("expected a whole number") from None
    if expected == "float":
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise wrong("expected a number") from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            raise wrong("expected a number")
        return float(raw)
    if expected == "str" and not isinstance(raw, str):
        raise wrong("expected a string")
    if expected == "int" and (not isinstance(raw, int) or isinstance(raw, bool)):
        raise wrong("expected a whole number")
    return raw


def config_file_path() -> Path | None:
    explicit = os.environ.get("FIM_SERVER_CONFIG")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "fim-server" / "config.toml"
    return path if path.is_file() else None


def read_toml(path: Path, ignore: frozenset[str] = frozenset()) -> dict:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: create it or unset FIM_SERVER_CONFIG") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder: point FIM_SERVER_CONFIG at a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                          f"{exc.start}): save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        hint = ""
        if path.read_bytes().startswith(b"\xef\xbb\xbf"):
            hint = "; the file starts with a byte order mark, which TOML does not allow: save it as UTF-8 without one"
        raise ConfigError(f"config file {path} is not valid TOML: {exc}{hint}") from None
    known = set(ENV_NAMES)
    unknown = sorted(set(data) - known - ignore)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r} in {path}: known settings are {', '.join(sorted(known))}",
                          setting=unknown[0], source=str(path))
    return {name: value for name, value in data.items() if name not in ignore}


def load_settings(overrides: dict | None = None, *, environ=None) -> Settings:
    """Build validated settings from defaults, the config file, the environment and overrides.

    Raises ConfigError when any value is invalid. When several are, its message
    lists each of them, so that one run shows everything there is to fix.
    """
    environ = os.environ if environ is None else environ
    try:
        return _load(overrides, environ, frozenset(), use_file=True)
    except ConfigError as first:
        _settings, problems = _load_leaving_out_invalid(overrides, environ)
        if len(problems) < 2:
            raise
        listed = "\n".join(f"  {message}" for message, _name in problems)
        raise ConfigError(f"{len(problems)} invalid settings:\n{listed}", setting=first.setting, value=first.value,
                          problem=first.problem, source=first.source) from None


def load_settings_keeping_valid(overrides: dict | None = None, *, environ=None) -> tuple[Settings, list[str]]:
    """Build settings like ``load_settings``, but leave out invalid values instead of failing.

    Each invalid value gives way to the layer below it (flag, environment
    variable, config file, built-in default). A config file that cannot be read
    is left out as a whole. Returns the settings and one message for each thing
    left out, for a server that must start anyway and report the problems, such
    as the language server.
    """
    settings, problems = _load_leaving_out_invalid(overrides, os.environ if environ is None else environ)
    known = set(ENV_NAMES)
    return settings, [f"{message} (using {name} = {spell(getattr(settings, name))})" if name in known else message
                      for message, name in problems]


def _load_leaving_out_invalid(overrides: dict | None, environ) -> tuple[Settings, list[tuple[str, str | None]]]:
    """Settings with every invalid value left out, and (message, setting at fault) for each one."""
    problems: list[tuple[str, str | None]] = []
    skip: frozenset[tuple[str, str]] = frozenset()
    use_file = True
    settings = None
    for _ in range(3 * len(ENV_NAMES) + 2):
        try:
            settings = _load(overrides, environ, skip, use_file=use_file)
            break
        except ConfigError as exc:
            problems.append((str(exc), exc.setting))
            if exc.setting is not None and exc.source is not None and (exc.setting, exc.source) not in skip:
                skip |= {(exc.setting, exc.source)}
            elif use_file:
                use_file = False
            else:
                break
    return settings or Settings(), problems


def _load(overrides: dict | None, environ, skip: frozenset[tuple[str, str]], *, use_file: bool) -> Settings:
    """Settings from every layer, leaving out each (setting, source) pair in ``skip``.

    Only the value that wins for a setting is checked, so a flag can replace a
    broken value from the environment or the file.
    """
    raw: dict[str, tuple[object, str]] = {}  # each setting's winning value and where it was set
    path = config_file_path() if use_file else None
    if path is not None:
        ignore = frozenset(name for name, source in skip if source == str(path))
        for name, value in read_toml(path, ignore=ignore).items():
            raw[name] = value, str(path)
    for name, env in ENV_NAMES.items():
        if environ.get(env) and (name, f"${env}") not in skip:
            raw[name] = environ[env], f"${env}"
    for name, value in (overrides or {}).items():
        flag = f"--{name.replace('_', '-')}"
        if value is not None and (name, flag) not in skip:
            raw[name] = value, flag
    values = {name: _coerce(name, value, source) for name, (value, source) in raw.items()}
    try:
        return validate(replace(Settings(), **values))
    except ConfigError as exc:
        if exc.setting not in raw:
            raise
        as_written, source = raw[exc.setting]
        raise exc.located(source, as_written) from None
