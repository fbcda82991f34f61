"""sqlfluff, in process, with exactly the repository's ``.sqlfluff``.

Starting sqlfluff (imports, dialect, rule pack) costs about a second, so one
``Sqlfluff`` object serves a whole run. Each file is linted as a string: neither a
``.sqlfluff`` nor a ``.sqlfluffignore`` found next to the files can change or skip the
checks, and the size limit that makes the command line skip large files does not apply.
"""

from pathlib import Path

from ironarchive_schema.lint.findings import Finding
from ironarchive_schema.paths import REPO_ROOT

CONFIG = REPO_ROOT / ".sqlfluff"
TOOL = "sqlfluff"


class Sqlfluff:
    def __init__(self, config: Path = CONFIG):
        # Imported here: sqlfluff is a test dependency, and slow to import.
        from sqlfluff.core import FluffConfig, Linter

        self.config = FluffConfig.from_string(config.read_text(encoding="utf-8"))
        self.linter = Linter(config=self.config)

    def check(self, path: Path) -> list[Finding]:
        """Every violation in ``path``: rule findings, parse errors, unused ``-- noqa``."""
        linted = self.linter.lint_string(path.read_text(encoding="utf-8"), fname=str(path))
        violations = linted.get_violations(
            filter_warning=False, warn_unused_ignores=self.config.get("warn_unused_ignores"))
        return sorted({Finding(path, v.line_no, TOOL, v.rule_code(), v.desc())
                       for v in violations})
