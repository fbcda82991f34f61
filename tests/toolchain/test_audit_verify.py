"""`make audit-verify` (D20), as a person runs it against a database: exit 0 with each chain's
head when the trail is intact; non-zero naming the row a superuser edited with the triggers
off; exported heads checked later; bad input in one line."""

import json

import pytest

from commands import make, one_line
from ironarchive_schema.postgres import admin


@pytest.fixture
def archive(fresh_db_url):
    """A migrated database with a tenant's audit rows, committed (so sealed)."""
    with admin.connect(fresh_db_url) as conn:
        tenant = conn.execute(
            "INSERT INTO tenants (name, azure_tenant_id, azure_app_id, azure_app_secret) "
            "VALUES ('Contoso', gen_random_uuid(), gen_random_uuid(), "
            "pgp_sym_encrypt('secret', 'key')) RETURNING id").fetchone()[0]
        rows = [conn.execute("INSERT INTO audit_logs (tenant_id, action) VALUES (%s, 'LOGIN') "
                             "RETURNING id", (tenant,)).fetchone()[0] for _ in range(5)]
        conn.commit()
    return {"url": fresh_db_url, "tenant": tenant, "rows": rows}


def test_an_intact_trail_exits_0_with_its_heads(archive):
    result = make("audit-verify", DATABASE_URL=archive["url"])
    assert result.returncode == 0, result.stderr
    assert "audit trail intact: 5 rows sealed in 1 chain(s)" in result.stdout
    assert f"chain {archive['tenant']}: seq 5 " in result.stdout


def test_a_row_edited_with_the_triggers_off_is_named(archive):
    """The issue's case, as a superuser would do it."""
    edited = archive["rows"][2]
    with admin.connect(archive["url"], autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER ALL")
        conn.execute("UPDATE audit_logs SET action = 'EXPORT' WHERE id = %s", (edited,))
        conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER ALL")
    result = make("audit-verify", DATABASE_URL=archive["url"])
    assert result.returncode != 0
    broken = [line for line in result.stderr.splitlines() if line.startswith("chain ")]
    assert broken == [f"chain {archive['tenant']} seq 3 row {edited}: edited or reordered: "
                      f"the row or its place no longer matches its link"], result.stderr


def test_exported_heads_prove_the_trail_only_grew(archive, tmp_path):
    heads = tmp_path / "heads.json"
    assert make("audit-verify", f"EXPORT={heads}", DATABASE_URL=archive["url"]).returncode == 0
    with admin.connect(archive["url"], autocommit=True) as conn:
        conn.execute("INSERT INTO audit_logs (tenant_id, action) VALUES (%s, 'LOGOUT')",
                     (archive["tenant"],))
    grown = make("audit-verify", f"SINCE={heads}", DATABASE_URL=archive["url"])
    assert grown.returncode == 0 and "every head of" in grown.stdout, grown.stderr
    (exported,) = json.loads(heads.read_text())
    exported["chain_hash"] = "0" * 64
    heads.write_text(json.dumps([exported]))
    other = make("audit-verify", f"SINCE={heads}", DATABASE_URL=archive["url"])
    assert other.returncode != 0 and "rewritten since exported" in other.stderr, other.stderr


@pytest.mark.parametrize("content, said", [
    (None, "cannot read it"),
    ("{not json", "not JSON"),
    ('[{"chain_id": "x", "seq": 1}]', "want a list of {chain_id, seq, chain_hash}"),
])
def test_a_bad_since_file_is_one_line(archive, tmp_path, content, said):
    heads = tmp_path / "heads.json"
    if content is not None:
        heads.write_text(content)
    result = make("audit-verify", f"SINCE={heads}", DATABASE_URL=archive["url"])
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and said in errors[0], result.stderr


def test_a_database_before_the_chain_is_one_line(empty_db_url, migrate_on):
    migrate_on(empty_db_url).goto(3)
    result = make("audit-verify", DATABASE_URL=empty_db_url)
    assert result.returncode != 0
    assert "no audit chain to verify" in one_line(
        "\n".join(line for line in result.stderr.splitlines() if line.startswith("error:")))
