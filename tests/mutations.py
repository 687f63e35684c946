"""The mistakes the curated mutation check makes, one at a time (``tests/mutants.py``).

Each is a small change a careless developer might write in the security core
(``hosts``, ``trust``, ``patch``, ``settings``, ``stores``, ``export``,
``seed``, ``__main__`` and the start-up hook) that breaks a sentence of
docs/specification.md, with the tests that must fail on it: pytest node ids,
as few and as fast as kill it, on the default pairs only. Each ``old`` text
must occur exactly once in its file. Add one whenever a review finds a hole,
with the test that kills it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

#: the default pairs' node id parts
OLD = "py3.11-pip23.2.1"
NEW = "py3.13-pip26.3"


@dataclass(frozen=True)
class Mutation:
    """One mistake: ``old`` replaced by ``new`` in ``file`` (and each of ``more``)."""

    name: str
    file: str
    old: str
    new: str
    #: the pytest node ids that must fail on it (and pass without it)
    tests: Tuple[str, ...]
    #: the sentence of the contract it breaks
    why: str
    #: further (old, new) edits in the same file, for a mistake made in two places
    more: Tuple[Tuple[str, str], ...] = ()

    def edits(self) -> Tuple[Tuple[str, str], ...]:
        return ((self.old, self.new), *self.more)


def e2e(module: str, test: str, *params: str) -> str:
    """The node id of an end-to-end test: its parameters (the pair first) as pytest names them."""
    return f"tests/{module}.py::{test}[{'-'.join(params)}]"


#: the mistakes the suite was first tried with (issue 21), and hook.after() raising
FIRST: Tuple[Mutation, ...] = (
    Mutation(
        "host-ca-ignored",
        "pip_trustshim/trust.py",
        "return Choice(self.host_ca.match(*where), client[0] if client else None)",
        "return Choice((), client[0] if client else None)",
        (e2e("test_per_host", "test_a_listed_host_trusts_only_its_entry", NEW),),
        "a host that a host-ca entry matches trusts exactly that entry's bundles",
    ),
    Mutation(
        "store-added-to-listed-host",
        "pip_trustshim/trust.py",
        "        if choice.cas:\n            context = template.new()",
        "        if choice.cas:\n            context = store_context(settings.store, template)",
        (e2e("test_per_host", "test_a_listed_host_trusts_only_its_entry", NEW),),
        "a listed host trusts only its entry: not the store",
    ),
    Mutation(
        "ports-ignored",
        "pip_trustshim/hosts.py",
        '        """Index the entries by HOST (as ``Pattern.shown`` writes it)."""\n',
        '        """Index the entries by HOST (as ``Pattern.shown`` writes it)."""\n'
        '        keys = [key if key.startswith("[") else key.split(":")[0] for key in keys]\n',
        ("tests/test_hosts.py::test_a_port_entry_matches_its_port_only_and_wins_there",),
        "HOST:PORT matches that port only",
    ),
    Mutation(
        "no-proxy-ssl-context",
        "pip_trustshim/patch.py",
        'kwargs["proxy_ssl_context"] = for_host(context, host)',
        "pass",
        (
            e2e(
                "test_roads",
                "test_an_https_proxy_is_verified_with_the_chosen_trust",
                NEW,
                "HTTPS_PROXY-localhost",
            ),
        ),
        "the TLS to an https:// proxy trusts what the shim trusts for the proxy's host",
    ),
    Mutation(
        "requests-ca-certs-kept",
        "pip_trustshim/patch.py",
        "        conn.ca_certs = None\n",
        "",
        (e2e("test_core", "test_pips_vendored_certifi_is_not_added", NEW),),
        "nothing but the shim's trust is loaded: not the bundle requests hands urllib3",
        more=(('_FILES = ("ca_certs", ', "_FILES = ("),),
    ),
    Mutation(
        "client-cert-sent-everywhere",
        "pip_trustshim/trust.py",
        "client = self.host_client_cert.match(*where)",
        "client = self.host_client_cert.entries",
        (e2e("test_per_host", "test_a_host_client_cert_goes_to_its_host_only", NEW),),
        "a host-client-cert entry is presented to its host only",
    ),
    Mutation(
        "missing-store-falls-back-to-system",
        "pip_trustshim/stores.py",
        '        if file_kind(path) == "missing":\n            raise store.error(',
        '        if file_kind(path) == "missing":\n'
        "            return system_context(store, template=template)\n            raise (",
        (e2e("test_core", "test_bad_store_from_environment", NEW),),
        "a store that names no file stops pip: no fallback to another store",
    ),
    Mutation(
        "missing-extra-ca-skipped",
        "pip_trustshim/trust.py",
        "for path in settings.extra_ca_paths():",
        "for path in filter(os.path.exists, settings.extra_ca_paths()):",
        (e2e("test_core", "test_bad_extra_ca", NEW),),
        "an extra CA that cannot be loaded stops pip: never skipped",
    ),
    Mutation(
        "hand-down-pid-check-deleted",
        "pip_trustshim/settings.py",
        "    if pid != (os.getppid() if parent is None else parent):\n        return ()\n",
        "",
        ("tests/test_properties.py::test_hand_down_round_trips_to_the_child_only",),
        "a hand-down counts only when it names this process's parent",
    ),
    Mutation(
        "vendored-certifi-for-certifi",
        "pip_trustshim/stores.py",
        "        import certifi\n    except ImportError:\n        raise store.error(",
        "        from pip._vendor import certifi\n    except ImportError:\n"
        "        raise store.error(",
        (e2e("test_core", "test_certifi_store_is_the_installed_certifi", NEW),),
        "certifi means the installed certifi package, not pip's vendored copy",
    ),
    Mutation(
        "damaged-install-stop-swallowed",
        "boot/_pip_trustshim_boot.py",
        'refuse_when_on(module, f"the pip_trustshim package cannot be imported: {error}")',
        "pass",
        (
            e2e(
                "test_hardening",
                "test_partial_installation_fails_closed",
                NEW,
                "remove_package",
            ),
        ),
        "a damaged installation stops pip while the shim is switched on",
    ),
    Mutation(
        "wildcard-without-label-boundary",
        "pip_trustshim/hosts.py",
        '        dot = name.find(".")\n        while dot != -1:',
        "        dot = 0\n        while dot != -1:",
        ("tests/test_hosts.py::test_a_wildcard_matches_at_a_label_boundary",),
        "*.NAME matches the hosts below NAME: evilcorp.test is not below corp.test",
        more=(
            (
                '            dot = name.find(".", dot + 1)',
                "            dot = dot + 1 if dot + 1 < len(name) else -1",
            ),
        ),
    ),
    Mutation(
        "pip-client-cert-to-https-proxy",
        "pip_trustshim/patch.py",
        "context = trust.context(bundles, None, host, port, template)",
        "context = trust.context(bundles, session.cert, host, port, template)",
        (e2e("test_roads", "test_an_https_proxy_gets_only_its_own_client_certificate", NEW),),
        "pip's --client-cert goes to the servers, never to an https:// proxy",
    ),
    Mutation(
        "export-includes-host-ca",
        "pip_trustshim/export.py",
        '        yield f"pip\'s CA bundle ({bundle.source})", bundle.path\n',
        '        yield f"pip\'s CA bundle ({bundle.source})", bundle.path\n'
        "    for entry in view.trust.host_ca.entries:\n"
        '        yield f"host-ca {entry.pattern.shown()}", entry.path\n',
        (e2e("test_export", "test_export_leaves_out_every_host_ca_bundle", NEW),),
        "export holds what the shim trusts for a host with no host-ca entry",
    ),
    Mutation(
        "ca-bundle-variables-despite-trust-env-off",
        "pip_trustshim/patch.py",
        'trust_env = getattr(session, "trust_env", True)',
        "trust_env = True",
        (
            e2e(
                "test_roads",
                "test_ca_bundle_variables_count_only_while_pip_reads_them",
                NEW,
                "REQUESTS_CA_BUNDLE",
            ),
        ),
        "REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE count only while pip's requests reads them",
    ),
    Mutation(
        "bad-setting-stops-only-https",
        "boot/_pip_trustshim_boot.py",
        'if str(url).lower().startswith("file:"):',
        'if not str(url).lower().startswith("https:"):',
        (e2e("test_hardening", "test_a_bad_setting_stops_plain_http_too", NEW, "missing_path"),),
        "a bad setting stops pip's first request, whatever its scheme (file: aside)",
    ),
    Mutation(
        "after-exception-swallowed",
        "boot/_pip_trustshim_boot.py",
        '        refuse_when_on(module, f"{type(error).__name__}: {error}")',
        "        pass",
        (e2e("test_hardening", "test_partial_installation_fails_closed", NEW, "break_after"),),
        "a damaged installation stops pip while the shim is switched on",
    ),
)

#: the mistakes later fixes and reviews called for
LATER: Tuple[Mutation, ...] = (
    # ---------- trust -------------------------------------------------------
    Mutation(
        "pip-bundles-added-to-listed-host",
        "pip_trustshim/trust.py",
        "                load_bundle(context, entry.path, entry, entry.path)\n",
        "                load_bundle(context, entry.path, entry, entry.path)\n"
        "            for bundle in given:\n"
        "                load_bundle(context, bundle.path, bundle, bundle.path)\n",
        (e2e("test_per_host", "test_a_listed_host_trusts_only_its_entry", NEW),),
        "a listed host trusts only its entry: not pip's --cert or REQUESTS_CA_BUNDLE",
    ),
    Mutation(
        "template-ignored",
        "pip_trustshim/trust.py",
        "template = template or plain()\n        if self._malformed",
        "template = plain()\n        if self._malformed",
        ("tests/test_stores.py::test_a_template_is_part_of_a_contexts_key",),
        "every context is as strict as the context pip itself would use in its mode",
    ),
    Mutation(
        "template-not-in-context-key",
        "pip_trustshim/trust.py",
        "key = (template, cas, client)",
        "key = (cas, client)",
        ("tests/test_stores.py::test_a_template_is_part_of_a_contexts_key",),
        "a session of one mode never gets a context made for another",
    ),
    Mutation(
        "session-bundles-widen-other-sessions",
        "pip_trustshim/trust.py",
        'cas = ("general", tuple(_key(bundle.path) for bundle in given))',
        'cas = ("general", ())',
        (e2e("test_hardening", "test_a_sessions_own_bundle_counts_for_that_session_only", NEW),),
        "one session's bundles never widen what another session trusts",
    ),
    Mutation(
        "client-cert-not-in-context-key",
        "pip_trustshim/trust.py",
        "client: Hashable = _client_key(client_cert)",
        "client: Hashable = None",
        (e2e("test_per_host", "test_a_host_client_cert_goes_to_its_host_only", NEW),),
        "a client certificate goes only where it is meant to: never to another session's host",
    ),
    Mutation(
        "pip-client-cert-beats-host-entry",
        "pip_trustshim/trust.py",
        "        if choice.client is not None:\n"
        "            load_client_cert(context, choice.client.path, choice.client)\n"
        "        elif client_cert is not None:\n",
        "        if client_cert is not None:\n"
        "            load_client_cert(context, client_cert, _PipClientCert(client_cert))\n"
        "        elif choice.client is not None:\n"
        "            load_client_cert(context, choice.client.path, choice.client)\n"
        "        if False:\n",
        (e2e("test_per_host", "test_a_host_client_cert_goes_to_its_host_only", NEW),),
        "a host-client-cert entry, not pip's --client-cert, goes to its host",
    ),
    Mutation(
        "fifo-client-certificate-read",
        "pip_trustshim/trust.py",
        'if path is not None and file_kind(str(path)) == "special":',
        "if False:",
        (e2e("test_hardening", "test_a_client_certificate_that_is_a_fifo_stops_pip", NEW),),
        "a FIFO named as a client certificate is refused before anything reads it",
    ),
    # ---------- hosts -------------------------------------------------------
    Mutation(
        "port-entry-loses-to-host-entry",
        "pip_trustshim/hosts.py",
        'found = self._lookup(f"{shown}:{port}") or self._lookup(shown)',
        'found = self._lookup(shown) or self._lookup(f"{shown}:{port}")',
        ("tests/test_hosts.py::test_a_port_entry_matches_its_port_only_and_wins_there",),
        "the most specific entry wins: host with port, then host",
    ),
    Mutation(
        "entries-for-one-host-do-not-add-up",
        "pip_trustshim/hosts.py",
        "        ats = self._many.get(key)\n",
        "        ats = None\n",
        (e2e("test_per_host", "test_entries_for_one_host_add_up_and_names_ignore_case", NEW),),
        "the entries written for the same HOST add up",
    ),
    Mutation(
        "host-case-not-folded",
        "pip_trustshim/hosts.py",
        "    if host.isascii():\n        host = host.lower()\n",
        "    if host.isascii():\n",
        ("tests/test_hosts.py::test_a_wildcard_never_matches_its_own_name_and_names_ignore_case",),
        "a HOST is matched whatever its case and a trailing dot",
    ),
    Mutation(
        "numeric-wildcard-accepted",
        "pip_trustshim/hosts.py",
        'if wildcard and _NUMBER.match(name.rpartition(".")[2]):',
        "if False:",
        ("tests/test_hosts.py::test_a_wildcard_that_could_match_an_address_is_refused",),
        "a wildcard before a name whose last part is a number is refused",
    ),
    Mutation(
        "address-matched-against-wildcards",
        "pip_trustshim/hosts.py",
        "        if found or address:\n",
        "        if found:\n",
        ("tests/test_hosts.py::test_an_address_never_matches_a_name_pattern",),
        "a name pattern never matches an IP address",
    ),
    Mutation(
        "idna-by-pythons-codec",
        "pip_trustshim/hosts.py",
        "labels.append(idna.encode(label.lower(), strict=True, std3_rules=True).decode())",
        'labels.append(label.lower().encode("idna").decode())',
        (
            "tests/test_hosts.py::test_a_name_is_matched_as_pip_encodes_it",
            "tests/test_hosts.py::test_the_package_never_uses_pythons_idna_codec",
        ),
        "a name outside ASCII is matched as pip encodes it (IDNA 2008: straße is not strasse)",
    ),
    Mutation(
        "name-outside-ascii-skips-the-wildcards",
        "pip_trustshim/hosts.py",
        "return a_label(host), False",
        "return a_label(host), True",
        ("tests/test_hosts.py::test_a_name_outside_ascii_is_below_a_wildcard_too",),
        "*.NAME matches every host below NAME, names outside ASCII too",
    ),
    Mutation(
        "common-form-skips-the-length-check",
        "pip_trustshim/hosts.py",
        "if simple is None or not _short_enough(simple.group(2)):",
        "if simple is None:",
        (
            "tests/test_hosts.py::test_a_name_has_parts_of_63_characters_and_253_in_all"
            "[common-form]",
        ),
        "a part of a host name has at most 63 characters, however the table is written",
    ),
    # ---------- stores ------------------------------------------------------
    Mutation(
        "bundle-store-adds-the-system-store",
        "pip_trustshim/stores.py",
        '    context = template.new()\n    if store.value == "certifi":',
        '    context = system_context(store, template=template)\n    if store.value == "certifi":',
        (e2e("test_core", "test_bundle_store_trusts_only_that_bundle", NEW),),
        "a bundle store trusts that bundle: not the system store too",
    ),
    Mutation(
        "check-hostname-off",
        "pip_trustshim/stores.py",
        "ctx.check_hostname = self.check_hostname",
        "ctx.check_hostname = False",
        ("tests/test_stores.py::test_contexts_always_verify",),
        "every context checks the certificate and the host name",
    ),
    Mutation(
        "host-name-always-left-to-openssl",
        "pip_trustshim/stores.py",
        "            bool(context.check_hostname),\n",
        "            True,\n",
        (e2e("test_oracle", "test_the_shim_accepts_exactly_what_pip_does", OLD, "default"),),
        "no stricter than pip: where pip's urllib3 1.x matches the host name, so does the shim",
    ),
    Mutation(
        "verify-flags-dropped",
        "pip_trustshim/stores.py",
        "        ctx.verify_flags = ssl.VerifyFlags(self.verify_flags)\n",
        "",
        ("tests/test_stores.py::test_a_template_gives_every_setting_but_the_anchors",),
        "every context has the verify flags of pip's own (VERIFY_X509_STRICT...)",
    ),
    # ---------- patch -------------------------------------------------------
    Mutation(
        "pips-truststore-template-ignored",
        "pip_trustshim/patch.py",
        'pips = Template.of(own, "pip\'s truststore context")',
        "pips = urllib3",
        (e2e("test_oracle", "test_the_shim_accepts_exactly_what_pip_does", NEW, "default"),),
        "in pip's truststore mode, the shim is exactly as strict as pip's truststore context",
    ),
    Mutation(
        "check-trust-outlives-its-block",
        "pip_trustshim/patch.py",
        "    finally:\n        _given.trust = None\n",
        "    finally:\n        pass\n",
        ("tests/test_check_logic.py::test_fitting_with_fits_the_sessions_built_inside_only",),
        "only check's own session gets check's trust: switched off, nothing of the shim runs",
    ),
    Mutation(
        "check-trust-shared-by-threads",
        "pip_trustshim/patch.py",
        "_given = threading.local()",
        '_given = type("Given", (), {"trust": None})()',
        ("tests/test_check_logic.py::test_fitting_with_fits_the_sessions_built_inside_only",),
        "check's trust reaches no session another thread builds meanwhile",
    ),
    Mutation(
        "tunnels-as-strict-as-pips-truststore-context",
        "pip_trustshim/patch.py",
        "return pips, (pips if _proxies_get_its_context(adapter) else urllib3), urllib3",
        "return pips, pips, urllib3",
        (e2e("test_oracle", "test_the_shim_accepts_exactly_what_pip_does", OLD, "truststore"),),
        "behind a proxy, as strict as pip there: urllib3's context before pip 25.2",
    ),
    Mutation(
        "name-left-to-urllib3-never-checked",
        "pip_trustshim/patch.py",
        "                self._match(wrapped.getpeercert(), self._host)\n",
        "                pass\n",
        (
            "tests/test_stores.py::test_a_name_left_to_urllib3_is_matched_after_every_handshake",
            e2e(
                "test_roads",
                "test_an_https_proxy_whose_certificate_names_another_host_is_refused",
                OLD,
            ),
        ),
        "hostname checks stay on: an https:// proxy's name is checked on every pip",
    ),
    Mutation(
        "https-proxy-leg-as-strict-as-the-session",
        "pip_trustshim/patch.py",
        "adapter.proxy_manager_for, session, trust, default, proxy_strict",
        "adapter.proxy_manager_for, session, trust, default, strict",
        (e2e("test_oracle", "test_an_https_proxy_is_judged_as_pip_judges_it", NEW, "default"),),
        "the TLS to an https:// proxy is as strict as pip's own there",
    ),
    Mutation(
        "https-proxy-judged-by-the-general-rule",
        "pip_trustshim/patch.py",
        "context = trust.context(bundles, None, host, port, template)",
        "context = trust.context(bundles, None, None, None, template)",
        (e2e("test_per_host", "test_an_https_proxy_is_judged_by_its_own_host", NEW),),
        "an https:// proxy's own TLS is judged by the entries for the proxy's host",
    ),
    Mutation(
        "kept-alive-connection-reused-across-contexts",
        "pip_trustshim/patch.py",
        'if wanted is not None and getattr(conn, "ssl_context", wanted) is not wanted:',
        "if False:",
        (e2e("test_hardening", "test_a_kept_alive_connection_serves_only_its_own_context", OLD),),
        "a connection kept alive serves only requests that resolve to its own context",
    ),
    Mutation(
        "bad-setting-ignored",
        "pip_trustshim/patch.py",
        "    except ShimError as error:\n"
        "        refuse_network(session, str(error))\n        return\n",
        "    except ShimError:\n        return\n",
        (e2e("test_core", "test_bad_switch_value", NEW),),
        "a bad setting stops pip with one line: never pip's own trust instead",
    ),
    Mutation(
        "bad-bundle-ignored",
        "pip_trustshim/patch.py",
        "    except ShimError as error:\n        refuse_network(session, str(error))\n    except",
        "    except ShimError:\n        pass\n    except",
        (e2e("test_core", "test_bad_store_from_environment", NEW),),
        "a store that cannot be loaded stops pip with one line: never pip's own trust instead",
    ),
    Mutation(
        "pip-v-left-raw",
        "pip_trustshim/patch.py",
        '"\\n".join(map(escape, lines))',
        '"\\n".join(lines)',
        (e2e("test_messages", "test_pip_v_escapes_a_path", NEW),),
        "every user-supplied string in any output is escaped",
    ),
    # ---------- settings ----------------------------------------------------
    Mutation(
        "on-by-default",
        "pip_trustshim/settings.py",
        '"enabled": ("PIP_TRUSTSHIM", "off"),',
        '"enabled": ("PIP_TRUSTSHIM", "on"),',
        (e2e("test_core", "test_off_by_default_pip_is_native", NEW),),
        "the shim is off until switched on: pip is native",
    ),
    Mutation(
        "pip-conf-beats-environment",
        "pip_trustshim/settings.py",
        "_from_environment(name, environ, isolated) or _from_config(config, name)",
        "_from_config(config, name) or _from_environment(name, environ, isolated)",
        (e2e("test_core", "test_environment_wins_over_pip_conf", NEW),),
        "the PIP_TRUSTSHIM* variables override pip's files",
    ),
    Mutation(
        "isolated-reads-the-environment",
        "pip_trustshim/settings.py",
        "    if isolated or variable not in environ:\n",
        "    if variable not in environ:\n",
        (e2e("test_core", "test_isolated_ignores_environment", NEW),),
        "pip --isolated ignores the PIP_TRUSTSHIM* variables, as pip ignores its own",
    ),
    Mutation(
        "unknown-switch-word-is-off",
        "pip_trustshim/settings.py",
        '        raise self.enabled.error("not a switch value',
        '        return False\n        raise self.enabled.error("not a switch value',
        (e2e("test_core", "test_bad_switch_value", NEW),),
        "an unknown switch word stops pip: never off",
    ),
    Mutation(
        "missing-config-file-skipped",
        "pip_trustshim/settings.py",
        "if path and path != os.devnull and not os.path.exists(path):",
        "if False:",
        (e2e("test_hardening", "test_bad_input_stops_pip", NEW, "config_file_nowhere"),),
        "a PIP_CONFIG_FILE that names no file stops pip (pip would skip it silently)",
    ),
    Mutation(
        "malformed-hand-down-accepted",
        "pip_trustshim/settings.py",
        "if not isinstance(pid, int) or not all(",
        "if not isinstance(pid, int) and not all(",
        ("tests/test_properties.py::test_a_malformed_hand_down_from_the_parent_is_refused",),
        "a malformed hand-down stops pip",
    ),
    Mutation(
        "hand-down-read-while-off",
        "pip_trustshim/settings.py",
        "if isolated or INHERITED not in environ or _switched_off(settings):",
        "if isolated or INHERITED not in environ:",
        (e2e("test_roads", "test_a_malformed_hand_down", NEW, "not-json"),),
        "a shim that is off ignores what a parent handed down",
    ),
    Mutation(
        "hand-down-read-under-isolated",
        "pip_trustshim/settings.py",
        "if isolated or INHERITED not in environ or _switched_off(settings):",
        "if INHERITED not in environ or _switched_off(settings):",
        (e2e("test_roads", "test_a_hand_down_set_by_hand_does_no_more_than_pip_cert", NEW),),
        "pip --isolated ignores the hand-down, as it ignores PIP_CERT",
    ),
    # ---------- export, seed, python -m -------------------------------------
    Mutation(
        "export-leaves-out-pips-bundles",
        "pip_trustshim/export.py",
        "for bundle in (*view.settings.inherited, *view.bundles):",
        "for bundle in view.settings.inherited:",
        (e2e("test_export", "test_the_exported_bundle_trusts_exactly_what_pip_trusts", NEW),),
        "export holds the bundles pip was given too: exactly what pip trusts",
    ),
    Mutation(
        "export-comment-left-raw",
        "pip_trustshim/export.py",
        'return escape(text).encode("ascii", "backslashreplace").decode("ascii")',
        'return text.encode("ascii", "backslashreplace").decode("ascii")',
        (e2e("test_messages", "test_export_escapes_a_path", NEW),),
        "every user-supplied string in any output is escaped",
    ),
    Mutation(
        "seed-reads-sys-path",
        "pip_trustshim/seed.py",
        "metadata.distributions(name=name, path=search_path())",
        "metadata.distributions(name=name)",
        (
            e2e(
                "test_seed",
                "test_seed_never_takes_a_distribution_missing_here_from_the_working_directory",
                NEW,
                ".",
            ),
        ),
        "seed packs the installed distributions, never one from the working directory",
    ),
    Mutation(
        "seed-reads-the-working-directory",
        "pip_trustshim/seed.py",
        "if real != own and (real in sites or not below):",
        "if real != own:",
        (
            e2e(
                "test_seed",
                "test_seed_never_takes_a_distribution_missing_here_from_the_working_directory",
                NEW,
                ".",
            ),
        ),
        "seed packs the installed distributions, never one from the working directory",
    ),
    Mutation(
        "seed-reads-a-folder-below-the-working-directory",
        "pip_trustshim/seed.py",
        "below = os.path.commonpath([here, real]) == here",
        "below = real == here",
        (
            e2e(
                "test_seed",
                "test_seed_never_takes_a_distribution_missing_here_from_the_working_directory",
                NEW,
                "sub",
            ),
        ),
        "no command reads distributions from the working directory, or a folder below it",
    ),
    Mutation(
        "python-m-keeps-the-working-directory",
        "pip_trustshim/__main__.py",
        "    del sys.path[0]",
        "    pass",
        (e2e("test_export", "test_export_never_takes_certifi_from_the_working_directory", NEW),),
        "no command reads code or distributions from the working directory",
    ),
    # ---------- the start-up hook -------------------------------------------
    Mutation(
        "damaged-install-ignores-the-pip-conf-switch",
        "boot/_pip_trustshim_boot.py",
        'value = config.get_value("trustshim.enabled")',
        'value = "off"',
        (
            e2e(
                "test_hardening",
                "test_partial_installation_fails_closed",
                NEW,
                "remove_package",
            ),
        ),
        "a damaged installation stops pip while the shim is on, in pip.conf too",
    ),
    Mutation(
        "hook-never-watches-the-session",
        "boot/_pip_trustshim_boot.py",
        '_WATCHED = ("pip._internal.network.session", "pip._internal.cli.main_parser")',
        '_WATCHED = ("pip._internal.cli.main_parser",)',
        (e2e("test_core", "test_on_words_switch_on", NEW, "1"),),
        "switched on, every pip session verifies with the shim's trust",
    ),
)

MUTATIONS: Tuple[Mutation, ...] = FIRST + LATER
