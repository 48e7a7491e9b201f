"""The child that reads and rewrites an HDF5 model's JSON attributes with h5py (``python -m kcompat.fix.h5child``).

libhdf5 can crash the interpreter on a damaged file, so h5py runs here, in its own process: one JSON
request on stdin, one JSON answer on stdout. ``read``: the model_config and training_config text.
``write``: copy ``src`` to ``dst`` byte for byte, then set (or, for null, delete) attributes of the
copy, keeping each attribute's stored kind (fixed-length bytes or variable-length str). ``move``: copy,
then move each group of a .keras weights file to its new path, in the order given.
"""

from __future__ import annotations

import json
import shutil
import sys

KEYS = ("model_config", "training_config")


def _text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "tobytes") and not isinstance(value, (bytes, str)):
        value = value.tobytes()
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def main() -> int:
    import h5py

    request = json.loads(sys.stdin.read())
    if request["op"] == "read":
        with h5py.File(request["path"], "r") as f:
            answer = {"attrs": {k: _text(f.attrs.get(k)) for k in KEYS}}
    elif request["op"] == "move":
        shutil.copyfile(request["src"], request["dst"])
        with h5py.File(request["dst"], "r+") as f:
            for old, new in request["moves"]:
                f.move(old, new)  # h5py creates the groups the new path needs
        answer = {"moved": len(request["moves"])}
    else:
        shutil.copyfile(request["src"], request["dst"])
        with h5py.File(request["dst"], "r+") as f:
            for key, text in request["attrs"].items():
                old = f.attrs.get(key)
                if text is None:
                    if key in f.attrs:
                        del f.attrs[key]
                    continue
                f.attrs[key] = text if isinstance(old, str) else text.encode("utf-8")
        answer = {"ok": True}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
