"""Settings from TOML and environment, with errors that name the field, value and fix."""

import re
from dataclasses import replace

import pytest

from fim_server.cli import settings_from
from fim_server.config import ConfigError, Settings, load_settings, load_settings_keeping_valid
from fim_server.daemon import spawn_args_from_settings


def test_environment_overrides_file(tmp_path, monkeypatch, bundled_model_path):
    config = tmp_path / "config.toml"
    config.write_text(f'model = "{bundled_model_path}"\neffort = "medium"\nthreads = 2\n')
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    settings = load_settings(environ={"FIM_SERVER_EFFORT": "instant"})
    assert settings.effort == "instant"
    assert settings.threads == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('effort = "turbo"', "invalid effort 'turbo'"),
        ("threads = -1", "invalid threads -1"),
        ('threads = "many"', "invalid threads 'many'"),
        ('dtype = "int4"', "invalid dtype 'int4'"),
        ('model = "/nonexistent/model"', "invalid model '/nonexistent/model'"),
        ("colour = 1", "unknown setting 'colour'"),
        ('engine = "remote"', r"invalid engine 'remote' in .*config\.toml: use 'local'"),
        ("engine = 1", "invalid engine 1 .*: expected a string"),
        ('socket = "daemon.sock"', r"invalid socket 'daemon.sock' in .*config\.toml: not an absolute path"),
        ('socket = "/nonexistent-fim/daemon.sock"', "folder /nonexistent-fim does not exist"),
        (f'socket = "/tmp/{"s" * 120}.sock"', "longer than 107 bytes"),
        ("effort = ", "not valid TOML"),
        ("idle_timeout = -1", r"invalid idle_timeout -1 in .*config\.toml: use a whole number of seconds >= 0 \(0 keeps"),
        ('idle_timeout = "soon"', "invalid idle_timeout 'soon' .*: use a whole number of seconds >= 0"),
        ("idle_timeout = 1.5", "invalid idle_timeout 1.5 .*: use a whole number of seconds >= 0"),
        ("min_confidence = 1.5", r"invalid min_confidence 1.5 in .*config\.toml: use a number from 0 to 1 \(0 shows"),
        ("min_confidence = -0.1", r"invalid min_confidence -0.1 in .*config\.toml: use a number from 0 to 1"),
        ('min_confidence = "high"', r"invalid min_confidence 'high' in .*config\.toml: use a number from 0 to 1 \(0 shows"),
        ("min_confidence = true", r"invalid min_confidence true in .*config\.toml: use a number from 0 to 1 \(0 shows"),
        ("min_confidence = nan", r"invalid min_confidence nan in .*config\.toml: use a number from 0 to 1 \(0 shows"),
    ],
)
def test_invalid_file_settings(tmp_path, monkeypatch, content, message):
    config = tmp_path / "config.toml"
    config.write_text(content + "\n")
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={})


def test_invalid_environment_value(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    with pytest.raises(ConfigError, match=r"invalid max_lines 'ten' in \$FIM_SERVER_MAX_LINES"):
        load_settings(environ={"FIM_SERVER_MAX_LINES": "ten"})


@pytest.mark.parametrize(
    ("environ", "overrides", "message"),
    [
        ({"FIM_SERVER_MIN_CONFIDENCE": "1.5"}, None, r"invalid min_confidence '1\.5' in \$FIM_SERVER_MIN_CONFIDENCE: use a"),
        ({}, {"max_lines": 0}, r"invalid max_lines 0 in --max-lines: use a whole number from 1 to 200"),
        ({"FIM_SERVER_EFFORT": "turbo"}, {"effort": "fast"}, r"invalid effort 'fast' in --effort: use one of"),
    ],
)
def test_range_error_names_source(monkeypatch, environ, overrides, message):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides, environ=environ)


def test_engine_and_socket_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    socket = tmp_path / "daemon.sock"
    settings = load_settings(environ={"FIM_SERVER_ENGINE": "daemon", "FIM_SERVER_SOCKET": str(socket)})
    assert settings.engine == "daemon"
    assert settings.socket == str(socket)


def test_engine_defaults_to_local(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    settings = load_settings(environ={})
    assert settings.engine == "local"
    assert settings.socket == ""


def test_socket_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings({"socket": "~/daemon.sock"}, environ={})
    assert settings.socket == str(tmp_path / "daemon.sock")


@pytest.mark.parametrize(("name", "in_file", "in_environment", "on_command_line"), [
    ("idle_timeout", 600, 120, 0),
    ("min_confidence", 0.3, 0.25, 1.0),
])
def test_setting_layers(tmp_path, monkeypatch, name, in_file, in_environment, on_command_line):
    config = tmp_path / "config.toml"
    config.write_text(f"{name} = {in_file}\n")
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    variable = f"FIM_SERVER_{name.upper()}"
    assert getattr(load_settings(environ={}), name) == in_file
    assert getattr(load_settings(environ={variable: str(in_environment)}), name) == in_environment
    layered = load_settings({name: on_command_line}, environ={variable: str(in_environment)})
    assert getattr(layered, name) == on_command_line


def test_idle_timeout_defaults_to_30_minutes(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert load_settings(environ={}).idle_timeout == 1800


def test_invalid_idle_timeout_from_environment(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    with pytest.raises(ConfigError, match=r"invalid idle_timeout '-5' in \$FIM_SERVER_IDLE_TIMEOUT: use a whole number of seconds >= 0"):
        load_settings(environ={"FIM_SERVER_IDLE_TIMEOUT": "-5"})


def stdio_arguments(monkeypatch, *flags: str):
    """Parse ``fim-server stdio FLAGS`` with the real parser and return the arguments it would run with."""
    from fim_server.cli import main

    captured = {}

    def record_arguments(args) -> int:
        captured["args"] = args
        return 0

    monkeypatch.setattr("fim_server.cli.command_stdio", record_arguments)
    assert main(["stdio", *flags]) == 0
    return captured["args"]


def test_idle_timeout_from_command_line(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    args = stdio_arguments(monkeypatch, "--engine", "daemon", "--idle-timeout", "90")
    assert settings_from(args).idle_timeout == 90


def test_idle_timeout_reaches_started_daemon():
    settings = replace(Settings(), idle_timeout=45)
    arguments = spawn_args_from_settings(settings)
    assert arguments[arguments.index("--idle-timeout") + 1] == "45"


def test_confidence_floor_from_command_line(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert settings_from(stdio_arguments(monkeypatch, "--min-confidence", "0.6")).min_confidence == 0.6


def test_confidence_floor_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert load_settings(environ={}).min_confidence == 0.0
    with pytest.raises(ConfigError, match=r"invalid min_confidence 'most' in \$FIM_SERVER_MIN_CONFIDENCE"):
        load_settings(environ={"FIM_SERVER_MIN_CONFIDENCE": "most"})


def test_lenient_load_falls_back(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('effort = "medium"\ncolour = "blue"\nmax_lines = 7\n')
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    settings, problems = load_settings_keeping_valid(
        {"effort": "turbo", "min_confidence": 0.4}, environ={"FIM_SERVER_THREADS": "-2"})
    assert settings.effort == "medium"
    assert settings.max_lines == 7
    assert settings.min_confidence == 0.4
    assert settings.threads == 1
    assert len(problems) == 3
    [effort_problem] = [problem for problem in problems if "invalid effort 'turbo' in --effort" in problem]
    assert effort_problem.endswith("(using effort = 'medium')")
    assert any("unknown setting 'colour'" in problem for problem in problems)
    assert any("invalid threads '-2' in $FIM_SERVER_THREADS" in problem for problem in problems)


def test_lenient_load_skips_broken_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("effort = \n")
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    settings, problems = load_settings_keeping_valid({"max_lines": 3}, environ={"FIM_SERVER_EFFORT": "high"})
    assert settings.effort == "high"
    assert settings.max_lines == 3
    [problem] = problems
    assert "not valid TOML" in problem


def test_lenient_load_valid_input(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    settings, problems = load_settings_keeping_valid({"effort": "high"}, environ={})
    assert settings.effort == "high"
    assert problems == []


def test_flag_replaces_broken_env(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    settings = load_settings({"threads": "2", "min_confidence": "0.25"},
                             environ={"FIM_SERVER_THREADS": "x", "FIM_SERVER_MIN_CONFIDENCE": "-1"})
    assert settings.threads == 2
    assert settings.min_confidence == 0.25


def test_every_invalid_value_listed(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('effort = "turbo"\nmax_lines = 0\ncolour = "blue"\n')
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    with pytest.raises(ConfigError) as raised:
        load_settings({"threads": "-1"}, environ={"FIM_SERVER_MIN_CONFIDENCE": "2"})
    lines = str(raised.value).splitlines()
    assert lines[0] == "5 invalid settings:"
    assert "unknown setting 'colour'" in lines[1]
    assert sum("invalid effort 'turbo' in" in line for line in lines) == 1
    assert sum("invalid max_lines 0 in" in line for line in lines) == 1
    assert sum("invalid threads '-1' in --threads" in line for line in lines) == 1
    assert sum("invalid min_confidence '2' in $FIM_SERVER_MIN_CONFIDENCE" in line for line in lines) == 1


def test_single_invalid_value_unchanged(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"FIM_SERVER_EFFORT": "turbo"})
    assert str(raised.value).startswith("invalid effort 'turbo' in $FIM_SERVER_EFFORT: use one of")
    assert raised.value.setting == "effort"


@pytest.mark.parametrize(("content", "message"), [
    (None, "is a folder: point FIM_SERVER_CONFIG at a TOML file"),
    (b'effort = "l\xffw"\n', "is not UTF-8 text (byte 0xff at offset 11): save it as UTF-8"),
    (b'\xef\xbb\xbfeffort = "low"\n', "which TOML does not allow: save it as UTF-8 without one"),
])
def test_unreadable_config_file(tmp_path, monkeypatch, content, message):
    config = tmp_path / "config.toml"
    if content is None:
        config.mkdir()
    else:
        config.write_bytes(content)
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environ={})
