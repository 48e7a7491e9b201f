"""The SavedModel reader's per-op attr facts: what any node sets, and what every node sets (KC605, KC608)."""

from __future__ import annotations

from kcompat.artifacts import protos, read_artifact
from tests.helpers import ROOT


def write(path, graph_attrs: list[str], function_attrs: list[str]) -> None:
    """One XlaCallModule node in the top-level graph and one in a library function."""
    path.mkdir()
    sm = protos.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = "2.21.0"
    node = mg.graph_def.node.add(name="call", op="XlaCallModule")
    for attr in graph_attrs:
        node.attr[attr].SetInParent()
    body = mg.graph_def.library.function.add()
    node = body.node_def.add(name="inner", op="XlaCallModule")
    for attr in function_attrs:
        node.attr[attr].SetInParent()
    (path / "saved_model.pb").write_bytes(sm.SerializeToString())


def test_an_attr_one_node_lacks_is_not_on_every_node(tmp_path):
    write(tmp_path / "sm", ["Sout", "dim_args_spec", "module"], ["Sout", "module", "platforms"])
    facts = read_artifact(tmp_path / "sm").saved_model
    assert facts.op_attrs_every_node == {"XlaCallModule": ["Sout", "module"]}
    assert facts.op_attrs["XlaCallModule"] == ["Sout", "dim_args_spec", "module", "platforms"]
    assert facts.graph_op_attrs["XlaCallModule"] == ["Sout", "dim_args_spec", "module"]


def test_tf_2_21_leaves_a_default_valued_attr_out_of_the_jax_exports_nodes():
    facts = read_artifact(ROOT / "fixtures" / "keras3.15-jax" / "seq_compiled_export").saved_model
    every = facts.op_attrs_every_node["XlaCallModule"]
    assert "dim_args_spec" not in every  # TF 2.21 declares a default for it and strips it
    assert {"Sout", "Tin", "Tout", "module", "version"} <= set(every)  # no default anywhere: always written
