"""Reading ``contract/schema.yaml`` into plain nested dicts, every fact filled in."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ironarchive_schema.contract.layout import (
    CONTRACT,
    JSON,
    NONE,
    REQUIRED,
    Collection,
    Field,
    Record,
)
from ironarchive_schema.errors import ToolchainError


class ContractError(ToolchainError):
    """The contract file cannot be read as a contract; the message says where and why."""



if TYPE_CHECKING:  # mypy cannot follow getattr; libyaml's loader has SafeLoader's methods
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 5 times faster


class _Loader(_SafeLoader):
    """Safe YAML that refuses a key stated twice (PyYAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ContractError(f"line {key_node.start_mark.line + 1}: {key!r} is stated twice")
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def load(path: Path) -> dict:
    """The contract at ``path``, every fact filled in; ContractError says what is wrong."""
    return load_text(path.read_text(), str(path))


def strict_yaml(text: str, where: str, error: type[ToolchainError] = ContractError) -> object:
    """Safe YAML where a key stated twice is an error too; ``error`` says where and why."""
    try:
        return yaml.load(text, Loader=_Loader)
    except ContractError as exc:
        raise error(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{where}: not valid YAML: {exc}") from None


def load_text(text: str, where: str = "contract") -> dict:
    return _normalize(strict_yaml(text, where), CONTRACT, where)


def _type_names(types: tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list of text", str: "text", bool: "true or false",
             int: "a whole number", NONE: "null", float: "a number"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _normalize(value, field: Field, where: str):
    # type(), not isinstance(): YAML's true must not pass for a number, nor 1 for true.
    if type(value) not in field.types:
        hint = " (quote it, e.g. 'false')" if str in field.types and value is not None else ""
        raise ContractError(f"{where}: want {_type_names(field.types)}, got {value!r}{hint}")
    if field.types is JSON:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ContractError(f"{where}: not a JSON value: {value!r}") from None
    if isinstance(value, list) and field.types is not JSON:
        if not all(isinstance(item, str) for item in value):
            raise ContractError(f"{where}: every item must be text, got {value!r}")
    if field.choices and value not in field.choices:
        raise ContractError(f"{where}: want one of {', '.join(field.choices)}, got {value!r}")
    node = field.node
    if isinstance(node, Collection):
        for key in value:
            if not isinstance(key, str):
                raise ContractError(f"{where}: name {key!r} must be text (quote it)")
        return {key: _normalize(item, node.entry, f"{where}.{key}") for key, item in value.items()}
    if isinstance(node, Record) and value is not None:
        return _record(value, node, where)
    return value


def _record(value: dict, record: Record, where: str) -> dict:
    unknown = [key for key in value if key not in record.fields]
    if unknown:
        raise ContractError(f"{where}: unknown {', '.join(map(repr, unknown))}; "
                            f"a {where.rsplit('.', 1)[-1]!r} entry may state "
                            f"{', '.join(record.fields)}")
    facts = {}
    for name, field in record.fields.items():
        if name in value:
            facts[name] = _normalize(value[name], field, f"{where}.{name}")
        elif field.default is REQUIRED:
            raise ContractError(f"{where}: '{name}' is required")
        else:
            facts[name] = json.loads(json.dumps(field.default))  # a fresh copy
    problem = record.rule(facts) if record.rule else None
    if problem:
        raise ContractError(f"{where}: {problem}")
    return facts
