"""Settings from TOML and environment, with errors that name the field, value and fix."""

from dataclasses import replace

import pytest

from fim_server.cli import settings_from
from fim_server.config import ConfigError, Settings, load_settings
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
        ('engine = "remote"', "invalid engine 'remote': use 'local'"),
        ("engine = 1", "invalid engine 1 .*: expected a string"),
        ('socket = "daemon.sock"', "invalid socket 'daemon.sock': not an absolute path"),
        ('socket = "/nonexistent-fim/daemon.sock"', "folder /nonexistent-fim does not exist"),
        (f'socket = "/tmp/{"s" * 120}.sock"', "longer than 107 bytes"),
        ("effort = ", "not valid TOML"),
        ("idle_timeout = -1", r"invalid idle_timeout -1: use a whole number of seconds >= 0 \(0 keeps"),
        ('idle_timeout = "soon"', "invalid idle_timeout 'soon' .*: expected a whole number"),
        ("idle_timeout = 1.5", "invalid idle_timeout 1.5 .*: expected a whole number"),
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


def test_idle_timeout_layers(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("idle_timeout = 600\n")
    monkeypatch.setenv("FIM_SERVER_CONFIG", str(config))
    assert load_settings(environ={}).idle_timeout == 600
    assert load_settings(environ={"FIM_SERVER_IDLE_TIMEOUT": "120"}).idle_timeout == 120
    assert load_settings({"idle_timeout": 0}, environ={"FIM_SERVER_IDLE_TIMEOUT": "120"}).idle_timeout == 0


def test_idle_timeout_defaults_to_30_minutes(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert load_settings(environ={}).idle_timeout == 1800


def test_invalid_idle_timeout_from_environment(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    with pytest.raises(ConfigError, match=r"invalid idle_timeout -5: use a whole number of seconds >= 0"):
        load_settings(environ={"FIM_SERVER_IDLE_TIMEOUT": "-5"})


def test_idle_timeout_from_command_line(monkeypatch):
    from fim_server.cli import main

    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    captured = {}

    def record_arguments(args) -> int:
        captured["args"] = args
        return 0

    monkeypatch.setattr("fim_server.cli.command_stdio", record_arguments)
    assert main(["stdio", "--engine", "daemon", "--idle-timeout", "90"]) == 0
    assert settings_from(captured["args"]).idle_timeout == 90


def test_idle_timeout_reaches_started_daemon():
    settings = replace(Settings(), idle_timeout=45)
    arguments = spawn_args_from_settings(settings)
    assert arguments[arguments.index("--idle-timeout") + 1] == "45"
