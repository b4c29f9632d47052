"""Settings from TOML and environment, with errors that name the field, value and fix."""

import pytest

from fim_server.config import ConfigError, load_settings


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
