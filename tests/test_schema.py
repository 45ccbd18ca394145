"""`ms schema`: the JSON Schemas accept every example the README and the tests use, and
reject what the parsers reject."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from conftest import REPO
from test_cli import CONTRACT_DEVICES, MALFORMED_DEVICE_FILES
from test_readme import SHELL_EXAMPLES, ci_devices_example


@pytest.fixture(scope="module")
def schemas():
    from mscli.schema import constraints_schema, devices_schema

    out = {"constraints": constraints_schema(), "devices": devices_schema()}
    for schema in out.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return out


def test_schema_command_prints_them(ms, schemas):
    for which in ("constraints", "devices"):
        result = ms("schema", which)
        assert result.code == 0 and result.json() == schemas[which]


def _inline_constraints() -> list[dict]:
    """Every -c '{...}' in the README's examples and the test files."""
    texts = ["\n".join(SHELL_EXAMPLES)]
    texts += [p.read_text() for p in (REPO / "tests").glob("test_*.py")]
    found = []
    for text in texts:
        for match in re.finditer(r"""-c['",\s]+'(\{.*?\})'""", text):
            try:
                value = json.loads(match.group(1))
            except json.JSONDecodeError:
                continue  # deliberately malformed examples
            if isinstance(value, dict) and ({"audio", "video"} & set(value)):
                found.append(value)
    return found


def test_every_constraints_example_validates(schemas):
    examples = _inline_constraints()
    assert len(examples) > 20
    validator = jsonschema.Draft202012Validator(schemas["constraints"])
    for example in examples:
        errors = list(validator.iter_errors(example))
        assert not errors, (example, errors[0].message)


def test_device_file_examples_validate(schemas):
    validator = jsonschema.Draft202012Validator(schemas["devices"])
    assert len(SCHEMA_CHECKABLE) >= 10
    for example in (CONTRACT_DEVICES, json.loads(ci_devices_example())):
        assert not list(validator.iter_errors(example))


# What a schema cannot say: a range's min above its max, a file that does not exist, which
# fault events a kind of device has, and that a frameRate fault needs its value.
BEYOND_A_SCHEMA = ("min 48000 is larger", "no such file", "faults\\[0\\]\\.event",
                   "needs the new rate")
SCHEMA_CHECKABLE = [(c, m) for c, m in MALFORMED_DEVICE_FILES
                    if not any(b in m for b in BEYOND_A_SCHEMA)]


@pytest.mark.parametrize("content,_", SCHEMA_CHECKABLE)
def test_device_files_the_parser_rejects_fail_the_schema(schemas, content, _):
    assert list(jsonschema.Draft202012Validator(schemas["devices"]).iter_errors(content))


def test_constraint_type_errors_fail_the_schema(schemas):
    validator = jsonschema.Draft202012Validator(schemas["constraints"])
    for bad in ({"video": {"width": {"min": "x"}}}, {"video": {"width": "x"}},
                {"video": {"facingMode": 3}}, {"audio": {"autoGainControl": "yes"}},
                {"video": {"advanced": {"width": 1}}}, {"video": 1}):
        assert list(validator.iter_errors(bad)), bad
