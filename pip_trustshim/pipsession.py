"""pip's own session, built as ``pip install`` (and ``pip download``) builds it, for ``check``.

pip's ``install`` command parses its options (pip's configuration files and
``PIP_*`` variables, as for any pip run) and builds its ``PipSession`` with
its own ``_build_session`` (a method of the command on every pip from 20.3;
it moved from ``cli/req_command.py`` to ``cli/index_command.py`` in 24.1), so
every option that decides a request is resolved as pip resolves it: the
index URLs, find-links, trusted hosts, ``proxy``, ``cert`` and
``client-cert``. The session is fitted with the trust it is given
(``patch.fitting_with``), whether the shim is on or not. Unlike pip's, it
keeps no HTTP cache, makes no retries (a 5xx answer comes back as it is) and
never prompts for a password.
"""

from __future__ import annotations

import contextlib
import io
import logging
import posixpath
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import patch
from .errors import ShimError, escape, unrecognised_pip
from .settings import Bundle
from .trust import ClientCert, Trust


@dataclass(frozen=True)
class Pip:
    """A ``pip install`` run's options, and the session it would make requests with."""

    options: Any
    session: Any

    def indexes(self) -> List[Tuple[str, str]]:
        """(kind, URL) of every index pip would read: index-url, extra-index-urls, find-links."""
        options = self.options
        found = []
        if not options.no_index:
            found.append(("index", str(options.index_url)))
            found += [("index", str(url)) for url in options.extra_index_urls or ()]
        found += [("find-links", str(link)) for link in options.find_links or ()]
        return found

    def get(self, url: str, headers: Dict[str, str]) -> Any:
        """GET ``url`` as pip would, following redirects; the body is left unread."""
        with warnings.catch_warnings():  # the unverified requests of a --trusted-host
            warnings.simplefilter("ignore")
            return self.session.get(url, headers=headers, stream=True, allow_redirects=True)

    def proxy_for(self, url: str) -> Optional[str]:
        """The proxy pip's session uses for ``url`` (requests' own choice), or None."""
        from pip._vendor.requests.utils import prepend_scheme_if_needed, select_proxy

        settings = self.session.merge_environment_settings(url, {}, None, None, None)
        proxy = select_proxy(url, settings["proxies"])
        return prepend_scheme_if_needed(proxy, "http") if proxy else None

    def verifies(self, url: str) -> bool:
        """False for an https URL of a ``--trusted-host``: pip does not verify it."""
        adapter = self.session.get_adapter(url)
        return not type(adapter).__name__.startswith("Insecure")

    def secure(self, url: str) -> bool:
        """Whether pip reads from ``url`` at all (https, a trusted host, localhost...)."""
        from pip._internal.models.link import Link

        return bool(self.session.is_secure_origin(Link(url)))

    def bundles(self) -> Tuple[Bundle, ...]:
        """The CA bundles this session was given (``--cert``, ``REQUESTS_CA_BUNDLE``...)."""
        return patch.session_bundles(self.session)

    @property
    def client_cert(self) -> ClientCert:
        """pip's own ``--client-cert``, if any."""
        return self.options.client_cert or None


def start(trust: Trust, timeout: float) -> Pip:
    """pip's options as ``pip install`` reads them, and its session fitted with ``trust``."""
    _quiet_pip_logging()
    try:
        from pip._internal.commands import create_command
        from pip._internal.network import session as session_module

        command: Any = create_command("install")
        build = command._build_session
    except (ImportError, AttributeError, KeyError) as error:
        raise unrecognised_pip(f"its install command cannot build a session: {error}") from None
    patch.patch_session_module(session_module)  # done by the hook already, unless python -S
    options = _parse(command)
    options.cache_dir = None  # the network itself, never pip's HTTP cache
    with patch.fitting_with(trust):
        session = build(options, retries=0, timeout=timeout)
    session.auth.prompting = False
    _no_retries(session)
    return Pip(options, session)


def project_url(index: str, project: str) -> str:
    """The page pip reads for ``project`` on the index at ``index`` (as pip joins them)."""
    from pip._vendor.packaging.utils import canonicalize_name

    url = posixpath.join(index, urllib.parse.quote(canonicalize_name(project)))
    return url if url.endswith("/") else url + "/"


def _parse(command: Any) -> Any:
    """pip's options, or the one line pip's option parser would stop with (it prints
    some of its errors, and logs others)."""
    said = io.StringIO()
    logged = logging.StreamHandler(said)
    logger = logging.getLogger("pip")
    logger.addHandler(logged)
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            options, _ = command.parse_args([])
    except SystemExit:
        words = " ".join(said.getvalue().split()) or "pip's option parser stopped"
        raise ShimError(f"pip-trustshim: pip's configuration: {escape(words)}") from None
    finally:
        logger.removeHandler(logged)
    return options


def _no_retries(session: Any) -> None:
    """One try per request, and a 5xx answer comes back instead of an error."""
    from pip._vendor.urllib3.util.retry import Retry

    for adapter in session.adapters.values():
        if hasattr(adapter, "max_retries"):
            adapter.max_retries = Retry(0, read=False)


def _quiet_pip_logging() -> None:
    """pip's warnings (an insecure origin, a deprecation) are not ``check``'s output."""
    logger = logging.getLogger("pip")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
