"""Which releases the knowledge base records, and how each is installed (read by tools/build_releases.py).

One venv per group: the group's releases are installed into it in order (pip swaps the pinned
versions), and each is probed right after its install. Every release line at its last patch on
PyPI: TF 2.12-2.15 with their bundled Keras 2; Keras 3.0-3.15, each on a TensorFlow of its time;
tf_keras 2.15-2.21 (``TF_USE_LEGACY_KERAS=1``, so ``tf.keras`` is tf_keras); the reference stack;
and the extra environments the fixtures were written in (``tf2.12.0``, ``tftext2.21``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEGACY = {"TF_USE_LEGACY_KERAS": "1"}


@dataclass(frozen=True)
class Release:
    name: str
    pins: list[str]
    env: dict[str, str] = field(default_factory=dict)
    uninstall: list[str] = field(default_factory=list)
    constraints: str | None = None  # a pip constraints file, relative to the repository
    probe_args: list[str] = field(default_factory=list)  # e.g. --custom-objects tensorflow_text (registers its ops)


def _keras3(tf: str, versions: list[str]) -> list[Release]:
    return [Release(f"keras{'.'.join(v.split('.')[:2])}", [f"tensorflow=={tf}", f"keras=={v}"]) for v in versions]


REFERENCE_PINS = "fixtures/constraints-reference.txt"

GROUPS: dict[str, list[Release]] = {
    "tf2.12": [Release("tf2.12", ["tensorflow==2.12.1", "keras==2.12.0"])],
    "tf2.13": [Release("tf2.13", ["tensorflow==2.13.1", "keras==2.13.1"])],
    "tf2.14": [Release("tf2.14", ["tensorflow==2.14.1", "keras==2.14.0"])],
    "tf2.15": [
        Release("tf2.15", ["tensorflow==2.15.1", "keras==2.15.0"]),
        Release("tf_keras2.15", ["tensorflow==2.15.1", "keras==2.15.0", "tf-keras==2.15.1"], LEGACY),
    ],
    "tf2.16": [
        *_keras3("2.16.2", ["3.0.5", "3.1.1", "3.2.1", "3.3.3"]),
        Release("tf_keras2.16", ["tensorflow==2.16.2", "keras==3.3.3", "tf-keras==2.16.0"], LEGACY),
    ],
    "tf2.17": [
        *_keras3("2.17.1", ["3.4.1", "3.5.0", "3.6.0"]),
        Release("tf_keras2.17", ["tensorflow==2.17.1", "keras==3.6.0", "tf-keras==2.17.0"], LEGACY),
    ],
    "tf2.18": [
        *_keras3("2.18.1", ["3.7.0", "3.8.0"]),
        Release("tf_keras2.18", ["tensorflow==2.18.1", "keras==3.8.0", "tf-keras==2.18.0"], LEGACY),
    ],
    "tf2.19": [
        *_keras3("2.19.1", ["3.9.2", "3.10.0"]),
        Release("tf_keras2.19", ["tensorflow==2.19.1", "keras==3.10.0", "tf-keras==2.19.0"], LEGACY),
    ],
    "tf2.20": [
        *_keras3("2.20.0", ["3.11.3", "3.12.4"]),
        Release("tf_keras2.20", ["tensorflow==2.20.0", "keras==3.12.4", "tf-keras==2.20.1"], LEGACY),
    ],
    "tf2.21": [
        *_keras3("2.21.0", ["3.13.2", "3.14.1"]),
        # keras3.15 is the reference stack (TF 2.21, Keras 3.15.1, tf_keras 2.21), pinned exactly.
        Release("keras3.15", ["tensorflow==2.21.0", "keras==3.15.1", "tf-keras==2.21.0"], constraints=REFERENCE_PINS),
        Release("tf_keras2.21", ["tensorflow==2.21.0", "keras==3.15.1", "tf-keras==2.21.0"], LEGACY,
                constraints=REFERENCE_PINS),
        Release("tftext2.21", ["tensorflow==2.21.0", "keras==3.15.1", "tensorflow-text==2.21.1"],
                uninstall=["tf-keras"], probe_args=["--custom-objects", "tensorflow_text"]),
    ],
    "tf2.12.0": [Release("tf2.12.0", ["tensorflow==2.12.0", "keras==2.12.0"])],
}

# The six declared profiles kcompat shipped before the knowledge base: their names still work.
PROFILE_NAMES = {
    "keras3.15-tf2.21": "keras3.15",
    "keras3.3-tf2.16": "keras3.3",
    "tf2.12": "tf2.12.0",
    "tf2.15": "tf2.15",
    "tf_keras2.21": "tf_keras2.21",
    "tftext2.21": "tftext2.21",
}
