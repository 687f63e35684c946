"""pip-trustshim's startup hook: wait, at no cost, for pip's session module.

``site`` runs this in every Python process of the environment (the import
line of ``pip_trustshim.pth``; ``install`` from ``pip_trustshim.start`` on
Python 3.15+, PEP 829). It puts one tiny finder on ``sys.meta_path`` that
answers for two of pip's modules only (its session module, and its main
parser, which reads pip.conf first), and then imports ``_pip_trustshim_hook``
to do the work. Kept this small on purpose: no
import, no file I/O, no output, no exception, no lock; safe to run twice.
"""

import sys

_WATCHED = ("pip._internal.network.session", "pip._internal.cli.main_parser")


class _Finder:
    """Meta path finder for two of pip's modules; all else goes past it."""

    _pip_trustshim = True
    _busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _WATCHED or self._busy:
            return None
        try:
            from _pip_trustshim_hook import find_spec
        except Exception:
            return None
        return find_spec(self, fullname, path, target)


def install():
    """Put the finder on ``sys.meta_path`` once; patch pip if already loaded."""
    try:
        for finder in sys.meta_path:
            if getattr(finder, "_pip_trustshim", False):
                return
        sys.meta_path.insert(0, _Finder())
        if "pip._internal.network.session" in sys.modules:
            from _pip_trustshim_hook import patch

            patch(sys.modules["pip._internal.network.session"])
    except Exception:
        pass


install()
