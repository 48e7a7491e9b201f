"""Rule logic, one module per family. Each check is a pure function (artifact, env) -> hits."""

from kcompat.checks.base import Hit

__all__ = ["Hit"]
