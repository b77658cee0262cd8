"""Settings defined once: the table in :mod:`config.settings` drives TOML, env and --help."""

from config.settings import SETTINGS, ConfigError, Settings, load_settings

__all__ = ["SETTINGS", "ConfigError", "Settings", "load_settings"]
