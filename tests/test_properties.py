"""Property-based tests of the settings code (hypothesis).

Whatever strings the settings hold, the shim either builds a context that
verifies certificates and hostnames, or stops with one ``pip-trustshim:``
line (``ShimError``). It never crashes otherwise and never yields a context
with verification or hostname checking off.
"""

from __future__ import annotations

import json
import os
import ssl

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lib.pki import Pki
from pip_trustshim import settings as settings_module
from pip_trustshim.errors import ShimError, escape
from pip_trustshim.settings import ON_WORDS, Setting, Settings
from pip_trustshim.trust import Trust


def words_and_paths(pki_dir: str) -> st.SearchStrategy[str]:
    """Arbitrary text, mixed with the words and paths that mean something."""
    meaningful = st.sampled_from(
        ["system", "certifi", "System", "", " ", "~", "$HOME", "/", "/etc/ssl/certs", pki_dir]
    )
    return st.one_of(st.text(), meaningful, st.builds("{}/{}".format, meaningful, st.text()))


def check_outcome(value: Settings) -> None:
    try:
        on = value.is_on()
        context = Trust(value).context()
    except ShimError as error:
        message = str(error)
        assert message.startswith("pip-trustshim: ")
        assert message.isprintable(), message  # no newline, no control: safe on a terminal
        return
    assert isinstance(on, bool)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


@pytest.fixture(scope="module")
def pki_dir(pki: Pki) -> str:
    return str(pki.dir)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_settings_verify_or_stop(data: st.DataObject, pki_dir: str) -> None:
    text = words_and_paths(pki_dir)
    value = Settings(
        Setting("enabled", data.draw(st.one_of(st.text(), st.sampled_from(ON_WORDS))), "test"),
        Setting("store", data.draw(text), "test"),
        Setting("extra-ca", data.draw(text), "test"),
        False,
    )
    check_outcome(value)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(enabled=st.text(), store=st.text(), extra=st.text())
def test_environment_values_never_crash_read(
    enabled: str, store: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assume("\x00" not in enabled + store + extra)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    environ = {
        "PIP_TRUSTSHIM": enabled,
        "PIP_TRUSTSHIM_STORE": store,
        "PIP_TRUSTSHIM_EXTRA_CA": extra,
    }
    value = settings_module.read(isolated=False, environ=environ)
    assert (value.enabled.value, value.store.value, value.extra_ca.value) == (enabled, store, extra)
    assert value.store.source == "environment variable PIP_TRUSTSHIM_STORE"
    check_outcome(value)


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.builds(
            json.dumps,
            st.recursive(
                st.none() | st.booleans() | st.text() | st.integers(),
                lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
            ),
        ),
    )
)
def test_inherited_bundles_are_parsed_or_refused(text: str) -> None:
    """Whatever the hand-down holds: bundles for this process's parent only, or one line."""
    try:
        found = settings_module.from_parent(text, parent=os.getpid())
        elsewhere = settings_module.from_parent(text, parent=os.getpid() + 1)
    except ShimError as error:
        assert str(error).startswith("pip-trustshim: _PIP_TRUSTSHIM_INHERITED")
        assert "\n" not in str(error)
        return
    assert elsewhere == ()
    assert all(bundle.path and bundle.sources for bundle in found)


@settings(max_examples=200, deadline=None)
@given(
    found=st.lists(st.tuples(st.text(min_size=1), st.lists(st.text(), min_size=1)), max_size=5),
    pid=st.integers(min_value=1, max_value=2**31),
)
def test_hand_down_round_trips_to_the_child_only(found: list, pid: int) -> None:
    given = settings_module.bundles((path, s) for path, sources in found for s in sources)
    text = settings_module.for_children(given, pid)
    back = settings_module.from_parent(text, parent=pid)
    assert [bundle.path for bundle in back] == [bundle.path for bundle in given]
    assert all(s.endswith(", via the parent pip") for bundle in back for s in bundle.sources)
    assert settings_module.from_parent(text, parent=pid + 1) == ()


@given(st.text())
def test_escape_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = escape(text)
    assert shown.isprintable()
    if text.isprintable():  # letters of any script, spaces, punctuation: as they are
        assert shown == text
    for char in text:
        assert char in shown if char.isprintable() else char not in shown


def test_escape_names_what_it_escapes() -> None:
    text = "a\x1b[2J\r\n\t\x7f\x85\u2028\u2029\u202e\u2066\u200f\ufeff é ß 中"
    assert escape(text) == (
        "a\\x1b[2J\\r\\n\\t\\x7f\\x85\\u2028\\u2029\\u202e\\u2066\\u200f\\ufeff é ß 中"
    )
