"""A seeded corpus of damaged artifacts, built from copies of the real fixtures in a temporary folder.

``build_mutants(dest, n, seed)`` writes ``n`` top-level entries, each one mutant of one seed
artifact: bit flips, truncations, insertions and deletions (in the first 8 KiB or anywhere),
damaged SavedModel protos and variables indexes, zip members renamed, duplicated, dropped or
re-compressed. The same (n, seed) always gives the same bytes. fixtures/ is only ever read.
"""

from __future__ import annotations

import random
import shutil
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SEED_FOLDERS = ("tf2.15", "tf2.12", "keras3.15-tf2.21", "keras3.3-tf2.16", "tf_keras2.21", "derived",
                "synthetic_keras1")
MAX_SEED_BYTES = 2 * 1024 * 1024
HEAD = 8 * 1024


def seeds() -> list[Path]:
    """The seed artifacts, in a fixed order: files of each kind, SavedModel and checkpoint folders."""
    found: list[Path] = []
    for folder in SEED_FOLDERS:
        base = FIXTURES / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            if path.is_file() and path.stat().st_size <= MAX_SEED_BYTES:
                found.append(path)
            elif path.is_dir() and ((path / "saved_model.pb").is_file() or (path / "checkpoint").is_file()):
                if sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= MAX_SEED_BYTES:
                    found.append(path)
    return found


# ------------------------------------------------------------------ byte mutations


def span(rng: random.Random, size: int, head: bool) -> int:
    return rng.randrange(min(size, HEAD) if head else size) if size else 0


def flip_bits(data: bytes, rng: random.Random, head: bool) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            pos = span(rng, len(out), head)
            out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random, head: bool) -> bytes:
    return data[: span(rng, len(data), head)]


def insert(data: bytes, rng: random.Random, head: bool) -> bytes:
    pos = span(rng, len(data), head)
    return data[:pos] + rng.randbytes(rng.choice((1, 2, 4, 8, 64, 512))) + data[pos:]


def delete(data: bytes, rng: random.Random, head: bool) -> bytes:
    pos = span(rng, len(data), head)
    return data[:pos] + data[pos + rng.choice((1, 2, 4, 8, 64, 512)):]


def overwrite_field(data: bytes, rng: random.Random, head: bool) -> bytes:
    """An offset or length field set to an extreme: 0, all ones, or a large power of two."""
    if len(data) < 8:
        return flip_bits(data, rng, head)
    pos = span(rng, len(data) - 8, head)
    value = rng.choice((0, 2**64 - 1, 2**63, 2**32 - 1, 2**31, len(data), len(data) + 1))
    return data[:pos] + value.to_bytes(8, "little") + data[pos + 8:]


BYTE_MUTATIONS = (flip_bits, truncate, insert, delete, overwrite_field)


def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    op = rng.choice(BYTE_MUTATIONS)
    head = rng.random() < 0.6
    return op(data, rng, head), f"{op.__name__}-{'head' if head else 'any'}"


# ------------------------------------------------------------------ zip mutations


def mutate_zip(src: Path, dest: Path, rng: random.Random) -> str:
    try:
        with zipfile.ZipFile(src) as zin:
            members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError):  # a seed that is damaged already (derived/bad_crc.keras)
        members = []
    if not members:
        data, how = mutate_bytes(src.read_bytes(), rng)
        dest.write_bytes(data)
        return how
    op = rng.choice(("rename", "duplicate", "drop", "recompress", "member-bytes"))
    pick = rng.randrange(len(members))
    with zipfile.ZipFile(dest, "w") as zout, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate member name is the point
        for i, (info, data) in enumerate(members):
            name = info.filename
            compress = info.compress_type
            if i == pick:
                if op == "drop":
                    continue
                if op == "rename":
                    name = rng.choice((name.upper(), name + ".bak", "../" + name, "/" + name, name.replace(".", "")))
                if op == "recompress":
                    compress = zipfile.ZIP_STORED if compress != zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
                if op == "member-bytes":
                    data = mutate_bytes(data, rng)[0]
            zout.writestr(zipfile.ZipInfo(name, date_time=info.date_time), data, compress_type=compress)
            if i == pick and op == "duplicate":
                zout.writestr(zipfile.ZipInfo(name, date_time=info.date_time), mutate_bytes(data, rng)[0],
                              compress_type=compress)
    return f"zip-{op}"


# ------------------------------------------------------------------ folders


def folder_targets(root: Path) -> list[Path]:
    """The files of a SavedModel or checkpoint folder worth damaging, protos and indexes first."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    wanted = [p for p in files if p.suffix in (".pb", ".index") or p.name == "checkpoint"]
    return wanted or files


def mutate_folder(src: Path, dest: Path, rng: random.Random) -> str:
    shutil.copytree(src, dest, symlinks=True)
    targets = folder_targets(dest)
    if not targets:
        return "copy"
    target = rng.choice(targets)
    if rng.random() < 0.1:
        target.unlink()
        return f"drop-{target.name}"
    data, how = mutate_bytes(target.read_bytes(), rng)
    target.write_bytes(data)
    return f"{target.name}-{how}"


def build_mutants(dest: Path, n: int, seed: int, start: int = 0) -> list[Path]:
    """Mutants number ``start`` to ``start + n - 1`` of campaign ``seed``, as top-level entries of ``dest``.

    Mutant i depends only on (seed, i), so a campaign can be built in chunks and any one mutant
    rebuilt alone to reproduce a failure.
    """
    pool = seeds()
    made = []
    for i in range(start, start + n):
        rng = random.Random(f"{seed}:{i}")
        src = rng.choice(pool)
        stem = f"m{i:05d}_{src.parent.name}_{src.stem}"[:80]
        out = dest / (stem + src.suffix)
        if src.is_dir():
            mutate_folder(src, out, rng)
        elif zipfile.is_zipfile(src) and rng.random() < 0.5:
            mutate_zip(src, out, rng)
        else:
            out.write_bytes(mutate_bytes(src.read_bytes(), rng)[0])
        made.append(out)
    return made


def describe(seed: int, i: int) -> str:
    """Which seed file mutant i of campaign ``seed`` came from: to reproduce one failure by hand."""
    rng = random.Random(f"{seed}:{i}")
    return str(rng.choice(seeds()).relative_to(ROOT))
