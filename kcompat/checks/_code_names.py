"""The global names a marshalled Lambda reads, found without loading or running it.

Builds on ``_marshal``'s structural reader: the same walk over the marshal stream, keeping the
values of the strings it passes, so that each code object's ``co_names`` tuple can be read. The
bytecode's LOAD_GLOBAL instructions then say which of those names are globals (``jnp`` in
``jnp.tanh(x)``) and which are attributes (``tanh``). Nothing is unmarshalled or executed.
"""

from __future__ import annotations

import struct

from kcompat.checks import _marshal

# Position of co_names among the code-object fields of each layout (see _marshal.LAYOUTS).
NAMES_FIELD = {"2.7": 6, "3.0-3.7": 7, "3.8-3.10": 8, "3.11+": 7}
# LOAD_GLOBAL and EXTENDED_ARG per interpreter, and whether the name index is arg >> 1 (3.11+).
LOAD_GLOBAL = {"3.6": (116, 144, False), "3.7": (116, 144, False), "3.8": (116, 144, False),
               "3.9": (116, 144, False), "3.10": (116, 144, False), "3.11": (116, 144, True),
               "3.12": (116, 144, True), "3.13": (91, 69, True)}
STRING_KINDS = "tuaAzZ"


class _NameReader(_marshal._Reader):
    def __init__(self, data: bytes, layout: str):
        super().__init__(data, layout)
        self.values: dict[int, str] = {}  # ref slot -> string value
        self.last_str: str | None = None
        self.codes: list[tuple[list[str], bytes]] = []  # (co_names, bytecode) of every code object

    def obj(self, depth: int = 0) -> str:
        slot = len(self.refs) if self.pos < len(self.data) and self.data[self.pos] & 0x80 else None
        coarse = super().obj(depth)
        if slot is not None and self.last_str is not None:
            self.values[slot] = self.last_str
        return coarse

    def _body(self, kind: str, depth: int) -> str:
        if kind in STRING_KINDS:
            n = self.take(1)[0] if kind in "zZ" else self._len()
            self.last_str = self.take(n).decode("utf-8", "replace")
            return "b" if kind == "t" and self.layout == "2.7" else "s"
        if kind == "r":
            index = struct.unpack("<i", self.data[self.pos:self.pos + 4])[0] if self.pos + 4 <= len(self.data) else -1
            coarse = super()._body(kind, depth)
            self.last_str = self.values.get(index)
            return coarse
        coarse = super()._body(kind, depth)
        self.last_str = None
        return coarse

    def _strings(self, depth: int) -> tuple[str, list[str]]:
        """Read one object that should be a tuple of strings; return its coarse type and the strings."""
        code = self.data[self.pos] & 0x7F if self.pos < len(self.data) else 0
        if chr(code) not in "()":
            return self.obj(depth + 1), []
        flag = self.data[self.pos] & 0x80
        self.pos += 1
        if flag:
            self.refs.append("t")
        n = self.take(1)[0] if chr(code) == ")" else self._len()
        names = []
        for _ in range(n):
            self.obj(depth + 1)
            names.append(self.last_str or "")
        self.last_str = None
        return "t", names

    def code(self, depth: int) -> None:
        fields = _marshal.LAYOUTS[self.layout]
        names: list[str] = []
        bytecode = b""
        for index, field in enumerate(fields):
            if field == "I":
                self.take(4)
                continue
            if index == NAMES_FIELD[self.layout]:
                got, names = self._strings(depth)
            else:
                got = self.obj(depth + 1)
            if field == "b" and index == fields.index("b"):
                if got != "b":
                    raise _marshal._Bad("bytecode is not bytes")
                bytecode = self.last_bytes
            elif field == "t" and got != "t":
                raise _marshal._Bad("expected tuple")
        self.codes.append((names, bytecode))
        self.last_str = None


def _globals(names: list[str], bytecode: bytes, version: str) -> set[str]:
    op = LOAD_GLOBAL.get(version)
    if op is None:
        return set(names)  # an instruction set not read here: every name may be a global
    load_global, extended_arg, shifted = op
    out: set[str] = set()
    ext = 0
    for i in range(0, len(bytecode) - 1, 2):
        opcode, arg = bytecode[i], bytecode[i + 1] | ext
        if opcode == extended_arg:
            ext = arg << 8
            continue
        ext = 0
        if opcode == load_global:
            index = arg >> 1 if shifted else arg
            if index < len(names):
                out.add(names[index])
    return out


def global_names(payload: str) -> list[str] | None:
    """Global names read by the marshalled function in ``payload`` (and the functions inside it).

    None when the bytes are no marshalled code object of a known layout.
    """
    data = _marshal.decode(payload)
    versions = _marshal.writer_versions(data) if data else None
    if not versions:
        return None
    family = next(f for f, vs in _marshal.FAMILY_VERSIONS.items() if versions[0] in vs)
    reader = _NameReader(data, family)
    try:
        reader.obj()
    except (_marshal._Bad, IndexError, struct.error):
        return None
    # Several candidate versions with different opcode numbers: read none of them as the one.
    ops = {LOAD_GLOBAL.get(v) for v in versions}
    version = versions[0] if len(ops) == 1 else "unknown"
    found: set[str] = set()
    for names, bytecode in reader.codes:
        found |= _globals(names, bytecode, version)
    return sorted(found)
