"""pip-trustshim's start-up hook: wait, at no cost, for pip to import its session.

``site`` runs ``import _pip_trustshim_boot`` (the line of
``pip_trustshim.pth``) in every Python process of the environment. This
module puts itself on ``sys.meta_path`` as a finder that answers for two of
pip's modules only: its session module, and its main parser (which reads
pip.conf first). For those it asks the other finders for pip's own spec and
becomes its loader: pip's loader runs the module, then ``pip_trustshim.hook``
gets it. If that package cannot be imported or fails (a damaged
installation), pip's sessions refuse the network while the shim is switched
on. At start-up: no import, no file I/O, no output, no exception, nothing
built but this module; importing it twice is harmless.
"""

import sys

_WATCHED = ("pip._internal.network.session", "pip._internal.cli.main_parser")
OFF_WORDS = ("0", "false", "no", "off")
_loaders = {}  # type: dict  # watched module being imported -> its loader (None: looking)


def find_spec(fullname, path=None, target=None):
    """pip's spec of a watched module, with this module as its loader."""
    if fullname not in _WATCHED or fullname in _loaders:
        return None
    _loaders[fullname] = None  # the other finders may import: do not answer again
    try:
        spec = _pip_spec(fullname, path, target)
    except Exception:
        spec = None
    if spec is None or spec.loader is None:
        del _loaders[fullname]
        return None
    _loaders[fullname] = spec.loader
    spec.loader = sys.modules[__name__]
    return spec


def _pip_spec(fullname, path, target):
    for finder in sys.meta_path:
        if finder is sys.modules[__name__]:
            continue
        if hasattr(finder, "find_spec"):
            spec = finder.find_spec(fullname, path, target)
        elif hasattr(finder, "find_module"):  # a legacy finder (Python < 3.12)
            loader = finder.find_module(fullname, path)
            spec = loader and sys.modules["_frozen_importlib"].spec_from_loader(fullname, loader)
        else:
            continue
        if spec is not None:
            return spec
    return None


def create_module(spec):
    """Create the module as pip's own loader would."""
    create = getattr(_loaders[spec.name], "create_module", None)
    return create(spec) if create is not None else None


def exec_module(module):
    """Run pip's module with pip's own loader, then hand it to the shim."""
    spec = module.__spec__
    loader = spec.loader = module.__loader__ = _loaders.pop(spec.name)
    if hasattr(loader, "exec_module"):
        loader.exec_module(module)
    else:  # zipimporter before Python 3.10: load_module only
        exec(loader.get_code(spec.name), module.__dict__)
    try:
        from pip_trustshim.hook import after
    except Exception as error:
        refuse_when_on(module, f"the pip_trustshim package cannot be imported: {error}")
        return
    try:
        after(module)
    except Exception as error:
        refuse_when_on(module, f"{type(error).__name__}: {error}")


def refuse_when_on(module, problem):
    """A damaged installation: pip's sessions refuse the network while switched on."""
    cls = getattr(module, "PipSession", None)
    if cls is None:
        return
    init = cls.__init__
    message = (
        f"pip-trustshim: the installation is damaged ({problem}); reinstall it with the "
        "shim off: PIP_TRUSTSHIM=0 pip install --force-reinstall --no-deps <its wheel>"
    )

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if _switched_on():
            refuse_network(self, message)

    cls.__init__ = __init__


def refuse_network(session, message):
    """Let ``session`` serve ``file:`` URLs only; anything else stops pip."""
    request = getattr(session, "request", None)
    if request is None:  # not pip's session: nothing to serve
        raise SystemExit(message)

    def refuse(method, url, *args, **kwargs):
        if str(url).lower().startswith("file:"):
            return request(method, url, *args, **kwargs)
        try:
            from pip._internal.exceptions import CommandError
        except Exception:
            raise SystemExit(message) from None
        raise CommandError(message)

    session.request = refuse


def _switched_on():
    """``PIP_TRUSTSHIM``, else pip.conf's ``trustshim.enabled``, is not an off word."""
    isolated = "--isolated" in sys.argv[1:]
    value = None if isolated else sys.modules["os"].environ.get("PIP_TRUSTSHIM")
    if value is None:
        try:
            from pip._internal.configuration import Configuration

            config = Configuration(isolated=isolated)
            config.load()
            value = config.get_value("trustshim.enabled")
        except Exception:
            return False
    return str(value).strip().lower() not in OFF_WORDS


if sys.modules[__name__] not in sys.meta_path:
    sys.meta_path.insert(0, sys.modules[__name__])
