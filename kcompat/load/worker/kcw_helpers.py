"""Guarded-load worker: small helpers (no TF): the event log, fd redirection, exception records, user modules.

Part of the worker folder run by path in the target interpreter; stdlib only.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback


class Events:
    def __init__(self, path: str) -> None:
        self._f = open(path, "a", buffering=1, encoding="utf-8")

    def emit(self, event: str, **kw) -> None:
        kw.update(event=event, t=time.time())
        self._f.write(json.dumps(kw, default=str) + "\n")
        self._f.flush()


def redirect_fds(path: str) -> None:
    """Point fd 1 and 2 (Python and C++ writes alike) at ``path``."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def exc_info(e: BaseException) -> dict:
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    lines = "".join(tb).rstrip().splitlines()
    msg = str(e)
    if isinstance(e, KeyError) and e.args:
        msg = str(e.args[0])
    first = msg.strip().splitlines()[0] if msg.strip() else ""
    return {
        "status": "error",
        "exception_type": type(e).__name__,
        "message": first[:300],
        # keep head and tail: Keras puts the real cause ("Exception encountered: ...") after a long config
        "full_message": msg if len(msg) <= 6000 else msg[:3000] + "\n...\n" + msg[-3000:],
        "traceback_tail": "\n".join(lines[-15:]),
    }



def import_custom(spec: list[str]) -> list[str]:
    """Import user modules named by the caller (module names or .py file paths), and only those."""
    done = []
    for item in spec:
        if item.endswith(".py") and os.path.exists(item):
            name = os.path.splitext(os.path.basename(item))[0]
            sys.path.insert(0, os.path.dirname(os.path.abspath(item)))
            mod_spec = importlib.util.spec_from_file_location(name, item)
            mod = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = mod
            mod_spec.loader.exec_module(mod)
        else:
            importlib.import_module(item)
        done.append(item)
    return done
