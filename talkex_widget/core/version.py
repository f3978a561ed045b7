"""The package version, in one place: pyproject reads it (hatch), the CLI and /healthz show it."""

__version__ = "0.1.0"
