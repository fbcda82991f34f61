"""PostgreSQL connection URLs as golang-migrate and libpq read them."""

import ipaddress
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .errors import ToolchainError

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
        parts.port
    except ValueError as exc:
        raise ToolchainError(f"{name} has an invalid port: {redact(url)!r}") from exc
    return url


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(dbname, safe="")))


def for_libpq(url: str) -> str:
    """Drop golang-migrate's own ``x-*`` query parameters, which libpq rejects."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("x-")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_local(url: str) -> bool:
    """True when the server is on this machine: a Unix socket, localhost, 127.0.0.0/8 or ::1."""
    parts = urlsplit(url)
    host = dict(parse_qsl(parts.query)).get("host") or parts.hostname or ""
    if host == "" or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
