"""The difference between the contract and the catalog as contract YAML, for
``make schema-diff``."""

import textwrap
from typing import NamedTuple

import yaml

from ironarchive_schema.contract.checks import same
from ironarchive_schema.contract.layout import (
    CONTRACT,
    REQUIRED,
    STATEMENTS,
    Collection,
    Field,
    Record,
)


class Changed(NamedTuple):
    new: object  # the database's value
    old: object  # the contract's value


def _compare(want, have, field: Field):
    """``(add, change, remove)`` partial trees; each None when there is nothing to say."""
    node = field.node
    if isinstance(node, Collection):
        add = {k: v for k, v in have.items() if k not in want}
        remove = {k: v for k, v in want.items() if k not in have}
        change: dict = {}
        for key in want.keys() & have.keys():
            sub = _compare(want[key], have[key], node.entry)
            for tree, part in zip((add, change, remove), sub, strict=True):
                if part is not None:
                    tree.setdefault(key, part)
        change = {k: change[k] for k in want if k in change}  # the contract's order
        return add or None, change or None, remove or None
    if isinstance(node, Record) and want is not None and have is not None:
        trees: tuple[dict, dict, dict] = ({}, {}, {})
        for name, sub_field in node.fields.items():
            for tree, part in zip(trees, _compare(want[name], have[name], sub_field),
                                  strict=True):
                if part is not None:
                    tree[name] = part
        return tuple(tree or None for tree in trees)
    return None, (None if same(want, have) else Changed(have, want)), None


def _child(field: Field, key: str) -> Field:
    node = field.node
    if isinstance(node, Collection):
        return node.entry
    assert node is not None, f"{key}: only a record's or a collection's field has entries"
    return node.fields[key]


def _pruned(value, field: Field):
    """A record without the facts that equal their default, as people write it."""
    if isinstance(field.node, Record) and isinstance(value, dict):
        fields = field.node.fields
        return {k: v for k, v in value.items()
                if isinstance(v, Changed) or fields[k].default is REQUIRED
                or not same(v, fields[k].default)}
    return value


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: one call per scalar adds up


def _flow(value) -> str:
    """``value`` as YAML inside a flow collection (the strictest quoting)."""
    text = yaml.dump([value], Dumper=_Dumper, default_flow_style=True, sort_keys=False,
                     allow_unicode=True, width=2**30)
    return text.strip()[1:-1]


def _block(value) -> str:
    """``value`` as the value of a block mapping entry: text quoted only where YAML needs it."""
    if not isinstance(value, str):
        return _flow(value)
    text = yaml.dump({"k": value}, Dumper=_Dumper, default_flow_style=False,
                     allow_unicode=True, width=2**30)
    return text.rstrip("\n")[3:]  # k: ...


WIDTH = 92


def _item(key: str, value, field: Field, indent: int) -> list[str]:
    pad, name = "  " * indent, _flow(key)
    if isinstance(value, Changed):
        return [f"{pad}{name}: {_flow(_pruned(value.new, field))}"
                f"  # contract: {_flow(_pruned(value.old, field))}"]
    node, value = field.node, _pruned(value, field)
    if isinstance(value, dict) and value and (
            isinstance(node, Collection) or (isinstance(node, Record) and (
                not node.flow or any(isinstance(v, Changed) for v in value.values())))):
        lines = [f"{pad}{name}:"]
        for sub_key, sub_value in value.items():
            lines += _item(sub_key, sub_value, _child(field, sub_key), indent + 1)
        return lines
    line = f"{pad}{name}: {_block(value)}"
    if (isinstance(value, str) and len(line) > WIDTH and value == " ".join(value.split())):
        # Folded: its line breaks read back as single spaces, which is all the text has.
        inner = "  " * (indent + 1)
        return [f"{pad}{name}: >-"] + textwrap.wrap(
            value, WIDTH, initial_indent=inner, subsequent_indent=inner,
            break_long_words=False, break_on_hyphens=False)
    return [line]


def render(tree: dict, field: Field = CONTRACT) -> str:
    """A (partial) contract tree as the contract's YAML."""
    lines = []
    for key, value in tree.items():
        lines += _item(key, value, _child(field, key), 0)
    return "\n".join(lines) + "\n"


def report(want: dict, have: dict, unstated_objects: list[str]) -> str:
    """What to change in the contract so it says what the database has; "" when equal."""
    have = {**have, **{key: want[key] for key in STATEMENTS}}
    add, change, remove = _compare(want, have, CONTRACT)
    parts = []
    if add:
        parts.append("# Add: in the database, not in the contract\n" + render(add))
    if change:
        parts.append("# Change: the database's value (the contract's after '# contract:')\n"
                     + render(change))
    if remove:
        parts.append("# Remove: in the contract, not in the database\n" + render(remove))
    if unstated_objects:
        parts.append("# Not expressible in the contract (so not allowed; see unstated() in "
                     "contract.py):\n" + "".join(f"#   {o}\n" for o in unstated_objects))
    return "\n".join(parts)
