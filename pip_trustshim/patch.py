"""The pip patch: every ``PipSession`` verifies HTTPS with the shim's context.

The one patch point is ``PipSession.__init__`` in
``pip._internal.network.session`` (the same module and class from pip 19.3 to
26.3). After pip builds a session, the adapter mounted at ``https://`` is
fitted with the shared context:

* ``init_poolmanager`` and ``proxy_manager_for`` always pass it, and its
  ``_ssl_context`` (pip >= 22.2) is it, for direct and proxied connections;
* ``cert_verify``, which requests calls before every request, keeps
  ``CERT_REQUIRED``, drops the ``ca_certs``/``ca_cert_dir`` that requests
  would load onto the context (certifi, or whatever ``verify`` holds), adds
  those bundles pip was given to the context instead, and puts the context on
  the connection pool, overriding the one requests 2.32.0 (pip 24.1.0) forces.

The adapters that ``--trusted-host`` mounts are left alone: pip turns
verification off there by design. A bad setting, or a pip this module does
not recognise, leaves pip able to run commands that need no network; its
first request then stops pip with the one-line ``pip-trustshim:`` error.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import sys
from typing import Any, Callable, List, Tuple

from . import trust as trust_module
from .settings import INHERITED, Settings, ShimError, for_children
from .trust import Trust

_MARK = "_pip_trustshim"


def patch_session_module(module: Any) -> None:
    """Wrap ``PipSession.__init__`` in pip's freshly imported session module."""
    cls = getattr(module, "PipSession", None)
    if cls is None or getattr(cls.__init__, _MARK, False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        attach(self)

    setattr(__init__, _MARK, True)
    cls.__init__ = __init__


def attach(session: Any) -> None:
    """Fit ``session`` with the shim's trust, or make it refuse the network."""
    try:
        options = pip_options()
        settings, trust = trust_module.decide(isolated=_isolated(options))
        hand_down(settings, options)
        if trust is None:
            return
        adapter = session.adapters.get("https://")
        if adapter is None or not _recognised(adapter):
            raise ShimError(
                f"pip-trustshim: this pip ({_pip_version()}) has no HTTPS adapter the "
                "shim recognises, so it cannot apply the chosen trust store; "
                "upgrade pip-trustshim, or set PIP_TRUSTSHIM=0 to run pip without it"
            )
        fit_adapter(adapter, session, trust)
        fit_venv_isolation()
    except ShimError as error:
        refuse_network(session, str(error))
    except Exception as error:  # a shim bug: fail closed, say so in one line
        refuse_network(
            session,
            f"pip-trustshim: internal error ({type(error).__name__}: {error}); "
            "set PIP_TRUSTSHIM=0 to run pip without the shim, and please report it",
        )


def pip_options() -> Any:
    """The options of the pip command building this session, if found.

    ``PipSession`` is built by ``_build_session(options, ...)`` on every pip
    since 20.3; the caller's ``options`` carry ``isolated_mode`` and ``cert``.
    """
    frame = sys._getframe(1)
    while frame is not None:
        options = frame.f_locals.get("options")
        if options is not None and hasattr(options, "isolated_mode"):
            return options
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _isolated(options: Any) -> bool:
    # Without options, pip's own rule for loading its configuration applies.
    if options is None:
        return "--isolated" in sys.argv[1:]
    return bool(options.isolated_mode)


def hand_down(settings: Settings, options: Any) -> None:
    """Give the pips this pip starts (build isolation) exactly its decision.

    They would otherwise re-read the settings without ``--isolated``, without
    this environment's site pip.conf, and (before pip 25.0) without a
    command-line ``--cert``.
    """
    bundles = list(settings.bundles)
    cert = getattr(options, "cert", None)
    if isinstance(cert, str) and cert:
        bundles.append((cert, "pip's --cert, PIP_CERT or cert in pip.conf"))
    os.environ[INHERITED] = for_children(settings, bundles)


def _recognised(adapter: Any) -> bool:
    needed = ("init_poolmanager", "proxy_manager_for", "cert_verify", "_pool_connections")
    return all(hasattr(adapter, name) for name in needed)


def fit_adapter(adapter: Any, session: Any, trust: Trust) -> None:
    """Make the https adapter use ``trust.context`` and nothing else."""
    context = trust.context
    if hasattr(adapter, "_ssl_context"):
        adapter._ssl_context = context
    adapter.init_poolmanager = _forcing_context(adapter.init_poolmanager, context)
    adapter.proxy_manager_for = _forcing_context(adapter.proxy_manager_for, context)
    adapter.cert_verify = _verifying(adapter.cert_verify, session, trust)
    adapter.proxy_manager = {}
    adapter.init_poolmanager(
        adapter._pool_connections, adapter._pool_maxsize, block=adapter._pool_block
    )


def fit_venv_isolation() -> None:
    """Start pip 26.2+'s venv-isolation subprocesses through ``venv_runner``.

    There pip runs the build venv's own Python, which does not read this
    environment's ``.pth`` files; ``venv_runner`` brings the hook along.
    """
    installer = sys.modules.get("pip._internal.build_env.installer")
    call = getattr(installer, "call_subprocess", None)
    if call is None or getattr(call, _MARK, False):
        return

    @functools.wraps(call)
    def call_subprocess(cmd: List[str], *args: Any, **kwargs: Any) -> Any:
        return call(through_venv_runner(cmd), *args, **kwargs)

    setattr(call_subprocess, _MARK, True)
    installer.call_subprocess = call_subprocess  # type: ignore[union-attr]


def through_venv_runner(cmd: List[str]) -> List[str]:
    """``cmd`` with ``venv_runner`` put in front of pip, for another Python."""
    # Not samefile: a venv's python is a symlink to the same interpreter.
    if len(cmd) < 2 or os.path.abspath(cmd[0]) == os.path.abspath(sys.executable):
        return list(cmd)
    from . import venv_runner

    return [cmd[0], venv_runner.__file__, os.pathsep.join(venv_runner.shim_dirs()), *cmd[1:]]


def _forcing_context(method: Callable[..., Any], context: Any) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = context
        return method(*args, **kwargs)

    return wrapper


def _verifying(method: Callable[..., Any], session: Any, trust: Trust) -> Callable[..., Any]:
    old_urllib3 = _urllib3_major() < 2

    @functools.wraps(method)
    def cert_verify(conn: Any, url: str, verify: Any, cert: Any) -> None:
        method(conn, url, verify, cert)  # pip's own checks: --cert path, --client-cert
        if not url.lower().startswith("https"):
            return
        try:
            trust.add_pip_bundles(pip_bundles(session, verify))
        except ShimError as error:
            _raise_command_error(str(error))
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None
        context: Any = trust.context
        if old_urllib3 and _is_ip(conn.host):
            context = trust.context_for_ip(conn.host.strip("[]"))
        conn.conn_kw["ssl_context"] = context

    return cert_verify


def pip_bundles(session: Any, verify: Any) -> List[Tuple[str, str]]:
    """The CA bundles pip itself was given, each with where it came from."""
    bundles: List[Tuple[str, str]] = []
    if isinstance(session.verify, str):
        bundles.append((session.verify, "pip's --cert, PIP_CERT or cert in pip.conf"))
    if getattr(session, "trust_env", True):
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            if os.environ.get(variable):
                bundles.append((os.environ[variable], f"environment variable {variable}"))
    if isinstance(verify, str) and verify not in [path for path, _ in bundles]:
        bundles.append((verify, "the request's verify"))
    return bundles


def refuse_network(session: Any, message: str) -> None:
    """Let ``session`` serve file: URLs only; anything else stops pip."""
    original = session.request

    def request(method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if not str(url).lower().startswith("file:"):
            _raise_command_error(message)
        return original(method, url, *args, **kwargs)

    session.request = request


def _raise_command_error(message: str) -> None:
    from pip._internal.exceptions import CommandError

    raise CommandError(message)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _urllib3_major() -> int:
    try:
        from pip._vendor import urllib3
    except ImportError:
        return 2
    try:
        return int(str(urllib3.__version__).split(".")[0])
    except ValueError:
        return 2


def _pip_version() -> str:
    try:
        import pip

        return f"pip {pip.__version__}"
    except Exception:
        return "pip of unknown version"
