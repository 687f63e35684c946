"""``enable`` and ``disable``: write ``[trustshim]`` into one of pip's config files.

pip's own ``Configuration`` (``load_only`` = the level) names the file, as
``pip config set``/``unset`` would; ``conffile`` edits only the lines of the
keys written, keeping every other byte (comments too), and writes atomically;
a symlink's target is edited, and said so. Values are checked with ``stores``
before anything is written; after writing, the settings are read back as pip
reads them and anything that still overrides them (an environment variable,
a later file) is reported.
"""

from __future__ import annotations

import os
import ssl
import sys
from typing import Dict, List, Optional, TextIO

from . import conffile, exitcodes, hosts, pipconfig, status
from . import settings as settings_module
from .errors import ShimError, escape
from .settings import SECTION, STORE_WORDS, Setting, Settings
from .stores import load_bundle, store_context
from .trust import as_pip_sees_it, check_table, load_entry


def enable(
    store: Optional[str],
    extra_cas: List[str],
    host_cas: List[str],
    host_client_certs: List[str],
    level: str,
    out: TextIO,
) -> int:
    """Write ``enabled = yes`` and what is given; SUCCESS when pip now uses them."""
    filename = file_to_edit(level)
    values: Dict[str, Optional[str]] = {"enabled": "yes"}
    if store is not None:
        values["store"] = checked_store(store, "--store")
    if extra_cas:
        values["extra-ca"] = checked_extra_cas(extra_cas, "--extra-ca")
    if host_cas:
        values["host-ca"] = checked_entries("host-ca", host_cas)
    if host_client_certs:
        values["host-client-cert"] = checked_entries("host-client-cert", host_client_certs)
    written = write(filename, values, out).path
    for name, value in values.items():
        shown = str(value).replace("\n", "; ")
        where = f"{written} ({shown_level(filename, level)})"
        out.write(escape(f"wrote {SECTION}.{name} = {shown} to {where}") + "\n")
    return report_effect({name: str(value) for name, value in values.items()}, out)


def disable(level: str, out: TextIO) -> int:
    """Remove ``enabled`` from the file at ``level``; 0 when pip now runs without the shim."""
    filename = file_to_edit(level)
    if not os.path.exists(filename):
        unset = f"{SECTION}.enabled is not set in {filename} ({level}); nothing to remove"
        out.write(escape(unset) + "\n")
        return report_effect({}, out)
    edited = write(filename, {"enabled": None}, out)
    shown = shown_level(filename, level)
    if not edited.changed:
        unset = f"{SECTION}.enabled is not set in {filename} ({shown}); nothing to remove"
        out.write(escape(unset) + "\n")
    else:
        out.write(escape(f"removed {SECTION}.enabled from {edited.path} ({shown})") + "\n")
    return report_effect({}, out)


def write(filename: str, values: Dict[str, Optional[str]], out: TextIO) -> conffile.Edited:
    """Edit ``[trustshim]`` in ``filename``, atomically, saying so for a symlink."""
    try:
        edited = conffile.edit_section(filename, SECTION, values)
    except conffile.ConfigFileError as error:
        raise ShimError(f"pip-trustshim: nothing written: {error}") from None
    if edited.link is not None and edited.changed:
        link = f"{edited.link} is a symbolic link: edited its target, {edited.path}"
        out.write(escape(link) + "\n")
    return edited


def file_to_edit(level: str) -> str:
    """The file ``pip config set`` would write at ``level`` (pip 26 may name
    ``PIP_CONFIG_FILE`` for the user level, see ``shown_level``)."""
    from pip._internal.configuration import Configuration
    from pip._internal.exceptions import ConfigurationError

    config = Configuration(isolated=False, load_only=pipconfig.kind(level))
    config.load()
    try:
        filename = config.get_file_to_edit()
    except ConfigurationError:
        filename = None
    if not filename:
        hidden = os.environ.get("PIP_CONFIG_FILE", "")
        if hidden == os.devnull:
            advice = "pip reads no configuration file at all; unset PIP_CONFIG_FILE, or "
            advice += "switch the shim on for this environment with PIP_TRUSTSHIM=1"
        else:
            advice = "unset PIP_CONFIG_FILE, or edit that file's [trustshim] section"
        raise ShimError(
            f"pip-trustshim: pip has no {level} configuration file to write "
            f"(PIP_CONFIG_FILE={hidden!r} makes pip skip it); {advice}"
        )
    return str(filename)


def shown_level(filename: str, level: str) -> str:
    """The level a written file is, as pip will read it: ``PIP_CONFIG_FILE`` when it is that."""
    if filename == os.environ.get("PIP_CONFIG_FILE"):
        return "PIP_CONFIG_FILE"
    return level


def checked_store(store: str, source: str) -> str:
    """The value to write for ``--store``, or the error pip would later print."""
    value = store if store in STORE_WORDS else absolute(store)
    store_context(Setting("store", value, source))
    return value


def checked_extra_cas(paths: List[str], source: str) -> str:
    """The value to write for ``--extra-ca``, or the error pip would later print."""
    full = [absolute(path) for path in paths]
    value = os.pathsep.join(full)
    setting = Setting("extra-ca", value, source)
    for path in full:  # what is written must read back as exactly these paths
        if settings_module.split_paths(path) != [path]:
            raise setting.error(
                f"{path!r} cannot be written: extra-ca is split on {os.pathsep!r} and "
                "newlines, and the path is taken as written (no $VAR or ~, no leading or "
                "trailing space); rename the file or link to it from a plain path"
            )
    if settings_module.split_paths(value) != full:
        raise setting.error("the paths would not read back as given")
    for path in full:
        load_bundle(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), path, setting, value)
    return value


def checked_entries(name: str, given: List[str]) -> str:
    """The value to write for ``--host-ca``/``--host-client-cert`` (``HOST=PATH`` each).

    Each entry is parsed and its file loaded as pip would; paths are written
    absolute, one entry per line, and must read back as exactly these entries.
    """
    source = f"--{name}"
    entries = []
    for text in given:
        parsed = hosts.parse(Setting(name, text, source)).entries
        if not parsed:
            raise Setting(name, text, source).error("no entry: write HOST=PATH")
        entries += [f"{entry.pattern.shown()} {absolute(entry.path)}" for entry in parsed]
    value = "\n".join(entries)
    table = hosts.parse(Setting(name, value, source))
    if [f"{e.pattern.shown()} {e.path}" for e in table.entries] != entries:
        problem = "a path with ';', a newline, $VAR or ~ in it, or leading or trailing space, "
        raise Setting(name, value, source).error(problem + "would not read back as written")
    check_table(table)
    for entry in table.entries:
        load_entry(entry)
    return value


def absolute(path: str) -> str:
    """``~`` and variables expanded, made absolute: the file pip will read."""
    return os.path.abspath(settings_module.expand(path))


def report_effect(written: Dict[str, str], out: TextIO) -> int:
    """Read the settings back as pip will; SUCCESS when they are what was asked for."""
    view = as_pip_sees_it()
    for warning in status.warnings(view):  # unknown names, CAs out of date
        sys.stderr.write(f"warning: {warning}\n")
    settings = view.settings
    wanted_on = bool(written)
    problem = view.problem()
    on = problem is None and settings.is_on()
    if problem is not None and (wanted_on or _switched_on(settings)):
        sys.stderr.write(escape(f"warning: pip will now stop with: {problem}") + "\n")
        return exitcodes.NOT_AS_ASKED
    tables = (settings.store, settings.extra_ca, settings.host_ca, settings.host_client_cert)
    mismatched = [s for s in tables if s.name in written and s.value.strip() != written[s.name]]
    if on != wanted_on or mismatched:
        for setting in [settings.enabled, *mismatched]:
            seen = f"{setting.key} = {setting.value!r} (from {setting.source})"
            sys.stderr.write(escape(f"warning: pip still sees {seen}") + "\n")
        return exitcodes.NOT_AS_ASKED
    state = "on" if on else "off"
    now = f"pip-trustshim is now {state} for pip (store: {settings.store.value})"
    out.write(escape(now) + "\n")
    return exitcodes.SUCCESS


def _switched_on(settings: Settings) -> bool:
    try:
        return settings.is_on()
    except ShimError:
        return True  # a bad switch: pip stops on it
