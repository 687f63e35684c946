"""The exit statuses of the ``pip-trustshim`` command line, in one place."""

#: done: ``check``: every URL passed; ``enable``/``disable``: pip now sees what
#: was asked; ``status`` and ``export``: always, ``seed``: installed
SUCCESS = 0
#: ``check``: a URL failed; ``enable``/``disable``: written, but pip still sees
#: something else (another source overrides it, or pip would stop on a setting)
NOT_AS_ASKED = 1
#: a bad option, URL, setting or target: nothing was done, nothing written
USAGE_ERROR = 2
#: a bug in pip-trustshim (please report it)
INTERNAL_ERROR = 3

#: the same, for ``--help``
EPILOG = """\
exit status: 0 done (check: every URL passed); 1 check: a URL failed, or
enable/disable: written but pip still sees something else (see the warning);
2 usage or configuration error, nothing done; 3 internal error.
"""

#: ``check --help``: its own exit statuses
CHECK_EPILOG = """\
exit status: 0 pip would get through to every index and file checked (a URL
skipped, or an index without the default package, counts as passed); 1 at
least one FAIL, or no index lists --package NAME; 2 usage or configuration
error (a bad URL or setting, --save-root not writable), nothing checked or
saved; 3 internal error.
"""
