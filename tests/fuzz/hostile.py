"""Hand-made hostile entries: each one defeated a whole run once, or could.

``build_hostile(dest, bait)`` writes them as top-level entries of ``dest``. Some point at files in
``bait``, a folder outside ``dest``: a check that reads any file under ``bait`` has read outside
the artifact it was given.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import zipfile
from pathlib import Path

from tests.fuzz.corpus import FIXTURES

H5 = FIXTURES / "tf2.15" / "seq_compiled.h5"
KERAS = FIXTURES / "keras3.15-tf2.21" / "seq_compiled.keras"
CHECKPOINT = FIXTURES / "tf2.15" / "train_checkpoint"
SAVED_MODEL = FIXTURES / "tf2.15" / "seq_compiled_savedmodel"
DEPTH = 3000


def deep(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


def rewrite_keras(src: Path, dest: Path, config_text: str | None = None, extra: int = 0) -> Path:
    """A copy of a .keras zip with config.json replaced and ``extra`` empty members added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json" and config_text is not None:
                data = config_text.encode("utf-8", "surrogatepass")
            zout.writestr(info, data)
        for i in range(extra):
            zout.writestr(f"assets/{i:05d}.txt", b"")
    return dest


def surrogate_config(src: Path) -> str:
    with zipfile.ZipFile(src) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["name"] = "X\ud800Y"  # valid JSON: "X\\ud800Y"; no UTF-8 can hold it
    for layer in config["config"].get("layers", [])[:1]:
        layer["config"]["name"] = "L\udfffZ"
    return json.dumps(config)  # ensure_ascii: the surrogate travels as the escape \ud800


def h5_variants(dest: Path, bait: Path) -> None:
    import h5py
    import numpy as np

    outside = bait / "outside.h5"
    with h5py.File(outside, "w") as f:
        f.attrs["secret"] = "read outside the artifact"
        f["data"] = np.zeros(4)
    (bait / "outside.bin").write_bytes(b"\0" * 64)
    with h5py.File(dest / "h_external_link.h5", "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f["link"] = h5py.ExternalLink(str(outside), "/data")
        f["rel_link"] = h5py.ExternalLink("../bait/outside.h5", "/")
    with h5py.File(dest / "h_external_dataset.h5", "w") as f:
        f.create_dataset("ext", shape=(8,), dtype="f8", external=[(str(bait / "outside.bin"), 0, 64)])
    with h5py.File(dest / "h_many_attrs.h5", "w", libver="latest") as f:  # dense storage: 3 s to write, not 90
        for i in range(20_000):
            f.attrs[f"a{i}"] = i
    with h5py.File(dest / "h_many_attrs_v0.h5", "w") as f:
        for i in range(1_000):
            f.attrs[f"a{i}"] = i
    with h5py.File(dest / "h_many_groups.h5", "w") as f:
        g = f
        for i in range(200):
            g = g.create_group(f"g{i}")
    with h5py.File(dest / "h_userblock.h5", "w", userblock_size=512) as f:
        f.attrs["keras_version"] = "2.15.0"


def checkpoint_variants(dest: Path, bait: Path) -> None:
    """`checkpoint` files that name a prefix outside their folder, relative and absolute."""
    shutil.copy(CHECKPOINT / "checkpoint", bait / "checkpoint")
    for f in CHECKPOINT.iterdir():
        if ".index" in f.name or ".data-" in f.name:
            shutil.copy(f, bait / f.name.replace(f.name.split(".")[0], "stolen", 1))
    for name, target in (("ckpt_escape_rel", "../../bait/stolen"), ("ckpt_escape_abs", str(bait / "stolen"))):
        folder = dest / name
        shutil.copytree(CHECKPOINT, folder)
        (folder / "checkpoint").write_text(f'model_checkpoint_path: "{target}"\n'
                                           f'all_model_checkpoint_paths: "{target}"\n')


def name_variants(dest: Path) -> None:
    data = H5.read_bytes()
    for name in (b"h_bad_name_\xff.h5", b"<img src=x onerror=alert(1)>.h5", b"\x1b[31mred\x1b[0m.h5",
                 b"::error title=pwned::owned.h5", b"new\nline.h5", b"tab\tand\rcr.h5", b"amp&quot;\".h5"):
        with open(os.path.join(os.fsencode(dest), name), "wb") as fh:
            fh.write(data[: len(data) // 2])  # truncated: every one of them gets findings that name it


def special_variants(dest: Path, bait: Path) -> None:
    os.mkfifo(dest / "x.h5")
    sm = dest / "sm_fifo"
    sm.mkdir()
    os.mkfifo(sm / "saved_model.pb")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(dest / "sock.keras"))
    sock.close()
    os.symlink("loop_b.h5", dest / "loop_a.h5")
    os.symlink("loop_a.h5", dest / "loop_b.h5")
    os.symlink(bait / "outside.h5", dest / "link_outside.h5")
    loop = dest / "sm_symlink_loop"
    shutil.copytree(SAVED_MODEL, loop)
    shutil.rmtree(loop / "variables")
    os.symlink("variables", loop / "variables")


def build_hostile(dest: Path, bait: Path) -> list[Path]:
    """The hostile entries, written into ``dest``; ``bait`` receives the files they point at."""
    dest.mkdir(parents=True, exist_ok=True)
    bait.mkdir(parents=True, exist_ok=True)
    before = set(os.listdir(os.fsencode(dest)))
    rewrite_keras(KERAS, dest / "k_surrogate.keras", surrogate_config(KERAS))
    rewrite_keras(KERAS, dest / "k_deep_config.keras", '{"class_name": "Sequential", "config": ' + deep() + "}")
    rewrite_keras(KERAS, dest / "k_20000_members.keras", extra=20_000)
    (dest / "deep.json").write_text('{"class_name": "Sequential", "config": {"layers": ' + deep() + "}}")
    (dest / "deep_dict.json").write_text('{"a": ' * DEPTH + "1" + "}" * DEPTH)
    (dest / "notes.json").write_text('{"not": "a model"}')
    (dest / "empty.h5").write_bytes(b"")
    (dest / "dir.h5").mkdir()
    (dest / ".hidden.h5").write_bytes(H5.read_bytes())
    (dest / "README.txt").write_text("not a model\n")
    np_head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    (dest / "array.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(np_head + b"\n").to_bytes(2, "little")
                                     + np_head + b"\n" + b"\0" * 8)
    with zipfile.ZipFile(dest / "slip.keras", "w") as zf:
        zf.writestr("../../evil.py", "x")
        zf.writestr("config.json", "{}")
    h5_variants(dest, bait)
    checkpoint_variants(dest, bait)
    name_variants(dest)
    special_variants(dest, bait)
    return sorted(dest / os.fsdecode(n) for n in set(os.listdir(os.fsencode(dest))) - before)
