"""docs/app-guide.md's examples, run as the guide shows them: its Python blocks in order, in
one namespace, and examples/pgx (whose marked functions are the guide's Go blocks), against
a committed archive of two tenants, through a login of ironarchive_app."""

import re
import secrets
import shutil
import subprocess

import pytest
from psycopg import sql

import commands
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin, urls

from . import rows

GUIDE = REPO_ROOT / "docs" / "app-guide.md"
PGX_EXAMPLE = REPO_ROOT / "examples" / "pgx"
#: E-mails in the tenant's mailbox before the examples run.
ARCHIVED = 3


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", GUIDE.read_text(), re.M | re.S)


@pytest.fixture
def archive(admin_url, template_name):
    """Tenant A with a mailbox of ARCHIVED e-mails, tenant B with a mailbox, committed (a
    database of the test's own: the examples write); and the URL of a login of
    ironarchive_app (the guide's APP_URL)."""
    login = f"ironarchive_guide_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    with admin.temporary(admin_url, "guide", template_name) as url:
        with admin.connect(url, autocommit=True) as owner:
            owner.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE ironarchive_app"
                                  ).format(sql.Identifier(login), sql.Literal(password)))
            try:
                tenant, other = rows.tenant(owner)["id"], rows.tenant(owner)["id"]
                mailbox = rows.mailbox(owner, tenant_id=tenant)["id"]
                for _ in range(ARCHIVED):
                    rows.email(owner, mailbox_id=mailbox)
                names = {"APP_URL": urls.with_user(url, login, password),
                         "TENANT_ID": tenant, "MAILBOX_ID": mailbox,
                         "OTHER_MAILBOX_ID": rows.mailbox(owner, tenant_id=other)["id"]}
                yield names
            finally:
                owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_the_python_examples_do_what_the_guide_says(archive):
    namespace = dict(archive)
    for block in blocks("python"):
        exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102 - the guide's own code
    assert len(namespace["listed"]) == ARCHIVED and namespace["not_ours"] == []
    assert namespace["first"] == namespace["again"], "one mailbox whatever the case"
    assert (namespace["stored"], namespace["stored_again"]) == (1000, 0)
    assert namespace["deleted"] == 1


def test_every_go_block_of_the_guide_is_in_the_pgx_example():
    program = (PGX_EXAMPLE / "main.go").read_text()
    go_blocks = blocks("go")
    assert go_blocks, "the guide has Go examples"
    for block in go_blocks:
        assert block in program, f"not in examples/pgx/main.go:\n{block}"


def test_the_pgx_example_does_what_the_guide_says(archive, tmp_path):
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to build examples/pgx (as for the pinned migrate)")
    binary = tmp_path / "pgx-example"
    built = subprocess.run([go, "build", "-o", str(binary), "."], cwd=PGX_EXAMPLE,
                           env=commands.environment(), capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stderr
    # Built from the suite's settings: the runner's DATABASE_URL and PG* stay out.
    environ = commands.environment(**{name: str(value) for name, value in archive.items()})
    ran = subprocess.run([str(binary)], env=environ, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    said = dict(line.split(": ", 1) for line in ran.stdout.splitlines())
    assert said["listing"] == f"{ARCHIVED} <nil>"
    assert said["listing another tenant's mailbox"] == "0 <nil>"
    assert (said["rename"], said["rename another tenant's mailbox"]) == \
        ("true <nil>", "false <nil>")
    assert (said["archive"], said["archive again"]) == ("<nil>", "<nil>")
    refused = said["archive into another tenant's mailbox"]
    assert "not found" in refused and "SQLSTATE 23503" in refused, refused
