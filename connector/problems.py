"""The error a configuration that cannot be used raises: one ``path: message`` per problem (light to import)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file that cannot be used; ``problems`` holds one ``path: message`` per fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
