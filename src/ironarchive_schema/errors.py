"""Errors the toolchain reports to people: each one renders as a single clear line."""


class ToolchainError(Exception):
    """A problem with the environment (binaries, URLs, servers), not with the schema."""
