"""PostgreSQL connection URLs as golang-migrate and libpq read them."""

import ipaddress
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ironarchive_schema.errors import ToolchainError

SCHEMES = ("postgres", "postgresql")


def validate(url: str, name: str = "DATABASE_URL") -> str:
    """Return ``url`` if migrate and libpq can both use it, else raise one clear line."""
    if not url:
        raise ToolchainError(f"{name} is empty")
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ToolchainError(
            f"{name} must start with postgres:// or postgresql://, got {redact(url)!r}"
        )
    if not parts.path.strip("/"):
        raise ToolchainError(f"{name} names no database (the path after the host): {redact(url)!r}")
    try:
        _ = parts.port  # read for its check: urlsplit parses the port only when asked
    except ValueError as exc:
        raise ToolchainError(f"{name} has an invalid port: {redact(url)!r}") from exc
    return url


def _with_password(url: str, replacement: str | None) -> str:
    """``url`` with the password, in the authority and in ``?password=``, replaced by
    ``replacement`` (None: removed)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        host = parts.netloc.rsplit("@", 1)[1]
        login = f"{user}:{replacement}" if replacement is not None else user
        netloc = f"{login}@{host}" if login else host
    query = []
    for item in filter(None, parts.query.split("&")):
        if item.split("=", 1)[0] != "password":
            query.append(item)
        elif replacement is not None:
            query.append(f"password={replacement}")
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(query)))


def redact(url: str) -> str:
    """The URL with its password (in the authority or ``?password=``) replaced by ``***``,
    for logs and error messages."""
    return _with_password(url, "***")


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(dbname, safe="")))


def with_parameter(url: str, name: str, value: str) -> str:
    """The same URL with query parameter ``name`` set to ``value`` (e.g. application_name,
    which both lib/pq and libpq read)."""
    parts = urlsplit(url)
    query = [(key, item) for key, item in parse_qsl(parts.query, keep_blank_values=True)
             if key != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


def with_user(url: str, user: str, password: str) -> str:
    """The same server and database, another login (a ``?password=`` is dropped)."""
    parts = urlsplit(_with_password(url, None))
    host = parts.netloc.rsplit("@", 1)[-1]
    login = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def for_libpq(url: str) -> str:
    """Drop golang-migrate's own ``x-*`` query parameters, which libpq rejects."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("x-")]
    return urlunsplit(parts._replace(query=urlencode(query)))


#: PG* variables golang-migrate's postgres driver (lib/pq v1.10) reads as defaults for what the
#: URL leaves out (lib/pq conn.go, parseEnviron). Passed on to migrate as they are.
DRIVER_VARIABLES = (
    "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGOPTIONS",
    "PGAPPNAME", "PGSSLMODE", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLSNI",
    "PGCONNECT_TIMEOUT", "PGCLIENTENCODING", "PGDATESTYLE", "PGTZ", "PGGEQO",
)
#: PG* variables lib/pq panics on, and libpq would act on: the two clients would disagree.
UNSUPPORTED_VARIABLES = (
    "PGHOSTADDR", "PGSERVICE", "PGSERVICEFILE", "PGREALM", "PGREQUIRESSL", "PGSSLCRL",
    "PGREQUIREPEER", "PGKRBSRVNAME", "PGGSSLIB",
)


def driver_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that migrate's driver honours."""
    return {name: environ[name] for name in DRIVER_VARIABLES if environ.get(name)}


def hosts(url: str, environ: Mapping[str, str] = MappingProxyType({})) -> list[str]:
    """Every host the driver could connect to for ``url``, given the PG* ``environ``.

    lib/pq turns the URL into ``key='value'`` pairs, sorts them and lets the last one of a
    key win: with a host in the authority and another in ``?host=``, the one that sorts
    last is used. Both are returned, so callers can treat the pair as ambiguous. Without
    any host in the URL, ``PGHOST``, else lib/pq's default ``localhost``.
    """
    parts = urlsplit(url)
    named = [parts.hostname] if parts.hostname else []
    named += [value for key, value in parse_qsl(parts.query) if key == "host" and value]
    if not named:
        named = [environ.get("PGHOST") or "localhost"]
    return [host for value in named for host in value.split(",")]


def check_target(url: str, environ: Mapping[str, str] = MappingProxyType({}),
                 name: str = "DATABASE_URL") -> None:
    """Refuse a target that migrate's driver and libpq (our own connections) would read
    differently, so every check and every connection sees the server migrate sees."""
    query = parse_qsl(urlsplit(url).query)
    if any(key == "hostaddr" for key, _ in query):
        raise ToolchainError(f"{name} sets hostaddr=, which migrate's driver (lib/pq) does not "
                             f"support: name the server in the host instead: {redact(url)!r}")
    unsupported = [variable for variable in UNSUPPORTED_VARIABLES if environ.get(variable)]
    if unsupported:
        raise ToolchainError(f"{', '.join(unsupported)} is set in the environment: migrate's "
                             f"driver (lib/pq) does not support it; unset it")
    if len(set(passwords(url))) > 1:
        raise ToolchainError(f"{name} gives two different passwords (user:password@ and "
                             f"?password=): name one: {redact(url)!r}")
    named = hosts(url)
    if len(set(named)) > 1:
        raise ToolchainError(f"{name} names more than one host ({', '.join(named)}): migrate's "
                             f"driver and libpq would not agree on the server; name one: "
                             f"{redact(url)!r}")


def _is_local_host(host: str) -> bool:
    if host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local(url: str, environ: Mapping[str, str] = MappingProxyType({})) -> bool:
    """True only when every host the driver could use is on this machine (a Unix socket,
    localhost, 127.0.0.0/8 or ::1). Anything ambiguous counts as remote: a ``hostaddr``, a
    PGHOSTADDR or PGSERVICE in the environment, more than one host."""
    if any(key == "hostaddr" for key, _ in parse_qsl(urlsplit(url).query)):
        return False
    if any(environ.get(variable) for variable in UNSUPPORTED_VARIABLES):
        return False
    named = hosts(url, environ)
    return len(set(named)) == 1 and _is_local_host(named[0])


def passwords(url: str) -> list[str]:
    """Every password the URL gives, decoded: in the authority and in ``?password=``."""
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password is not None else []
    return found + [value for key, value in parse_qsl(parts.query) if key == "password"]


def password(url: str) -> str | None:
    """The URL's password, decoded (``check_target`` refuses a URL that gives two)."""
    found = passwords(url)
    return found[0] if found else None


def without_password(url: str) -> str:
    """The URL with no password, for a command line (``ps`` shows every argument)."""
    return _with_password(url, None)


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (as written and URL-encoded) replaced by ``***``."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return text
