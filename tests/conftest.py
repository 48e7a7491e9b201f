"""Suite-wide guard: the environment cache key must not drift while the suite runs.

A key that changes mid-run means a cold probe (seconds of TensorFlow import) where the cache was
warm, in users' CI too. The key's inputs are recorded when the session starts and compared after
every test module, so a module that changes one (an environment variable it does not restore, a
keras.json it writes) fails by name, whatever order the tests run in.
"""

from __future__ import annotations

import sys

import pytest

from kcompat.env import cache

_START: dict = {}


def key_drift(before: dict, after: dict) -> dict[str, tuple]:
    """The inputs of the cache key that differ, with their two values."""
    return {name: (before.get(name), after.get(name)) for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)}


def pytest_sessionstart(session) -> None:
    _START.update(cache.key_inputs(sys.executable))


@pytest.fixture(scope="module", autouse=True)
def _cache_key_is_stable(request):
    yield
    drift = key_drift(_START, cache.key_inputs(sys.executable))
    if drift:
        _START.update(cache.key_inputs(sys.executable))  # report each change once, at the module that made it
        pytest.fail(f"{request.module.__name__} changed the environment cache key: {drift}", pytrace=False)
