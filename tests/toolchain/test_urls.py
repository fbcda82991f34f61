"""Connection URLs: which are local, how they are shown, what libpq gets."""

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import urls


@pytest.mark.parametrize("url, local", [
    ("postgres://u@localhost/x", True),
    ("postgres://u@127.0.0.1:5432/x", True),
    ("postgres://u@127.8.9.10/x", True),
    ("postgres://u@[::1]:5432/x", True),
    ("postgres:///x?host=/var/run/postgresql", True),
    ("postgres://u@/x", True),
    ("postgres://u@db.example.com/x", False),
    ("postgres://u@10.0.0.5/x", False),
    ("postgres://u@localhost.example.com/x", False),
    ("postgres://u@127.0.0.1/x?host=db.example.com", False),
    # lib/pq sorts host='...' pairs and the last wins: here zzz.invalid, not localhost.
    ("postgres://u:p@zzz.invalid/x?host=localhost", False),
    ("postgres://u@localhost/x?host=localhost", True),
    ("postgres://u@localhost/x?hostaddr=10.0.0.5", False),
    ("postgres://u@localhost/x?hostaddr=127.0.0.1", False),  # lib/pq has no hostaddr
    ("postgres:///x?host=localhost,db.example.com", False),
    ("postgres://u@[::1]/x?host=/var/run/postgresql", False),  # two different hosts
])
def test_is_local(url, local):
    assert urls.is_local(url) is local


@pytest.mark.parametrize("url, environ, local", [
    ("postgres:///x", {"PGHOST": "db.example.com"}, False),
    ("postgres:///x", {"PGHOST": "/var/run/postgresql"}, True),
    ("postgres:///x", {}, True),  # lib/pq's default host is localhost
    ("postgres://u@db.example.com/x", {"PGHOST": "localhost"}, False),
    ("postgres://u@localhost/x", {"PGHOST": "db.example.com"}, True),  # the URL wins
    ("postgres://u@localhost/x", {"PGHOSTADDR": "10.0.0.5"}, False),
    ("postgres://u@localhost/x", {"PGSERVICE": "prod"}, False),
])
def test_is_local_with_the_pg_variables_the_driver_honours(url, environ, local):
    assert urls.is_local(url, environ) is local


@pytest.mark.parametrize("url, environ, message", [
    ("postgres://u:p@zzz.invalid/x?host=localhost", {}, "names more than one host"),
    ("postgres://u@localhost/x?hostaddr=10.0.0.5", {}, "sets hostaddr="),
    ("postgres://u@localhost/x", {"PGHOSTADDR": "10.0.0.5"}, "PGHOSTADDR is set"),
    ("postgres://u@localhost/x", {"PGSERVICE": "prod"}, "PGSERVICE is set"),
])
def test_a_target_the_two_clients_would_read_differently_is_refused(url, environ, message):
    with pytest.raises(ToolchainError, match=message) as caught:
        urls.check_target(url, environ)
    assert "\n" not in str(caught.value) and ":p@" not in str(caught.value)


@pytest.mark.parametrize("url, redacted, bare", [
    ("postgres://app:s3cr%40t@db/x", "postgres://app:***@db/x", "postgres://app@db/x"),
    ("postgres://app@db/x?sslmode=disable&password=top", "postgres://app@db/x?sslmode=disable"
     "&password=***", "postgres://app@db/x?sslmode=disable"),
    ("postgres://:pw@db/x", "postgres://:***@db/x", "postgres://db/x"),
])
def test_a_password_in_the_authority_or_the_query_is_hidden(url, redacted, bare):
    assert (urls.redact(url), urls.without_password(url)) == (redacted, bare)


def test_two_different_passwords_are_refused():
    with pytest.raises(ToolchainError, match="two different passwords"):
        urls.check_target("postgres://app:one@localhost/x?password=two")


def test_without_password_and_redact_text():
    url = "postgres://admin:s3cr%40t@db:5432/x?sslmode=require"
    assert urls.without_password(url) == "postgres://admin@db:5432/x?sslmode=require"
    assert urls.redact_text("pq: password s3cr@t or s3cr%40t rejected", ["s3cr@t"]) == \
        "pq: password *** or *** rejected"


def test_redact_hides_only_the_password():
    assert urls.redact("postgres://app:s3cr%40t@db:5432/x?sslmode=require") == \
        "postgres://app:***@db:5432/x?sslmode=require"
    assert urls.redact("postgres://app@db/x") == "postgres://app@db/x"


def test_for_libpq_drops_migrate_parameters():
    url = "postgres://a@h/x?sslmode=disable&x-migrations-table=my_migrations"
    assert urls.for_libpq(url) == "postgres://a@h/x?sslmode=disable"


def test_with_database():
    assert urls.with_database("postgres://a:b@h:1/old?sslmode=disable", "new") == \
        "postgres://a:b@h:1/new?sslmode=disable"
