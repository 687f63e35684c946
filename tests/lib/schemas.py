"""The ``--json`` outputs' schemas, kept as data in docs/schemas/, and checks against them.

:func:`validate` checks one printed object against ``docs/schemas/NAME.schema.json``
(JSON Schema 2020-12, with ``jsonschema``, a test-only dependency);
:func:`documented_keys` reads the top-level keys a table in docs/cli.md
lists, so a test can hold the docs, the schema and the output to one set of
keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Set

import jsonschema

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMAS = REPO_ROOT / "docs" / "schemas"
CLI_DOC = REPO_ROOT / "docs" / "cli.md"


def load(name: str) -> Dict[str, Any]:
    """``docs/schemas/<name>.schema.json``, itself checked to be a valid schema."""
    schema: Dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate(document: Any, name: str) -> None:
    """Fail, listing every violation, unless ``document`` matches schema ``name``."""
    validator = jsonschema.Draft202012Validator(load(name))
    problems = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
    assert not problems, f"not a valid {name} document:\n" + "\n".join(problems)


def documented_keys(heading: str) -> Set[str]:
    """The keys in the first column (`` `key` ``) of the table under ``## heading`` in cli.md."""
    text = CLI_DOC.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
