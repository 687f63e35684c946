"""Helpers for pip-trustshim's end-to-end tests, one module per concern.

Everything here is real: a throwaway PKI made with ``trustme`` (:mod:`lib.pki`),
hand-made wheels and sdists (:mod:`lib.dists`), a PEP 503 index served over
HTTPS on 127.0.0.1 and a CONNECT proxy (:mod:`lib.servers`), real CPython
interpreters found on the machine (:mod:`lib.interpreters`), cached
virtualenvs with pinned pip releases (:mod:`lib.venvs`), and the pip runs
under test with what they must show (:mod:`lib.running`).

Pip runs *under test* always get an environment built from scratch by
:func:`lib.venvs.scrubbed_env`; only the one-time downloads into the wheel
cache use the machine's ambient environment (they need its proxy CA).

``tests/`` is on ``sys.path`` (pyproject's pytest ``pythonpath``; the bench
inserts it), so a test imports a helper from the module that owns it:
``from lib.venvs import Venv``.
"""
