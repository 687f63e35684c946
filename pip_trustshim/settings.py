"""The shim's three settings, read the way pip reads its own.

``[trustshim]`` in pip's configuration files (found, ordered and parsed by
pip's own ``Configuration`` class), overridden by ``PIP_TRUSTSHIM*``
environment variables, which ``pip --isolated`` ignores as pip does. Each
value remembers where it came from, so an error can name its source.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Tuple

ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")
STORE_WORDS = ("system", "certifi")
SECTION = "trustshim"
#: environment variable through which pip hands its resolved settings to the
#: pips it starts for build isolation (internal; not a user setting)
INHERITED = "_PIP_TRUSTSHIM_INHERITED"

#: setting name -> (environment variable, default value)
NAMES = {
    "enabled": ("PIP_TRUSTSHIM", "off"),
    "store": ("PIP_TRUSTSHIM_STORE", "system"),
    "extra-ca": ("PIP_TRUSTSHIM_EXTRA_CA", ""),
}


class ShimError(Exception):
    """A problem the shim reports as one line and then refuses to go on."""


@dataclass(frozen=True)
class Setting:
    """One setting's value and where it came from."""

    name: str
    value: str
    source: str

    @property
    def key(self) -> str:
        return f"{SECTION}.{self.name}"

    def error(self, problem: str) -> ShimError:
        """The one-line error naming this setting, its value and its source."""
        return ShimError(
            f"pip-trustshim: {self.key} = {self.value!r} (from {self.source}): {problem}"
        )


@dataclass(frozen=True)
class Settings:
    """All three settings, as one pip process sees them."""

    enabled: Setting
    store: Setting
    extra_ca: Setting
    isolated: bool
    #: CA bundles a parent pip was given (``--cert``...), each (path, source)
    bundles: Tuple[Tuple[str, str], ...] = ()

    def is_on(self) -> bool:
        """Whether the switch is on; an unknown word is an error, never off."""
        word = self.enabled.value.strip().lower()
        if word in ON_WORDS:
            return True
        if word in OFF_WORDS:
            return False
        raise self.enabled.error("not a switch value (on: 1 true yes on; off: 0 false no off)")

    def extra_ca_paths(self) -> list[str]:
        """The extra CA paths, split on os.pathsep and newlines, expanded."""
        pieces = self.extra_ca.value.replace("\n", os.pathsep).split(os.pathsep)
        return [expand(piece.strip()) for piece in pieces if piece.strip()]


def expand(path: str) -> str:
    """Expand environment variables and ``~`` in a path."""
    return os.path.expanduser(os.path.expandvars(path))


def read(isolated: bool, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings: environment (unless isolated), then pip's files.

    A pip started by another pip (build isolation) takes its parent's
    settings instead, exactly as the parent resolved them.
    """
    if INHERITED in environ:
        return from_parent(environ[INHERITED])
    config = load_pip_configuration(isolated)
    found = {
        name: _from_environment(name, environ, isolated) or _from_config(config, name)
        for name in NAMES
    }
    return Settings(
        enabled=found["enabled"] or _default("enabled"),
        store=found["store"] or _default("store"),
        extra_ca=found["extra-ca"] or _default("extra-ca"),
        isolated=isolated,
    )


def check_config_file(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a ``PIP_CONFIG_FILE`` that names no file, which pip skips silently."""
    path = environ.get("PIP_CONFIG_FILE", "")
    if path and path != os.devnull and not os.path.exists(path) and INHERITED not in environ:
        raise Setting("config-file", path, "environment variable PIP_CONFIG_FILE").error(
            "no such file (pip would skip it silently; fix or unset PIP_CONFIG_FILE)"
        )


def for_children(settings: Settings, bundles: Iterable[Tuple[str, str]]) -> str:
    """The value of ``INHERITED`` that hands these settings to child pips."""
    fields = {s.name: [s.value, s.source] for s in (settings.enabled, settings.store)}
    fields["extra-ca"] = [settings.extra_ca.value, settings.extra_ca.source]
    return json.dumps({**fields, "bundles": [list(bundle) for bundle in bundles]})


def from_parent(text: str) -> Settings:
    """Settings handed down by a parent pip through ``INHERITED``."""
    try:
        data = json.loads(text)
        found = {
            name: Setting(name, str(data[name][0]), f"{data[name][1]}, via the parent pip")
            for name in NAMES
        }
        bundles = tuple((str(path), str(source)) for path, source in data["bundles"])
    except (ValueError, KeyError, TypeError, IndexError):
        raise ShimError(
            f"pip-trustshim: {INHERITED} (set by a parent pip for its build "
            "subprocesses) is malformed; unset it"
        ) from None
    return Settings(found["enabled"], found["store"], found["extra-ca"], False, bundles)


def load_pip_configuration(isolated: bool) -> Any:
    """pip's own Configuration, loaded exactly as pip loads it."""
    from pip._internal.configuration import Configuration

    config = Configuration(isolated=isolated)
    config.load()
    return config


def _default(name: str) -> Setting:
    return Setting(name, NAMES[name][1], "default")


def _from_environment(name: str, environ: Mapping[str, str], isolated: bool) -> Setting | None:
    variable = NAMES[name][0]
    if isolated or variable not in environ:
        return None
    return Setting(name, environ[variable], f"environment variable {variable}")


def _spellings(name: str) -> tuple[str, ...]:
    # pip normalises '_' to '-' in get_value only from 22.2 on.
    return (name, name.replace("-", "_")) if "-" in name else (name,)


def _from_config(config: Any, name: str) -> Setting | None:
    from pip._internal.exceptions import ConfigurationError

    for spelling in _spellings(name):
        try:
            value = config.get_value(f"{SECTION}.{spelling}")
        except (ConfigurationError, KeyError):
            continue
        return Setting(name, str(value), config_source(config, name))
    return None


def config_source(config: Any, name: str, section: str = SECTION) -> str:
    """The file (and pip's level for it) that sets ``[section] name`` last."""
    source = "pip configuration"
    parsers = getattr(config, "_parsers", {})
    for variant, entries in parsers.items():
        level = getattr(variant, "value", variant)
        for filename, parser in entries:
            if not parser.has_section(section):
                continue
            if any(parser.has_option(section, s) for s in _spellings(name)):
                source = f"{filename} ({level})"
    return source
