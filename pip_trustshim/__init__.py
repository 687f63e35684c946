"""pip-trustshim: make every pip verify HTTPS against exactly the trust store you chose.

The startup hook (``_pip_trustshim_boot``, run from ``pip_trustshim.pth``)
waits for pip to import its session module and then calls
``pip_trustshim.patch``. Nothing here is imported by a Python process that
never imports pip.
"""

__version__ = "0.1.0"
