"""The settings table: defaults < TOML < LIBGATE_* < flags, errors naming file/key/value."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SETTINGS, ConfigError, load_settings, settings_help

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


def test_defaults_without_any_source():
    settings = load_settings(None, environ={})
    assert settings.db == "sqlite:///libgate.db"
    assert settings.port == 8080
    assert all(settings.sources[s.name] == "default" for s in SETTINGS)


def test_precedence_toml_then_env_then_flags(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[gateway]\nport = 9000\nhost = "0.0.0.0"\nhttp_timeout = 5\n')
    settings = load_settings(toml, {"port": 9100}, environ={"LIBGATE_HOST": "127.0.0.2",
                                                            "LIBGATE_PORT": "9050"})
    assert (settings.port, settings.sources["port"]) == (9100, "command line")
    assert (settings.host, settings.sources["host"]) == ("127.0.0.2", "LIBGATE_HOST")
    assert (settings.http_timeout, settings.sources["http_timeout"]) == (5.0, str(toml))


def test_example_consortium_file_loads_with_members():
    settings = load_settings(EXAMPLE, environ={})
    assert [m["code"] for m in settings.members] == ["SE-UMU", "SE-LNU", "SE-KALM"]
    assert settings.members[0]["endpoints"][0]["type"] == "oai-pmh"


@pytest.mark.parametrize(("text", "fragments"), [
    ('[gateway]\nport = "eighty"\n', ["'port'", "'eighty'", "expected int"]),
    ("[gateway]\nport = 70000\n", ["'port'", "70000", "TCP port"]),
    ('[gateway]\ndb = "mysql://x"\n', ["'db'", "'mysql://x'"]),
    ('[gateway]\nprot = 1\n', ["unknown key 'prot'"]),
    ('[gatway]\nport = 1\n', ["unknown table 'gatway'"]),
    ("[gateway\nport = 1\n", ["not valid TOML"]),
    ("[gateway]\ningest_batch_size = 0\n", ["'ingest_batch_size'", "greater than zero"]),
])
def test_bad_config_names_file_key_and_value(tmp_path, text, fragments):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(toml, environ={})
    message = str(caught.value)
    assert str(toml) in message
    for fragment in fragments:
        assert fragment in message


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="LIBGATE_PORT: key 'port'.*'http'"):
        load_settings(None, environ={"LIBGATE_PORT": "http"})


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.toml: config file not found"):
        load_settings(tmp_path / "nowhere.toml", environ={})


def test_help_lists_every_setting_with_its_variable():
    text = settings_help()
    for setting in SETTINGS:
        assert setting.env_var in text and setting.help in text
