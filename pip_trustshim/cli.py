"""The ``pip-trustshim`` command line (also ``python -m pip_trustshim``).

``status``, ``check``, ``enable``, ``disable``, ``export`` and ``seed``, with
argparse. Every error ends as one line on stderr beginning ``pip-trustshim:``,
never a traceback, argparse's usage errors included; the exit statuses are
in ``exitcodes``.

pip, and each command's module, are imported when needed (a damaged
installation can still run ``status``); the start-up hook never imports
this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, NoReturn, Optional, Sequence, Tuple

from .errors import ShimError, escape
from .exitcodes import INTERNAL_ERROR, NOT_AS_ASKED, SUCCESS, USAGE_ERROR, epilog
from .pipconfig import LEVELS


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help()
            return USAGE_ERROR
        return int(args.run(args))
    except ShimError as error:
        return _fail(str(error), USAGE_ERROR)
    except KeyboardInterrupt:
        return _fail("pip-trustshim: interrupted", NOT_AS_ASKED)
    except BrokenPipeError:  # the reader went away (``export | head``): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return NOT_AS_ASKED
    except Exception as error:
        if _is_pip_error(error):
            return _fail(f"pip-trustshim: pip's configuration: {_one_line(error)}", USAGE_ERROR)
        return _fail(
            f"pip-trustshim: internal error ({type(error).__name__}: {_one_line(error)}); "
            "please report it",
            INTERNAL_ERROR,
        )


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    sys.stderr.write(escape(message) + "\n")
    return code


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _is_pip_error(error: BaseException) -> bool:
    try:
        from pip._internal.exceptions import PipError
    except Exception:
        return False
    return isinstance(error, PipError)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (raised as a ShimError): ``pip-trustshim:
    COMMAND: what argparse says (see pip-trustshim COMMAND --help)``."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        raise ShimError(f"pip-trustshim: {where}{message} (see {self.prog} --help)")

    def parse_known_args(  # type: ignore[override]
        self, args: Optional[Sequence[str]] = None, namespace: Any = None
    ) -> Tuple[argparse.Namespace, List[str]]:
        """A command's parser refuses what it does not know itself, so that the error
        names the command (argparse leaves it to the top parser, which does not)."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and " " in self.prog:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    """The parser for every command."""
    parser = Parser(
        prog="pip-trustshim",
        description="Inspect, test and switch pip-trustshim, which makes pip verify HTTPS "
        "against exactly the trust store you chose.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version's path unwrapped
    )
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_status(commands)
    _add_check(commands)
    _add_enable(commands)
    _add_disable(commands)
    _add_export(commands)
    _add_seed(commands)
    return parser


def version() -> str:
    """``pip-trustshim X from DIRECTORY (python X.Y)``, as ``pip --version`` says it."""
    from . import __version__

    where = os.path.dirname(os.path.abspath(__file__))
    python = ".".join(map(str, sys.version_info[:2]))
    return f"pip-trustshim {__version__} from {where} (python {python})"


def _command(commands: Any, name: str, summary: str, description: str) -> Any:
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_status(commands: Any) -> None:
    sub = _command(
        commands,
        "status",
        "show the settings, where each came from, and the install",
        "Show whether the shim is on, its store, extra CAs and the CA bundles pip was\n"
        "given, where each setting came from, the versions of Python, pip, truststore\n"
        "and certifi, and whether the startup hook is installed and active.\n"
        "A bad setting is shown as the error pip would print; the exit status is 0.",
    )
    sub.add_argument("--json", action="store_true", help="print one JSON object instead")
    sub.set_defaults(run=_run_status)


def _run_status(args: argparse.Namespace) -> int:
    from . import status

    report = status.collect()
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(status.render(report))
    return SUCCESS


def _add_check(commands: Any) -> None:
    sub = commands.add_parser(
        "check",
        help="make the requests pip would make, with what the shim trusts",
        description="For each index pip would read (default: its index-url, extra-index-urls\n"
        "and find-links; or each URL given), GET the page of --package with pip's own\n"
        "session: the shim's trust (even while it is off), pip's proxy and client\n"
        "certificates, no retries. Then GET the start of the newest file that page\n"
        "lists, on whatever host it lives. OK only when pip would get through: a 4xx,\n"
        "a proxy's 5xx or a refused certificate is a FAIL, with the reason, a hint, and\n"
        "for a certificate the chain sent and which store on its own would accept it.",
        epilog=epilog("check"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        help="an index URL (https://, http:// or file://) or a local path",
    )
    sub.add_argument(
        "--package",
        metavar="NAME",
        help="the project whose page and newest file to fetch (default: pip; on an index "
        "without it, the first project the index lists)",
    )
    sub.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on a connection after this long (default: 10)",
    )
    sub.add_argument(
        "-v", "--verbose", action="store_true", help="details for every request, not only failures"
    )
    sub.add_argument("--json", action="store_true", help="print one JSON object (schema 1)")
    sub.add_argument(
        "--save-root",
        metavar="FILE",
        help="write the untrusted root CA of a failed chain to FILE as PEM (atomically)",
    )
    sub.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ShimError("pip-trustshim: --timeout must be a positive number of seconds")
    from . import check

    return check.run(
        list(args.urls),
        args.package,
        args.timeout,
        args.verbose,
        args.json,
        args.save_root,
        sys.stdout,
    )


def _add_level(sub: Any) -> None:
    group = sub.add_mutually_exclusive_group()
    for level in LEVELS:
        group.add_argument(
            f"--{level}",
            dest="level",
            action="store_const",
            const=level,
            help=f"pip's {level} configuration file"
            + (" (the default)" if level == "user" else ""),
        )
    sub.set_defaults(level="user")


def _add_enable(commands: Any) -> None:
    sub = _command(
        commands,
        "enable",
        "switch the shim on in pip's configuration",
        "Write [trustshim] enabled = yes (and store, extra-ca, host-ca, host-client-cert\n"
        "when given) into pip's configuration file at one level, as 'pip config set'\n"
        "would, keeping the rest of the file as it is. Every value is checked first: a\n"
        "bad one is refused and nothing is written. Paths are written absolute.\n"
        "Settings not given are left as they are. A file that already says this is not\n"
        'written again (--json: "changed": false); the exit status does not depend on it.',
    )
    sub.add_argument(
        "--store", metavar="S", help="'system', 'certifi', or a PEM file or hashed directory"
    )
    sub.add_argument(
        "--extra-ca",
        dest="extra_ca",
        metavar="P",
        nargs="+",
        action="extend",
        default=[],
        help="PEM file(s) or hashed directories to trust as well (replaces the file's extra-ca)",
    )
    sub.add_argument(
        "--host-ca",
        dest="host_ca",
        metavar="HOST=PATH",
        action="append",
        default=[],
        help="for HOST trust only PATH (repeatable; replaces the file's host-ca table)",
    )
    sub.add_argument(
        "--host-client-cert",
        dest="host_client_cert",
        metavar="HOST=PATH",
        action="append",
        default=[],
        help="present PATH (certificate and key) to HOST only (repeatable; replaces the table)",
    )
    _add_level(sub)
    _add_outputs(sub)
    sub.set_defaults(run=_run_enable)


def _add_outputs(sub: Any) -> None:
    sub.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="print the change as a unified diff of the file and write nothing",
    )
    sub.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (schema 1) saying whether anything changed",
    )


def _run_enable(args: argparse.Namespace) -> int:
    from . import configure

    return configure.enable(
        args.store,
        list(args.extra_ca),
        list(args.host_ca),
        list(args.host_client_cert),
        configure.Request("enable", args.level, sys.stdout, args.dry_run, args.json),
    )


def _add_disable(commands: Any) -> None:
    sub = _command(
        commands,
        "disable",
        "switch the shim off in pip's configuration",
        "Remove 'enabled' from [trustshim] in pip's configuration file at one level, as\n"
        "'pip config unset trustshim.enabled' would. Nothing else is changed: store,\n"
        "extra-ca, host-ca and host-client-cert stay, so 'enable' brings them back (a\n"
        "[trustshim] section left empty, without comments, is removed). Warns (exit 1)\n"
        "when the shim is still on through another file or PIP_TRUSTSHIM.\n"
        "\n"
        "Mind the level: the user file (the default) is read by every environment of\n"
        "this user, so 'disable' switches the shim off for all of them; the global file\n"
        "for every user. For one environment only, set PIP_TRUSTSHIM=0 there.",
    )
    _add_level(sub)
    _add_outputs(sub)
    sub.set_defaults(run=_run_disable)


def _run_disable(args: argparse.Namespace) -> int:
    from . import configure

    return configure.disable(
        configure.Request("disable", args.level, sys.stdout, args.dry_run, args.json)
    )


def _add_export(commands: Any) -> None:
    sub = _command(
        commands,
        "export",
        "write what pip trusts as one PEM bundle, for other tools",
        "Write the trust the shim gives pip for a host with no host-ca entry (the store,\n"
        "the extra CAs, the bundles pip was given) as one PEM bundle: each certificate\n"
        "once, in a stable order, after a comment with its subject and SHA-256\n"
        "fingerprint. For git, curl, uv (SSL_CERT_FILE), requests scripts, Docker builds.\n"
        "Works while the shim is off (and says so). A hashed directory's files that\n"
        "OpenSSL passes over (a dangling symlink, an unreadable file) are left out.",
    )
    sub.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="write FILE atomically, mode 0644, through a symlink as enable does "
        "(default: standard output)",
    )
    sub.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say on stderr how many certificates each part gave, and which files were skipped",
    )
    sub.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from . import export

    return export.run(args.output, sys.stdout, sys.stderr, verbose=args.verbose)


def _add_seed(commands: Any) -> None:
    sub = _command(
        commands,
        "seed",
        "install the shim into another environment, offline",
        "Install pip-trustshim, with certifi and truststore as installed here, into\n"
        "TARGET's environment without any network access: TARGET's own pip installs\n"
        "wheels repacked from the installed files, so they are ordinary distributions\n"
        "there (pip list, pip uninstall). TARGET: a virtual environment's folder or a\n"
        "Python executable, CPython 3.8 to 3.17, with pip.",
    )
    sub.add_argument("target", metavar="TARGET", help="a venv folder or a Python executable")
    sub.set_defaults(run=_run_seed)


def _run_seed(args: argparse.Namespace) -> int:
    from . import seed

    return seed.run(args.target, sys.stdout)
