"""Readers for saved formats that Keras cannot load but users keep beside their models:
TF.js model.json files and NumPy arrays. What they are goes into the artifact's notes, for the
finding that names them and the call that loads or converts them.
"""

from __future__ import annotations

import ast
import json
import struct
import zipfile
from pathlib import Path

from kcompat.artifacts.detect import NPY_MAGIC
from kcompat.model import Artifact, Problem

MAX_NPY_HEADER = 64 * 1024
MAX_NPZ_MEMBERS = 10_000


def read_tfjs(artifact: Artifact, path: Path) -> None:
    data = json.loads(path.read_bytes())
    topology = data.get("modelTopology") if isinstance(data.get("modelTopology"), dict) else {}
    manifest = data.get("weightsManifest") if isinstance(data.get("weightsManifest"), list) else []
    shards = [p for group in manifest if isinstance(group, dict)
              for p in group.get("paths", []) if isinstance(p, str)]
    artifact.notes["tfjs"] = {
        "format": data.get("format"), "generated_by": data.get("generatedBy"),
        "converted_by": data.get("convertedBy"), "shards": len(shards),
        "missing_shards": [s for s in shards if not (path.parent / s).is_file()][:20],
    }
    version = topology.get("keras_version")
    if isinstance(version, str):
        artifact.keras_version = version


def npy_header(head: bytes) -> dict:
    """The header dict of a .npy stream: a Python literal, read with ast.literal_eval (no code runs)."""
    if not head.startswith(NPY_MAGIC) or len(head) < 10:
        raise ValueError("not a .npy header")
    major = head[6]
    size, start = (struct.unpack("<H", head[8:10])[0], 10) if major == 1 else (struct.unpack("<I", head[8:12])[0], 12)
    if size > MAX_NPY_HEADER or len(head) < start + size:
        raise ValueError("npy header too long or cut short")
    header = ast.literal_eval(head[start:start + size].decode("latin-1"))
    if not isinstance(header, dict) or "descr" not in header:
        raise ValueError("npy header is not a dict with 'descr'")
    return header


def array_facts(name: str, head: bytes) -> dict:
    header = npy_header(head)
    descr = header["descr"]
    pickled = "O" in str(descr)  # an object dtype, alone or inside a structured one
    return {"name": name, "dtype": str(descr), "shape": list(header.get("shape", ())), "object": pickled}


def read_numpy(artifact: Artifact, path: Path) -> None:
    arrays = []
    try:
        with path.open("rb") as fh:
            if zipfile.is_zipfile(fh):
                with zipfile.ZipFile(fh) as zf:
                    for info in zf.infolist()[:MAX_NPZ_MEMBERS]:
                        with zf.open(info) as member:
                            arrays.append(array_facts(info.filename, member.read(MAX_NPY_HEADER + 12)))
            else:
                fh.seek(0)
                arrays.append(array_facts(path.name, fh.read(MAX_NPY_HEADER + 12)))
    except (ValueError, SyntaxError, zipfile.BadZipFile, struct.error) as exc:
        artifact.problems.append(Problem(kind="reader-error", detail=f"unreadable NumPy header: {exc}"[:300]))
    artifact.notes["numpy"] = arrays
