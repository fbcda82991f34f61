"""Connection URLs: which are local, how they are shown, what libpq gets."""

import pytest

from ironarchive_schema import urls


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
])
def test_is_local(url, local):
    assert urls.is_local(url) is local


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
