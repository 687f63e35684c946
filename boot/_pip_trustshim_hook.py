"""pip-trustshim's import hook, loaded only when pip imports its session module.

``_pip_trustshim_boot`` (run at every Python start-up) keeps a tiny finder on
``sys.meta_path``; when pip imports ``pip._internal.network.session`` the
finder imports this module, which finds the real spec, wraps its loader so
that the fresh module is handed to ``pip_trustshim.patch``, and, if the
``pip_trustshim`` package is gone (a half-removed installation), makes pip
refuse the network when the switch is on. Standard library only; it never
raises into pip's import.
"""

import sys

_OFF_WORDS = ("0", "false", "no", "off")
_DAMAGED = (
    "pip-trustshim: the installation is damaged (the pip_trustshim package "
    "cannot be imported: {error}); run 'PIP_TRUSTSHIM=0 pip install "
    "--force-reinstall pip-trustshim' to repair it"
)


def find_spec(finder, fullname, path, target):
    """``_Finder.find_spec`` for a watched pip module: wrap its real loader."""
    # The import lock of this module name is held, so only this thread can
    # be here; the flag stops recursion without a lock.
    finder._busy = True
    try:
        spec = _find_elsewhere(fullname, path, target)
    except Exception:
        return None
    finally:
        finder._busy = False
    if spec is None or spec.loader is None:
        return None
    after = patch if fullname.endswith(".session") else check_pip_config
    spec.loader = _proxy(spec.loader, after)
    return spec


class _Loader:
    """Stands in for pip's loader; everything not overridden goes to it.

    A proxy per spec, never the shared loader itself: zipimporter objects
    serve every module of their archive, so patching one in place would leak.
    """

    def __init__(self, inner, after):
        self._inner = inner
        self._after = after

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _ExecLoader(_Loader):
    """Proxy for loaders with the ``exec_module`` protocol."""

    def create_module(self, spec):
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._inner.exec_module(module)
        self._after(module)


class _LegacyLoader(_Loader):
    """Proxy for loaders with ``load_module`` only (zipimporter before 3.10)."""

    def load_module(self, fullname):
        module = self._inner.load_module(fullname)
        self._after(module)
        return module


def _proxy(inner, after):
    """Wrap pip's loader ``inner``; ``after(module)`` runs once it has run."""
    wrapper = _ExecLoader if hasattr(inner, "exec_module") else _LegacyLoader
    return wrapper(inner, after)


def _find_elsewhere(fullname, path, target):
    """Ask the other finders, as the import system would, without recursing."""
    for finder in list(sys.meta_path):
        if getattr(finder, "_pip_trustshim", False):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None:
            spec = find_spec(fullname, path, target)
        else:
            spec = _legacy_spec(finder, fullname, path)
        if spec is not None:
            return spec
    return None


def _legacy_spec(finder, fullname, path):
    find_module = getattr(finder, "find_module", None)
    loader = find_module(fullname, path) if find_module is not None else None
    if loader is None:
        return None
    return sys.modules["_frozen_importlib"].spec_from_loader(fullname, loader)


def check_pip_config(module):
    """With ``PIP_TRUSTSHIM`` on, a pip.conf pip cannot parse stops pip here.

    pip's main parser is about to read its configuration files and would stop
    on such a file with a message of several lines; this makes it the shim's
    one line. Switched on only inside that file, the shim cannot know, and
    pip's own message stands.
    """
    switch = _environment_switch()
    if not switch or switch in _OFF_WORDS:
        return
    environ = _environ()
    try:
        from pip._internal.configuration import Configuration
        from pip._internal.exceptions import ConfigurationError

        Configuration(isolated=False).load()
    except ConfigurationError as error:
        cause = getattr(error, "error", None)
        path = getattr(cause, "source", None) or getattr(error, "fname", None) or "?"
        where = "environment variable PIP_CONFIG_FILE"
        if path != environ.get("PIP_CONFIG_FILE"):
            where = "pip's configuration files"
        problem = " ".join(str(cause or error).split())
        sys.stderr.write(
            f"pip-trustshim: config file {path!r} (from {where}) cannot be parsed: {problem}\n"
        )
        raise SystemExit(1) from None
    except Exception:
        return


def patch(module):
    """Hand pip's session module to the shim; never let it break the import."""
    try:
        from pip_trustshim.patch import patch_session_module
    except Exception as error:
        _guard_damaged(module, error)
        return
    try:
        patch_session_module(module)
    except Exception:
        pass


def _guard_damaged(module, error):
    """The package is half-removed: fail closed when the switch says on."""
    cls = getattr(module, "PipSession", None)
    if cls is None:
        return
    message = _DAMAGED.format(error=error)
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not _switched_on():
            return
        refuse = self.request

        def request(method, url, *a, **k):
            if not str(url).lower().startswith("file:"):
                from pip._internal.exceptions import CommandError

                raise CommandError(message)
            return refuse(method, url, *a, **k)

        self.request = request

    cls.__init__ = __init__


def _switched_on():
    """Whether ``PIP_TRUSTSHIM`` or pip.conf's ``trustshim.enabled`` is not an off word."""
    value = _environment_switch()
    if value is None:
        try:
            from pip._internal.configuration import Configuration

            config = Configuration(isolated="--isolated" in sys.argv[1:])
            config.load()
            value = config.get_value("trustshim.enabled")
        except Exception:
            return False
    return str(value).strip().lower() not in _OFF_WORDS


def _environment_switch():
    """``PIP_TRUSTSHIM``, stripped and lower-cased; None if unset or under --isolated."""
    value = _environ().get("PIP_TRUSTSHIM")
    if value is None or "--isolated" in sys.argv[1:]:
        return None
    return value.strip().lower()


def _environ():
    os = sys.modules.get("os")
    return os.environ if os is not None else {}
