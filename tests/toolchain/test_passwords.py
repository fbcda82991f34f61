"""The database password is never on a command line (``ps`` shows every argument to every
user of the machine) and never in a message, migrate's own included."""

import stat

import pytest

from commands import cli
from ironarchive_schema.migrate.binary import ensure_migrate

PASSWORD = "s3cret-pw@x"
ENCODED = "s3cret-pw%40x"


@pytest.fixture
def recording_migrate(gate_settings, tmp_path):
    """The real migrate behind a wrapper that records its arguments and its PGPASSWORD,
    and that prints the password into its own output, as a driver's error message could."""
    record = tmp_path / "calls"
    wrapper = tmp_path / "migrate"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$*\" >> {record}\n"
        f"printf 'PGPASSWORD=%s\\n' \"$PGPASSWORD\" >> {record}\n"
        "case \"$1\" in -version|-help) ;; *) echo \"driver says: auth $PGPASSWORD\" >&2 ;; esac\n"
        f"exec {ensure_migrate(gate_settings)} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, record


def with_password(url: str, where: str = "authority") -> str:
    # The test server trusts local connections: any password is accepted, none is checked.
    if where == "query":
        return f"{url}&password={ENCODED}"
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{ENCODED}@")


@pytest.mark.parametrize("where", ["authority", "query"])
def test_the_password_goes_to_migrate_in_its_environment_not_its_arguments(
        recording_migrate, fresh_db_url, where):
    wrapper, record = recording_migrate
    result = cli("status", DATABASE_URL=with_password(fresh_db_url, where), MIGRATE_BIN=wrapper)
    assert PASSWORD not in result.stderr + result.stdout
    assert ENCODED not in result.stderr + result.stdout
    assert result.returncode == 0, result.stderr
    calls = record.read_text().splitlines()
    arguments = [line for line in calls if not line.startswith("PGPASSWORD=")]
    assert any(" version" in line for line in arguments), calls
    assert not [line for line in arguments if PASSWORD in line or ENCODED in line], calls
    assert f"PGPASSWORD={PASSWORD}" in calls


@pytest.mark.parametrize("command", [["up"], ["down", "1"]])
def test_migrates_output_is_redacted_before_it_is_shown(recording_migrate, fresh_db_url,
                                                         command):
    wrapper, _record = recording_migrate
    result = cli(*command, DATABASE_URL=with_password(fresh_db_url), MIGRATE_BIN=wrapper)
    output = result.stdout + result.stderr
    assert "driver says: auth ***" in output, output
    assert PASSWORD not in output and ENCODED not in output


def test_a_failing_migrate_is_reported_redacted(recording_migrate, admin_url):
    wrapper, _record = recording_migrate
    missing = with_password(admin_url).replace("/postgres?", "/no_such_database?")
    result = cli("status", DATABASE_URL=missing, MIGRATE_BIN=wrapper)
    assert result.returncode == 2 and "no_such_database" in result.stderr
    assert PASSWORD not in result.stderr and ENCODED not in result.stderr


def test_a_url_migrate_cannot_parse_does_not_show_the_password():
    result = cli("status", DATABASE_URL=f"postgres://admin:{ENCODED}@127.0.0.1:notaport/x")
    assert result.returncode == 2
    assert PASSWORD not in result.stderr and ENCODED not in result.stderr
