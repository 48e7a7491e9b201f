"""The release knowledge base: what each TF / Keras / tf_keras release offers, for `--target`.

Belongs here: the recorded facts of every release line (written by the same environment probe
that reads a live interpreter, stored compactly as a base plus per-release deltas), the reader that
turns one release's record into the same ``kcompat.env.model.Environment`` a live probe gives, and
the resolution of a target spec such as ``keras==3.9.2`` to a recorded release. The rules never
know whether a fact was probed or recorded. The script that rebuilds the records from real
virtualenvs lives outside the package; nothing here imports TensorFlow or Keras.
"""
