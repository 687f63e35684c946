"""pip-trustshim: make every pip verify HTTPS against exactly the trust store you chose.

There is no Python API: the command line (``pip-trustshim``, ``python -m
pip_trustshim``) and the settings are the interface, and every module here is
internal and may change in any release.

The start-up hook (``_pip_trustshim_boot``, run from ``pip_trustshim.pth``)
waits for pip to import its session module, then hands it to
``pip_trustshim.hook``. Nothing here is imported by a Python process that
never imports pip.
"""

__version__ = "0.2.0"
