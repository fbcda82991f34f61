"""``make audit-verify``: the audit trail's hash chains (D20) verified end to end.

Runs ``verify_audit_chain()`` on the database of ``DATABASE_URL`` (else the development
database), in one read-only snapshot and the MSP context. Exit 0 when every chain is intact,
printing each chain's head; 1 with one line per break (the chain, the link, the row and what
is wrong with it), the first break of each chain first; 2 when it cannot run.

``--since FILE``: heads exported earlier (``--export``); each must still be in its chain with
the same hash, which proves the trail only grew since. ``--export FILE``: after a clean
verification, the heads to keep outside the database for the next one.
"""

import argparse
import json
import sys
import uuid
from pathlib import Path

import psycopg

from ironarchive_schema import settings
from ironarchive_schema.cli.main import resolve_target
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import admin
from ironarchive_schema.rehearsal.locks import first_line

#: Breaks listed in full; the rest are counted (the first of each chain is always shown).
SHOWN = 20


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.audit_verify",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--since", type=Path, help="heads exported earlier (JSON)")
    parser.add_argument("--export", type=Path, help="write the verified heads here (JSON)")
    return parser.parse_args(argv)


def read_heads(path: Path) -> list[dict]:
    """Exported heads: a JSON list of {chain_id, seq, chain_hash}; one-line errors."""
    try:
        heads = json.loads(path.read_text())
    except OSError as exc:
        raise ToolchainError(f"--since {path}: cannot read it: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ToolchainError(f"--since {path}: not JSON ({exc.msg}, line {exc.lineno}); "
                             f"give a file written by --export") from exc
    if not isinstance(heads, list) or not all(_is_head(h) for h in heads):
        raise ToolchainError(f"--since {path}: want a list of {{chain_id, seq, chain_hash}} "
                             f"as --export writes it")
    return heads


def _is_head(head) -> bool:
    if not isinstance(head, dict) or set(head) != {"chain_id", "seq", "chain_hash"}:
        return False
    try:
        uuid.UUID(str(head["chain_id"]))
        bytes.fromhex(str(head["chain_hash"]))
    except ValueError:
        return False
    return isinstance(head["seq"], int) and len(head["chain_hash"]) == 64


def verify(url: str, since: list[dict] | None) -> tuple[list[tuple], list[dict], int]:
    """The breaks, the heads and the number of sealed rows, read in one snapshot."""
    with admin.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if conn.execute("SELECT to_regprocedure('verify_audit_chain(jsonb)')").fetchone()[0] \
                is None:
            raise ToolchainError("this database has no audit chain to verify (it is at a "
                                 "version before 000004_governed_compliance)")
        conn.execute("SELECT set_msp_wide()")
        breaks = conn.execute(
            "SELECT chain_id, seq, audit_log_id, problem FROM verify_audit_chain(%s)",
            (json.dumps(since) if since is not None else None,)).fetchall()
        heads = [{"chain_id": str(chain), "seq": seq, "chain_hash": chain_hash}
                 for chain, seq, chain_hash in conn.execute(
                     "SELECT chain_id, seq, chain_hash FROM audit_chain_heads()")]
        (sealed,) = conn.execute("SELECT count(*) FROM audit_log_seals").fetchone()
    return breaks, heads, sealed


def describe(chain, seq, row, problem) -> str:
    where = f"chain {chain}" + (f" seq {seq}" if seq is not None else "") + \
        (f" row {row}" if row is not None else "")
    return f"{where}: {problem}"


def report(breaks: list[tuple]) -> list[str]:
    """One line per break, each chain's first break before the others."""
    firsts, rest, seen = [], [], set()
    for found in breaks:
        (firsts if found[0] not in seen else rest).append(found)
        seen.add(found[0])
    ordered = firsts + rest
    lines = [f"error: the audit trail is broken in {len(breaks)} place(s) across "
             f"{len(firsts)} chain(s)"]
    lines += [describe(*found) for found in ordered[:max(SHOWN, len(firsts))]]
    if len(ordered) > len(lines) - 1:
        lines.append(f"... and {len(ordered) - (len(lines) - 1)} more")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        since = read_heads(args.since) if args.since else None
        target = resolve_target(settings.resolve())
        print(f"database: {target.shown} ({target.source})", file=sys.stderr)
        breaks, heads, sealed = verify(target.url, since)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        print(f"error: cannot verify: {first_line(exc)}", file=sys.stderr)
        return 2
    if breaks:
        print("\n".join(report(breaks)), file=sys.stderr)
        return 1
    grown = f", and every head of {args.since} is still in its chain" if since else ""
    print(f"audit trail intact: {sealed} rows sealed in {len(heads)} chain(s){grown}")
    for head in heads:
        print(f"  chain {head['chain_id']}: seq {head['seq']} {head['chain_hash']}")
    if args.export:
        args.export.write_text(json.dumps(heads, indent=2) + "\n")
        print(f"heads written to {args.export}: give them as SINCE= next time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
