"""`kcompat fix`: repair a copy of a broken model and prove the repair.

Belongs here: ordering the rewrites that the rules' own fixers propose (a fixer lives beside its
check, in the rule's unit under ``kcompat.checks``), writing the repaired copy (a new ``.keras``
zip, or HDF5 attributes rewritten by h5py in a child process), and asking the guarded load
(``kcompat.load``) to prove that the copy loads and computes what the original computes. The
input is never modified, and no static fixer imports TensorFlow or Keras.
"""
