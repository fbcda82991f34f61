"""The warning for a server without the row-level-security fixes of its major."""

import pytest

from ironarchive_schema.postgres import security_releases


@pytest.mark.parametrize("version_num, want", [
    pytest.param(150008, ["CVE-2024-10976 (fixed in 15.9)", "CVE-2025-8713 (fixed in 15.14)"],
                 id="15.8 lacks two"),
    pytest.param(150013, ["CVE-2025-8713 (fixed in 15.14)"], id="15.13 lacks one"),
    pytest.param(150014, [], id="15.14 has all"),
    pytest.param(150002, ["CVE-2023-2455 (fixed in 15.3)", "CVE-2023-39418 (fixed in 15.4)",
                          "CVE-2024-10976 (fixed in 15.9)", "CVE-2025-8713 (fixed in 15.14)"],
                 id="15.2 lacks four"),
    pytest.param(160009, ["CVE-2025-8713 (fixed in 16.10)"], id="16.9"),
    pytest.param(170000, ["CVE-2024-10976 (fixed in 17.1)", "CVE-2025-8713 (fixed in 17.6)"],
                 id="17.0"),
    pytest.param(180000, [], id="18.0 was released with every fix"),
])
def test_a_server_older_than_a_fix_of_its_major_is_warned_about(version_num, want):
    line = security_releases.warning(version_num)
    if not want:
        assert line is None
    else:
        major, minor = divmod(version_num, 10000)
        assert line.startswith(f"warning: PostgreSQL {major}.{minor} lacks row-level-security "
                               f"fixes: "), line
        listed = line.split("fixes: ", 1)[1].split("; ")[0].split(", ")
        assert listed == want


def test_a_major_out_of_support_is_warned_about():
    assert "out of upstream support" in security_releases.warning(120022)


def test_the_servers_of_this_suite_have_every_fix(admin_url):
    """The pinned and Debian servers the gate runs on: no warning."""
    assert security_releases.server_warning(admin_url) is None
