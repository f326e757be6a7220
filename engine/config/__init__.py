"""A run's settings: the typed RunSettings model, the TOML config file and the command line made from it."""

from engine.config.config_file import ConfigFileError, read_config_file
from engine.config.options import build_parser, parse_settings
from engine.config.settings import RunSettings, SettingsError

__all__ = ["ConfigFileError", "RunSettings", "SettingsError", "build_parser", "parse_settings",
           "read_config_file"]
