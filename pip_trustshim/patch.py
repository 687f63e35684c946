"""The pip patch: every ``PipSession`` verifies HTTPS with the shim's trust.

The one patch point is ``PipSession.__init__`` in
``pip._internal.network.session`` (the same module and class from pip 19.3 to
26.3). After pip builds a session, the adapter mounted at ``https://`` is
fitted; for every connection the context comes from ``trust.Trust.context``,
as strict as the context pip itself would use in its current mode
(``templates``):

* ``cert_verify``, which requests calls before every request, keeps
  ``CERT_REQUIRED``, drops the ``ca_certs``/``ca_cert_dir`` and client
  certificate that requests would load onto a shared context (certifi, or
  whatever ``verify`` holds), and puts on the connection pool the context
  for the pool's host (its ``host-ca`` and ``host-client-cert`` entries, or
  this session's bundles and client certificate), overriding the one
  requests 2.32.0 (pip 24.1.0) forces; inside a CONNECT tunnel the pool's
  host is the tunnel's target. A connection kept alive in the pool is used
  again only for a request that resolves to the context it was made with
  (``_reusing``);
* ``proxy_manager_for`` gives an ``https://`` proxy's own TLS connection the
  context for the proxy's host (urllib3's ``proxy_ssl_context``), where
  urllib3 would otherwise load OpenSSL's default store;
* ``init_poolmanager`` and pip's ``_ssl_context`` (pip >= 22.2) get it too.

The adapters that ``--trusted-host`` mounts are left alone: pip turns
verification off there by design. The pips that pip starts to install build
dependencies get, in their own environment only, the CA bundles this pip was
given (``settings.INHERITED``). A bad setting, or a pip this module does not
recognise, leaves pip able to run commands that need no network; its first
request then stops pip with the one-line ``pip-trustshim:`` error.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import ssl
import sys
import threading
import urllib.parse
import weakref
from typing import Any, Callable, Dict, Iterator, List, Tuple

# The start-up hook is loaded wherever pip runs with the shim; its refusal is
# the one used when the rest of the installation is missing, so it is this one.
from _pip_trustshim_boot import refuse_network

from . import trust as trust_module
from .errors import ShimError, UnparsableConfig, UnrecognisedPip, escape, unrecognised_pip
from .pipconfig import SESSION_CERT, given_bundles
from .settings import INHERITED, OFF_WORDS, Bundle, environment_switch, for_children
from .stores import Template
from .trust import ClientCert, Trust

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
    options = pip_options()
    given = getattr(_given, "trust", None)
    if given is not None:  # ``check``: this trust, switched on or not; errors are its own
        fit_session(session, given, options)
        return
    isolated = _isolated(options)
    switch = environment_switch(os.environ, isolated)
    if switch in OFF_WORDS:
        return  # switched off: nothing of the shim runs
    try:
        trust = trust_module.decide(isolated)
    except (UnrecognisedPip, UnparsableConfig) as error:  # no setting can be read
        if switch is not None:
            refuse_network(session, str(error))
        return  # nothing says the shim is on: pip (or the program) goes on as without it
    except ShimError as error:
        refuse_network(session, str(error))
        return
    if trust is None:
        return
    try:
        expected = fit_session(session, trust, options)
        fit_build_children(trust)
        tell(trust, expected)
    except ShimError as error:
        refuse_network(session, str(error))
    except Exception as error:  # a shim bug: fail closed, say so in one line
        refuse_network(
            session,
            f"pip-trustshim: internal error ({type(error).__name__}: {escape(str(error))}); "
            "set PIP_TRUSTSHIM=0 to run pip without the shim, and please report it",
        )


_given = threading.local()


@contextlib.contextmanager
def fitting_with(trust: Trust) -> Iterator[None]:
    """Every ``PipSession`` built inside, in this thread, gets ``trust``, whether the
    shim is switched on or not (``check`` asks what pip would do once it is on)."""
    _given.trust = trust
    try:
        yield
    finally:
        _given.trust = None


def fit_session(session: Any, trust: Trust, options: Any) -> Tuple[Bundle, ...]:
    """Fit a new pip session's https adapter with ``trust``; the CA bundles it was given."""
    adapter = getattr(session, "adapters", {}).get("https://")
    if adapter is None or not _recognised(adapter):
        raise unrecognised_pip("it has no HTTPS adapter the shim knows")
    cert = getattr(options, "cert", None)
    expected = given_bundles(cert, SESSION_CERT, _trusts_env(options), os.environ)
    fit_adapter(adapter, session, trust, expected)
    return expected


#: pip's level for ``-v`` (VERBOSE, 15, from pip 21.2; before, ``-v`` shows DEBUG and up)
VERBOSE = 15
_told = False


def tell(trust: Trust, bundles: Tuple[Bundle, ...]) -> None:
    """Once per pip process, log what the shim applies, for ``pip -v`` only, and the
    names in the settings' places that are no setting."""
    global _told
    if _told:
        return
    _told = True
    logger = logging.getLogger("pip_trustshim")
    if not logger.isEnabledFor(VERBOSE):
        return  # not described at all: a large host table costs nothing here
    lines = ["pip-trustshim is on; the trust it applies, each part with where it came from:"]
    lines += [f"  {line}" for line in trust.describe(bundles)]
    lines += [f"  warning: {warning}" for warning in trust.settings.unknown]
    logger.log(VERBOSE, "\n".join(map(escape, lines)))


def pip_options() -> Any:
    """The options of the pip command running now, if found.

    ``PipSession`` is built by ``_build_session(options, ...)`` on every pip
    since 20.3, and build dependencies are installed from inside the
    command's ``run(options, args)``; ``options`` carry ``isolated_mode``
    and ``cert``.
    """
    frame = sys._getframe(1)
    while frame is not None:
        options = frame.f_locals.get("options")
        if options is not None and hasattr(options, "isolated_mode"):
            return options
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _trusts_env(options: Any) -> bool:
    """Whether pip will leave requests' ``trust_env`` on (a guess: a wrong one costs
    one more context): ``--proxy`` (pip 24.1+) or ``--no-proxy-env`` (26.2+) turn it off."""
    return not getattr(options, "proxy", None) and not getattr(options, "no_proxy_env", False)


def _isolated(options: Any) -> bool:
    # Without options, pip's own rule for loading its configuration applies.
    if options is None:
        return "--isolated" in sys.argv[1:]
    return bool(options.isolated_mode)


def _recognised(adapter: Any) -> bool:
    needed = ("init_poolmanager", "proxy_manager_for", "cert_verify", "_pool_connections")
    return all(hasattr(adapter, name) for name in needed)


def fit_adapter(adapter: Any, session: Any, trust: Trust, expected: Tuple[Bundle, ...]) -> None:
    """Make the https adapter verify every connection with ``trust``, as strict as
    pip's own context would (``expected``: the bundles the session will be given)."""
    strict, tunnelled, proxy_strict = templates(adapter)
    default = trust.context(expected, template=strict)
    if hasattr(adapter, "_ssl_context"):
        adapter._ssl_context = default
    adapter.init_poolmanager = _with_context(adapter.init_poolmanager, default)
    adapter.proxy_manager_for = _proxying(
        adapter.proxy_manager_for, session, trust, default, proxy_strict
    )
    adapter.cert_verify = _verifying(adapter.cert_verify, session, trust, strict, tunnelled)
    adapter.proxy_manager = {}
    adapter.init_poolmanager(
        adapter._pool_connections, adapter._pool_maxsize, block=adapter._pool_block
    )


def templates(adapter: Any) -> Tuple[Template, Template, Template]:
    """How strict pip's own contexts are in this session's mode: the connections to
    servers, directly and through a CONNECT tunnel, and the TLS to an ``https://``
    proxy.

    pip 22.2 and later put the context they use on the https adapter
    (``_ssl_context``) when they use truststore: by default from 24.2, with
    ``--use-feature=truststore`` on 22.2 to 24.1. Otherwise (older pips, their
    default, ``--use-deprecated=legacy-certs``, Python before 3.10) pip's
    vendored urllib3 builds a context per connection with its
    ``create_urllib3_context``; so it does for the servers behind a proxy on
    pips before 25.2, whose adapter gives its context to direct connections
    only. For the TLS to an ``https://`` proxy, urllib3's is the one pip uses
    when it is given a CA bundle, in every mode (pip 26.2 alone hands its own
    context there).
    """
    urllib3 = urllib3_template()
    own = getattr(adapter, "_ssl_context", None)
    if own is None:
        return urllib3, urllib3, urllib3
    pips = Template.of(own, "pip's truststore context")
    return pips, (pips if _proxies_get_its_context(adapter) else urllib3), urllib3


def _proxies_get_its_context(adapter: Any) -> bool:
    """Whether pip's adapter hands its context to the pools behind a proxy (25.2+)."""
    from pip._vendor.requests.adapters import HTTPAdapter

    return type(adapter).proxy_manager_for is not HTTPAdapter.proxy_manager_for


_urllib3: List[Template] = []


def urllib3_template() -> Template:
    """The strictness of the context pip's vendored urllib3 builds for a connection:
    urllib3 2.x leaves the host name to OpenSSL, urllib3 1.x matches it itself
    (``check_hostname`` off; ``HostContext`` makes the same check)."""
    if not _urllib3:
        try:
            from pip._vendor.urllib3.util.ssl_ import create_urllib3_context
        except ImportError:
            raise unrecognised_pip("it has no vendored urllib3 the shim knows") from None
        made = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
        _urllib3.append(Template.of(made, "pip's urllib3"))
    return _urllib3[0]


def session_bundles(session: Any, verify: Any = None) -> Tuple[Bundle, ...]:
    """The CA bundles this session was given, and a request's own ``verify``."""
    trust_env = getattr(session, "trust_env", True)
    return given_bundles(session.verify, SESSION_CERT, trust_env, os.environ, verify)


def _with_context(method: Callable[..., Any], context: Any) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = context
        return method(*args, **kwargs)

    return wrapper


def _proxying(
    method: Callable[..., Any],
    session: Any,
    trust: Trust,
    default: ssl.SSLContext,
    template: Template,
) -> Callable[..., Any]:
    """``proxy_manager_for``: the TLS to an https:// proxy gets the shim's trust."""

    @functools.wraps(method)
    def proxy_manager_for(proxy: str, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = default
        parts = urllib.parse.urlsplit(proxy)
        if parts.scheme.lower() == "https":
            host, port = proxy_host(proxy), parts.port or 443
            try:  # the proxy's host decides, as for any host; pip's --client-cert is not sent
                bundles = session_bundles(session)
                context = trust.context(bundles, None, host, port, template)
                kwargs["proxy_ssl_context"] = for_host(context, host)
            except ShimError as error:
                _raise_command_error(str(error))
        return method(proxy, **kwargs)

    return proxy_manager_for


def _verifying(
    method: Callable[..., Any],
    session: Any,
    trust: Trust,
    direct: Template,
    tunnelled: Template,
) -> Callable[..., Any]:
    """``cert_verify``: the pool gets exactly the context the shim resolves, as strict as
    pip's own for a pool reached directly or, behind a proxy, through a tunnel."""

    @functools.wraps(method)
    def cert_verify(conn: Any, url: str, verify: Any, cert: ClientCert) -> None:
        method(conn, url, verify, cert)  # pip's own checks: --cert path, --client-cert
        if not url.lower().startswith("https"):
            return
        template = direct if getattr(conn, "proxy", None) is None else tunnelled
        try:
            bundles = session_bundles(session, verify)
            context = trust.context(bundles, cert or None, conn.host, conn.port, template)
            context = for_host(context, conn.host)
        except ShimError as error:
            _raise_command_error(str(error))
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None
        conn.cert_file = None  # the client certificate is in the context
        conn.key_file = None
        conn.conn_kw["ssl_context"] = context
        _reusing(conn, context)

    return cert_verify


#: the context of the request this thread is about to send, and its pool
_requested = threading.local()


def _reusing(pool: Any, context: Any) -> None:
    """This thread's next request on ``pool`` goes over a connection made with ``context``.

    requests before 2.32 (pip 20.3 to 24.0) keep one pool per host whatever a
    request's ``verify`` or client certificate: a connection kept alive after
    one request would serve the next, which resolves to another context. The
    pool's ``_get_conn`` is wrapped once (``_checking``). The wanted context is
    the thread's own (threads may share a session, and so a pool), else the
    pool's.
    """
    _requested.pool, _requested.context = weakref.ref(pool), context
    if not getattr(pool, _MARK, False) and hasattr(pool, "_get_conn"):
        pool._get_conn = _checking(pool, pool._get_conn)
        setattr(pool, _MARK, True)


#: what would make urllib3 load a file onto a connection's context
_FILES = ("ca_certs", "ca_cert_dir", "ca_cert_data", "cert_file", "key_file")


def _checking(pool: Any, get_conn: Callable[..., Any]) -> Callable[..., Any]:
    """``_get_conn``: a connection made with another context than the one wanted is
    closed, and made again with the wanted one. Its files are cleared on the
    connection itself, which urllib3 reads when it connects: another thread's
    request may have set the pool's since this one's ``cert_verify``."""

    @functools.wraps(get_conn)
    def _get_conn(*args: Any, **kwargs: Any) -> Any:
        conn = get_conn(*args, **kwargs)
        wanted = _wanted(pool)
        if wanted is not None and getattr(conn, "ssl_context", wanted) is not wanted:
            conn.close()  # verified under another context: never used again
            conn.ssl_context = wanted
        conn.cert_reqs = "CERT_REQUIRED"
        for name in _FILES:
            if getattr(conn, name, None) is not None:
                setattr(conn, name, None)
        return conn

    return _get_conn


def _wanted(pool: Any) -> Any:
    mine = getattr(_requested, "pool", None)
    if mine is not None and mine() is pool:
        return _requested.context
    return pool.conn_kw.get("ssl_context")


class HostContext:
    """A context for the connections to one host, checked as pip's urllib3 checks them.

    It closes two gaps of urllib3 1.x (pip before 26.1):

    * Where pip's own context leaves the host name to urllib3 (its contexts
      without truststore, ``check_hostname`` off), urllib3 1.x matches the name
      itself after the handshake, with its ``match_hostname``: a wildcard over
      one label (``*.corp``) passes there, and OpenSSL would refuse it. The
      shim's context then leaves the name to urllib3 too, exactly as strict,
      and this makes the same call after every handshake it makes: urllib3
      skips it for a ``proxy_ssl_context`` it is given (the TLS to an
      ``https://`` proxy), and the shim never leaves a name unchecked. (A
      ``wrap_bio``, TLS inside TLS, is the server behind an ``https://``
      proxy, whose name urllib3 matches once its handshake is done.)
    * urllib3 1.x leaves ``server_hostname`` out when the host is an IP address,
      and a context that checks host names then refuses to connect; inside a
      CONNECT tunnel it passes an IPv6 address in brackets, which OpenSSL would
      check as a name. This passes the bare address, so OpenSSL checks it
      against the certificate's IP SANs.

    Every other attribute, read or set, is the wrapped context's.
    """

    _context: ssl.SSLContext
    _host: str
    _address: str
    _match: Callable[[Any, str], None]

    def __init__(self, context: ssl.SSLContext, host: str, address: str) -> None:
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_address", address)
        if not context.check_hostname:
            object.__setattr__(self, "_match", urllib3_match_hostname())

    def __getattr__(self, name: str) -> object:
        return getattr(self._context, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._context, name, value)

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        if self._address:
            kwargs["server_hostname"] = self._address
        wrapped = self._context.wrap_socket(sock, *args, **kwargs)
        if not self._context.check_hostname:
            try:
                self._match(wrapped.getpeercert(), self._host)
            except BaseException:
                wrapped.close()
                raise
        return wrapped

    def wrap_bio(self, incoming: Any, outgoing: Any, *args: Any, **kwargs: Any) -> Any:
        if self._address:
            kwargs["server_hostname"] = self._address
        return self._context.wrap_bio(incoming, outgoing, *args, **kwargs)


_hosts: Dict[Tuple[int, str], HostContext] = {}


def for_host(context: ssl.SSLContext, host: str) -> Any:
    """``context`` for the connections to ``host`` (as urllib3 names it), wrapped in a
    ``HostContext`` where urllib3 1.x needs one: the host name left to urllib3, or an
    IP address host."""
    address = host.strip("[]").split("%")[0]
    if not _is_ip(address) or _urllib3_major() >= 2:
        address = ""
    if context.check_hostname and not address:
        return context
    key = (id(context), host)
    named = _hosts.get(key)
    if named is None:
        named = _hosts.setdefault(key, HostContext(context, host, address))
    return named


def urllib3_match_hostname() -> Callable[[Any, str], None]:
    """The function pip's vendored urllib3 1.x matches a certificate to a host name with
    (its own, or Python's ``ssl.match_hostname`` on urllib3 1.26.2 and older)."""
    try:
        from pip._vendor.urllib3.connection import _match_hostname  # type: ignore
    except ImportError:
        raise unrecognised_pip("its urllib3 has no host name check the shim knows") from None
    match: Callable[[Any, str], None] = _match_hostname
    return match


def proxy_host(proxy: str) -> str:
    """The host of a proxy URL as pip's urllib3 connects to it (lower case, IDNA 2008)."""
    from pip._vendor.urllib3.util.url import parse_url

    return str(parse_url(proxy).host or "")


def fit_build_children(trust: Trust) -> None:
    """The pips this pip starts to install build dependencies get its bundles.

    pip's ``call_subprocess`` in its build-environment module gets the
    parent's bundles in ``extra_environ``: the child's environment only, never
    this process's ``os.environ``. For pip 26.2+'s venv-isolation, where the
    build venv's own Python runs, the command goes through ``venv_runner``.
    """
    for name in ("pip._internal.build_env.installer", "pip._internal.build_env"):
        try:
            __import__(name)
        except ImportError:
            continue
        module = sys.modules[name]
        call = getattr(module, "call_subprocess", None)
        if call is None or getattr(call, _MARK, False):
            continue
        module.call_subprocess = _handing_down(call, trust)  # type: ignore[attr-defined]


def _handing_down(call: Callable[..., Any], trust: Trust) -> Callable[..., Any]:
    @functools.wraps(call)
    def call_subprocess(cmd: List[str], *args: Any, **kwargs: Any) -> Any:
        options = pip_options()
        given = given_bundles(getattr(options, "cert", None), SESSION_CERT, False, os.environ)
        value = for_children([*trust.settings.inherited, *given], os.getpid())
        kwargs["extra_environ"] = {**(kwargs.get("extra_environ") or {}), INHERITED: value}
        return call(through_venv_runner(cmd), *args, **kwargs)

    setattr(call_subprocess, _MARK, True)
    return call_subprocess


def through_venv_runner(cmd: List[str]) -> List[str]:
    """``cmd`` with ``venv_runner`` put in front of pip, for another Python."""
    # Not samefile: a venv's python is a symlink to the same interpreter.
    if len(cmd) < 2 or os.path.abspath(cmd[0]) == os.path.abspath(sys.executable):
        return list(cmd)
    from . import venv_runner

    return [cmd[0], venv_runner.__file__, os.pathsep.join(venv_runner.shim_dirs()), *cmd[1:]]


def _raise_command_error(message: str) -> None:
    from pip._internal.exceptions import CommandError

    raise CommandError(message)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
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
