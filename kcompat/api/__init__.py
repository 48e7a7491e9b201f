"""The public Python API: what the command line uses, for programs and fleet runs.

Belongs here: ``check(path, config)``, ``check_many(paths, config, executor=None)`` (any
``concurrent.futures.Executor``, including a Dask ``distributed`` client's) and ``fix``, small
and documented, over ``kcompat.pipeline`` and ``kcompat.fix``. The command line (``kcompat.cli``)
is a thin shell over it; nothing below this layer imports it.
"""
