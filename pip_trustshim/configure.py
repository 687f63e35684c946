"""``enable`` and ``disable``: write ``[trustshim]`` into one of pip's config files.

pip's own ``Configuration`` (``load_only`` = the level) names the file, as
``pip config set``/``unset`` would; ``conffile`` edits only the lines of the
keys written, keeping every other byte (comments too), holding the file's
lock for the whole read, edit and write, and writes atomically; a symlink's
target is edited, and said so. Values are checked with ``stores`` before
anything is written; after writing, the settings are read back as pip reads
them and anything that still overrides them (an environment variable, a
later file) is reported.

For configuration management: a file that already says what is asked is not
written (``changed`` false), ``--dry-run`` prints the unified diff instead of
writing, and ``--json`` says it all as one versioned object (``SCHEMA``).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, TextIO

from . import conffile, exitcodes, hosts, pipconfig, status
from . import settings as settings_module
from .errors import ShimError, escape
from .settings import SECTION, STORE_WORDS, Setting, Settings
from .stores import load_bundle, store_context
from .trust import as_pip_sees_it, check_table, load_entry

#: the version of ``enable --json`` and ``disable --json``
#: (docs/schemas/configure.schema.json)
SCHEMA = 1
#: what ``enable`` says last, when pip now uses what it wrote
CHECK_HINT = "run `pip-trustshim check` to test it"
#: who a file at each level switches the shim off for (``disable`` says it)
REACH = {
    "user": "every environment of this user",
    "global": "every user and every environment on this machine",
}


@dataclass(frozen=True)
class Request:
    """One run of ``enable`` or ``disable``: what to write where, and how to say it."""

    command: str
    level: str
    out: TextIO
    dry_run: bool = False
    as_json: bool = False


def enable(
    store: Optional[str],
    extra_cas: List[str],
    host_cas: List[str],
    host_client_certs: List[str],
    request: Request,
) -> int:
    """Write ``enabled = yes`` and what is given; SUCCESS when pip now uses them."""
    filename = file_to_edit(request.level)
    values: Dict[str, Optional[str]] = {"enabled": "yes"}
    if store is not None:
        values["store"] = checked_store(store, "--store")
    if extra_cas:
        values["extra-ca"] = checked_extra_cas(extra_cas, "--extra-ca")
    if host_cas:
        values["host-ca"] = checked_entries("host-ca", host_cas)
    if host_client_certs:
        values["host-client-cert"] = checked_entries("host-client-cert", host_client_certs)
    return apply(filename, values, request)


def disable(request: Request) -> int:
    """Remove ``enabled`` from the file at the level; SUCCESS when pip now runs without the shim."""
    return apply(file_to_edit(request.level), {"enabled": None}, request)


def apply(filename: str, values: Dict[str, Optional[str]], request: Request) -> int:
    """Edit (or, on a dry run, plan) the file, then say what changed and what pip now sees."""
    edited = write(filename, values, request.dry_run)
    level = shown_level(filename, request.level)
    written = {name: value for name, value in values.items() if value is not None}
    effect = None if request.dry_run else report_effect(written)
    if request.as_json:
        document = as_document(request, edited, level, values, effect)
        request.out.write(json.dumps(document, indent=2) + "\n")
    elif request.dry_run:
        request.out.write(escape(edited.diff(), keep="\t\r\n"))
        would = "would change" if edited.changed else "would not change"
        sys.stderr.write(f"dry run: {escape(edited.path)} ({level}) {would}; nothing written\n")
    else:
        lines = said_done(edited, values, level) + said_after(
            request.command, edited, level, effect
        )
        request.out.write("".join(escape(line) + "\n" for line in lines))
    for warning in effect.warnings if effect is not None else []:
        sys.stderr.write(f"warning: {escape(warning)}\n")
    return exitcodes.SUCCESS if effect is None else effect.code


def as_document(
    request: Request,
    edited: conffile.Edited,
    level: str,
    values: Dict[str, Optional[str]],
    effect: Optional[Effect],
) -> Dict[str, object]:
    """The ``--json`` object (``SCHEMA``; docs/schemas/configure.schema.json)."""
    return {
        "schema": SCHEMA,
        "command": request.command,
        "file": edited.path,
        "link": edited.link,
        "level": level,
        "values": values,
        "changed": edited.changed,
        "dry_run": request.dry_run,
        "diff": edited.diff(),
        "shim": None if effect is None else effect.shim,
        "warnings": [] if effect is None else effect.warnings,
    }


def said_done(edited: conffile.Edited, values: Dict[str, Optional[str]], level: str) -> List[str]:
    """What ``enable``/``disable`` say they did to the file, one line each."""
    lines = []
    if edited.link is not None and edited.changed:
        lines.append(f"{edited.link} is a symbolic link: edited its target, {edited.path}")
    where = f"{edited.path} ({level})"
    before = conffile.read_section(edited.before, SECTION) or {}
    for name, value in values.items():
        key = f"{SECTION}.{name}"
        old = before.get(conffile.normalize_key(name))
        if value is None and old is None:
            lines.append(f"{key} is not set in {where}; nothing to remove")
        elif value is None:
            gone = conffile.read_section(edited.after, SECTION) is None
            emptied = f" and the [{SECTION}] section it left empty" if gone else ""
            lines.append(f"removed {key}{emptied} from {where}")
        elif old == conffile.read_back_value(value):
            lines.append(f"{key} = {shown(value)} is already set in {where}")
        else:
            lines.append(f"wrote {key} = {shown(value)} to {where}")
    return lines


def said_after(
    command: str, edited: conffile.Edited, level: str, effect: Optional[Effect]
) -> List[str]:
    """When pip now sees what was asked: the state, then how to test it or how far it reached."""
    if effect is None or effect.code != exitcodes.SUCCESS:
        return []  # the warnings say why
    lines = [f"pip-trustshim is now {effect.shim} for pip (store: {effect.store})"]
    if command == "enable":
        lines.append(CHECK_HINT)
    elif edited.changed and level in REACH:
        lines.append(
            f"note: {REACH[level]} reads this file: the shim is now off in all of them, "
            "unless another setting switches it on there (to switch it off in one "
            "environment only, set PIP_TRUSTSHIM=0 there)"
        )
    return lines


def shown(value: str) -> str:
    """A value on one line: a table's entries joined with ``; ``."""
    return value.replace("\n", "; ")


def write(filename: str, values: Dict[str, Optional[str]], dry_run: bool) -> conffile.Edited:
    """Edit ``[trustshim]`` in ``filename`` (atomically, under its lock), or plan it."""
    try:
        return conffile.edit_section(filename, SECTION, values, dry_run=dry_run)
    except conffile.ConfigFileError as error:
        raise ShimError(f"pip-trustshim: nothing written: {error}") from None


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
    """The value to write for ``--store``, or the error pip would later print.

    A path is written absolute; a missing one is named as typed, so that a
    mistyped word reads as typed, with a "did you mean" (``--store sytem``).
    """
    value = store if store in STORE_WORDS else absolute(store)
    store_context(Setting("store", value if os.path.exists(value) else store, source))
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
    for entry in table.files().values():
        load_entry(entry)
    return value


def absolute(path: str) -> str:
    """``~`` and variables expanded, made absolute: the file pip will read."""
    return os.path.abspath(settings_module.expand(path))


@dataclass(frozen=True)
class Effect:
    """What pip sees after a write: the exit status, and the warnings (``status.warnings``,
    then what explains a 1)."""

    code: int
    #: "on", "off", or "error" (pip would stop on a setting)
    shim: str
    store: str
    warnings: List[str]


def report_effect(written: Dict[str, str]) -> Effect:
    """Read the settings back as pip will; SUCCESS when they are what was asked for."""
    view = as_pip_sees_it()
    told = status.warnings(view)  # unknown names, CAs out of date, client certificates
    settings = view.settings
    wanted_on = bool(written)
    problem = view.problem()
    on = problem is None and settings.is_on()
    store = settings.store.value
    if problem is not None and (wanted_on or _switched_on(settings)):
        stops = [f"pip will now stop with: {problem}"]
        return Effect(exitcodes.NOT_AS_ASKED, "error", store, told + stops)
    tables = (settings.store, settings.extra_ca, settings.host_ca, settings.host_client_cert)
    mismatched = [s for s in tables if s.name in written and s.value.strip() != written[s.name]]
    shim = "on" if on else "off"
    if on != wanted_on or mismatched:
        warnings = [
            f"pip still sees {setting.key} = {setting.value!r} (from {setting.source})"
            for setting in [settings.enabled, *mismatched]
        ]
        return Effect(exitcodes.NOT_AS_ASKED, shim, store, told + warnings)
    return Effect(exitcodes.SUCCESS, shim, store, told)


def _switched_on(settings: Settings) -> bool:
    try:
        return settings.is_on()
    except ShimError:
        return True  # a bad switch: pip stops on it
