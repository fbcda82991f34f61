"""The lock profile: what each migration statement takes and rewrites, reviewed like the
contract. A committed file (``LOCK_PROFILE``, default ``migrations.locks.yaml``) states, per
migration file and statement, the strongest lock it takes on each relation other sessions
can see and the relations it rewrites, as the trace measures them (:mod:`.locks`). A
statement that takes and rewrites nothing is not listed, so the profile's diff in a pull
request reads "this migration now takes ACCESS EXCLUSIVE on emails".

The modes the application's own queries take (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE) are
left out: they conflict only with the stronger modes, so they queue nobody's reads or
writes, and PostgreSQL's majors differ in them (GRANT takes ACCESS SHARE from 17 on).

Statements are named as the mutation run names them: their number in the file and first
words (``#12 ALTER TABLE EMAILS ADD``).
"""

from pathlib import Path

import yaml

from ironarchive_schema.contract.load import strict_yaml
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.rehearsal.locks import MODES, StatementTrace

#: The weakest mode the profile states: the first that conflicts with more than other
#: statements' DDL (with autovacuum and itself; SHARE and up queue the application's writes).
WEAKEST_STATED = MODES.index("ShareUpdateExclusiveLock")

HEADER = """\
# The locks each migration statement takes on relations other sessions can see (the
# strongest mode per relation) and the relations it rewrites, as traced on an empty
# database at the version before it (src/ironarchive_schema/rehearsal/). Reviewed like the
# contract: `make lock-profile` prints what the migrations do now, in this file's format.
"""


class ProfileError(ToolchainError):
    """The profile cannot be read; the message says where and why."""


def statement_key(number: int, trace: StatementTrace) -> str:
    return f"#{number} {' '.join(trace.words[:4])}"


def profile_of(traces: dict[str, list[StatementTrace]]) -> dict[str, dict[str, dict]]:
    """File -> statement -> {"locks": {relation: mode}, "rewrites": [relation, ...]}."""
    profile: dict[str, dict[str, dict]] = {}
    for name, file_traces in traces.items():
        entries: dict[str, dict] = {}
        for number, trace in enumerate(file_traces, 1):
            entry: dict = {}
            locks = {relation: mode for relation, mode in sorted(trace.strongest().items())
                     if mode not in MODES or MODES.index(mode) >= WEAKEST_STATED}
            if locks:
                entry["locks"] = locks
            if trace.rewrites:
                entry["rewrites"] = list(trace.rewrites)
            if entry:
                entries[statement_key(number, trace)] = entry
        profile[name] = entries
    return profile


def read(path: Path) -> dict[str, dict[str, dict]]:
    if not path.exists():
        raise ProfileError(f"{path}: no lock profile yet: write it from `make lock-profile`")
    data = strict_yaml(path.read_text(encoding="utf-8"), str(path), ProfileError)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict | None) for v in data.values()):
        raise ProfileError(f"{path}: want a mapping of migration file -> statement -> "
                           f"locks and rewrites")
    return {name: entries or {} for name, entries in data.items()}


def render(profile: dict[str, dict[str, dict]]) -> str:
    """The profile in its file's format."""
    body = yaml.safe_dump(profile, sort_keys=False, default_flow_style=False, width=100,
                          allow_unicode=True)
    return HEADER + ("" if not profile else body)


def differences(want: dict[str, dict[str, dict]], have: dict[str, dict[str, dict]],
                name: str) -> list[str]:
    """One line per difference of file ``name``: the statement, then want and have."""
    if name not in want:
        return [f"{name}: not in the profile yet ({len(have.get(name, {}))} of its statements "
                f"lock or rewrite)"]
    if name not in have:
        return [f"{name}: in the profile, but no such migration file"]
    lines = []
    wanted, measured = want[name], have[name]
    for key in [*wanted, *(k for k in measured if k not in wanted)]:
        if key not in measured:
            lines.append(f"{name} {key}: in the profile, takes and rewrites nothing now "
                         f"(or is no longer this statement)")
            continue
        if key not in wanted:
            lines.append(f"{name} {key}: not in the profile: takes "
                         f"{_locks_text(measured[key].get('locks', {}))}"
                         + (f", rewrites {', '.join(measured[key]['rewrites'])}"
                            if measured[key].get("rewrites") else ""))
            continue
        want_locks, have_locks = wanted[key].get("locks", {}), measured[key].get("locks", {})
        for relation in sorted(want_locks.keys() | have_locks.keys()):
            if want_locks.get(relation) != have_locks.get(relation):
                lines.append(f"{name} {key}: {relation}: want {want_locks.get(relation, 'none')}, "
                             f"have {have_locks.get(relation, 'none')}")
        want_rewrites = wanted[key].get("rewrites", [])
        have_rewrites = measured[key].get("rewrites", [])
        if sorted(want_rewrites) != sorted(have_rewrites):
            lines.append(f"{name} {key}: rewrites: want [{', '.join(want_rewrites)}], "
                         f"have [{', '.join(have_rewrites)}]")
    return lines


def _locks_text(locks: dict[str, str]) -> str:
    return ", ".join(f"{mode} on {relation}" for relation, mode in locks.items()) or "no lock"
