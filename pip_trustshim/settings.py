"""The shim's settings, read the way pip reads its own.

``[trustshim]`` in pip's configuration files (found, ordered and parsed by
pip's own ``Configuration`` class), overridden by ``PIP_TRUSTSHIM*``
environment variables, which ``pip --isolated`` ignores as pip does. Each
value remembers where it came from, so an error can name its source.

Also here: the CA bundles a parent pip hands to the pips it starts for build
isolation (``INHERITED``), which only add to what a child that is switched on
by its own settings trusts, as ``PIP_CERT`` would: whoever sets the variable
by hand can do no more with it than with ``PIP_CERT``. The per-host tables
are read here as text; ``hosts`` parses them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from .errors import ShimError, UnparsableConfig, bad_value, escape, unrecognised_pip

ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")  # the same words as _pip_trustshim_boot.OFF_WORDS
STORE_WORDS = ("system", "certifi")
SECTION = "trustshim"
#: environment variable through which pip hands the CA bundles it was given
#: to the pips it starts for build isolation (internal; not a user setting)
INHERITED = "_PIP_TRUSTSHIM_INHERITED"

#: setting name -> (environment variable, default value)
NAMES = {
    "enabled": ("PIP_TRUSTSHIM", "off"),
    "store": ("PIP_TRUSTSHIM_STORE", "system"),
    "extra-ca": ("PIP_TRUSTSHIM_EXTRA_CA", ""),
    "host-ca": ("PIP_TRUSTSHIM_HOST_CA", ""),
    "host-client-cert": ("PIP_TRUSTSHIM_HOST_CLIENT_CERT", ""),
}


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
        return bad_value(self.key, self.value, self.source, problem)


@dataclass(frozen=True)
class Bundle:
    """A CA bundle pip itself was given, and every place that names it."""

    path: str
    sources: Tuple[str, ...]

    @property
    def source(self) -> str:
        return " and ".join(self.sources)

    def error(self, problem: str) -> ShimError:
        return bad_value("pip's CA bundle", self.path, self.source, problem)


@dataclass(frozen=True)
class Settings:
    """All the settings, as one pip process sees them."""

    enabled: Setting
    store: Setting
    extra_ca: Setting
    isolated: bool
    #: CA bundles the parent pip was given (its ``--cert``), for a build child
    inherited: Tuple[Bundle, ...] = ()
    #: per-host entries (parsed by ``hosts``)
    host_ca: Setting = Setting("host-ca", "", "default")
    host_client_cert: Setting = Setting("host-client-cert", "", "default")
    #: a warning for each ``[trustshim]`` key and ``PIP_TRUSTSHIM_*`` variable
    #: that is no setting (``unknown_names``): pip ignores them silently
    unknown: Tuple[str, ...] = ()

    def is_on(self) -> bool:
        """Whether the switch is on; an unknown word is an error, never off."""
        word = self.enabled.value.strip().lower()
        if word in ON_WORDS:
            return True
        if word in OFF_WORDS:
            return False
        raise self.enabled.error("not a switch value (on: 1 true yes on; off: 0 false no off)")

    def extra_ca_paths(self) -> List[str]:
        """The extra CA paths, split on os.pathsep and newlines, expanded."""
        return split_paths(self.extra_ca.value)


def split_paths(value: str) -> List[str]:
    """Paths separated by os.pathsep or newlines, each stripped and expanded."""
    pieces = value.replace("\n", os.pathsep).split(os.pathsep)
    return [expand(piece.strip()) for piece in pieces if piece.strip()]


def expand(path: str) -> str:
    """Expand environment variables and ``~`` in a path."""
    return os.path.expanduser(os.path.expandvars(path))


def bundles(found: Iterable[Tuple[str, str]]) -> Tuple[Bundle, ...]:
    """``(path, source)`` pairs as bundles: one per file, in first-seen order."""
    grouped: dict[str, Tuple[str, List[str]]] = {}
    for path, source in found:
        key = os.path.abspath(expand(path))
        sources = grouped.setdefault(key, (path, []))[1]
        if source not in sources:
            sources.append(source)
    return tuple(Bundle(path, tuple(sources)) for path, sources in grouped.values())


def read(isolated: bool, environ: Mapping[str, str] = os.environ, config: Any = None) -> Settings:
    """Read the settings: environment (unless isolated), then pip's files.

    ``config`` is pip's Configuration, already loaded the same way, if any.
    """
    config = config if config is not None else load_pip_configuration(isolated)
    found = {
        name: _from_environment(name, environ, isolated) or _from_config(config, name)
        for name in NAMES
    }
    settings = Settings(
        enabled=found["enabled"] or _default("enabled"),
        store=found["store"] or _default("store"),
        extra_ca=found["extra-ca"] or _default("extra-ca"),
        isolated=isolated,
        host_ca=found["host-ca"] or _default("host-ca"),
        host_client_cert=found["host-client-cert"] or _default("host-client-cert"),
        unknown=tuple(unknown_names(config, environ, isolated)),
    )
    if isolated or INHERITED not in environ or _switched_off(settings):
        # A shim that is off ignores what a parent handed down; so does pip
        # --isolated, which ignores PIP_CERT too (pip never starts a child so).
        return settings
    return dataclasses.replace(settings, inherited=from_parent(environ[INHERITED]))


def unknown_names(config: Any, environ: Mapping[str, str], isolated: bool) -> List[str]:
    """A warning for each ``[trustshim]`` key and ``PIP_TRUSTSHIM_*`` variable that is
    no setting (``enable = yes``, ``PIP_TRUSTSHIM_STOR``), with the one it may mean.

    The keys come from the files pip loaded (``config_source``'s ``_parsers``:
    ``items()`` changed shape in pip 25.2); the variables are not read under
    ``--isolated``, as pip does not read them then.
    """
    found = []
    keys = [spelling for name in NAMES for spelling in _spellings(name)]
    for variant, entries in getattr(config, "_parsers", {}).items():
        level = getattr(variant, "value", variant)
        for filename, parser in entries:
            if not parser.has_section(SECTION):
                continue
            for key in parser.options(SECTION):
                if key not in keys and key not in parser.defaults():
                    close = _maybe(key, keys)
                    meant = f"; did you mean {close!r}?" if close else ""
                    where = f"[{SECTION}] of {filename} ({level})"
                    found.append(f"unknown key {key!r} in {where}, ignored{meant}")
    # A variable is matched by what follows PIP_TRUSTSHIM_ (STOR: STORE; ENABLED: the switch).
    variables = {name.upper().replace("-", "_"): variable for name, (variable, _) in NAMES.items()}
    prefix = NAMES["enabled"][0] + "_"
    for variable in [] if isolated else sorted(environ):
        if variable.startswith(prefix) and variable not in variables.values():
            close = _maybe(variable[len(prefix) :], list(variables))
            meant = f"; did you mean {variables[close]!r}?" if close else ""
            found.append(f"unknown environment variable {variable}, ignored{meant}")
    return [escape(warning) for warning in found]


def _maybe(word: str, known: List[str]) -> Optional[str]:
    """The name in ``known`` that ``word`` is most likely a typo of, if any."""
    import difflib

    close = difflib.get_close_matches(word, known, n=1)
    return close[0] if close else None


def environment_switch(environ: Mapping[str, str], isolated: bool) -> Optional[str]:
    """``PIP_TRUSTSHIM``, stripped and lower-cased; None if unset or isolated."""
    value = None if isolated else environ.get(NAMES["enabled"][0])
    return value.strip().lower() if value is not None else None


def _switched_off(settings: Settings) -> bool:
    try:
        return not settings.is_on()
    except ShimError:
        return False  # a bad switch fails closed later, when it is asked


def check_config_file(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a ``PIP_CONFIG_FILE`` that names no file, which pip skips silently."""
    path = environ.get("PIP_CONFIG_FILE", "")
    if path and path != os.devnull and not os.path.exists(path):
        raise bad_value(
            "PIP_CONFIG_FILE",
            path,
            "the environment",
            "no such file (pip would skip it silently; fix or unset PIP_CONFIG_FILE)",
        )


def for_children(given: Iterable[Bundle], pid: int) -> str:
    """The value of ``INHERITED`` for the build subprocesses of process ``pid``."""
    found = [[bundle.path, list(bundle.sources)] for bundle in given]
    return json.dumps({"pid": pid, "bundles": found})


def from_parent(text: str, parent: Optional[int] = None) -> Tuple[Bundle, ...]:
    """The bundles handed down by the parent pip; none if the value names another process.

    A value counts only when it names this process's parent: one that leaked
    through from a grandparent is ignored. A shell that sets it by hand with
    its own process id is that parent, and then adds bundles exactly as it
    could with ``PIP_CERT``: nothing here can switch the shim, change the
    store, the extra CAs or a ``host-ca`` host's trust, or name a client
    certificate (any other key is ignored). A malformed value stops pip.
    """
    try:
        data = json.loads(text)
        pid = data["pid"]
        found = [
            (str(path), f"{source}, via the parent pip")
            for path, sources in data["bundles"]
            for source in sources
        ]
        if not isinstance(pid, int) or not all(isinstance(s, list) for _, s in data["bundles"]):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ShimError(
            f"pip-trustshim: {INHERITED} (set by a parent pip for its build "
            "subprocesses) is malformed; unset it"
        ) from None
    if pid != (os.getppid() if parent is None else parent):
        return ()
    return bundles(found)


def load_pip_configuration(isolated: bool, environ: Mapping[str, str] = os.environ) -> Any:
    """pip's own Configuration, loaded exactly as pip loads it.

    A file pip cannot parse raises ``UnparsableConfig``, naming the file; pip
    itself would stop on it with its own message.
    """
    try:
        from pip._internal.configuration import Configuration
        from pip._internal.exceptions import ConfigurationError

        config = Configuration(isolated=isolated)
    except (ImportError, AttributeError, TypeError) as error:
        raise unrecognised_pip(f"its configuration cannot be read: {error}") from None
    try:
        config.load()
    except ConfigurationError as error:
        raise unparsable(error, environ) from None
    return config


def unparsable(error: Exception, environ: Mapping[str, str]) -> UnparsableConfig:
    """The one line for pip's ``ConfigurationError`` about a file it cannot parse."""
    cause = getattr(error, "error", None)
    path = getattr(cause, "source", None) or getattr(error, "fname", None) or "?"
    where = "environment variable PIP_CONFIG_FILE"
    if path != environ.get("PIP_CONFIG_FILE"):
        where = "pip's configuration files"
    problem = escape(" ".join(str(cause or error).split()))
    return UnparsableConfig(
        f"pip-trustshim: config file {str(path)!r} (from {where}) cannot be parsed: {problem}"
    )


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
