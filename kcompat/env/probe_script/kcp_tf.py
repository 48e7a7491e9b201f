"""Environment probe: TensorFlow facts, the registered ops (with their attrs) and the physical devices.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

from kcp_versions import _err


def _add(op_def, ops, required):
    ops[op_def.name] = sorted(a.name for a in op_def.attr)
    needed = sorted(a.name for a in op_def.attr if not a.HasField("default_value"))
    if needed:
        required[op_def.name] = needed


def collect_ops(tf, errors, required=None):
    """Op name -> its attr names; ``required`` (a dict) also gets, per op, the attrs without a default."""
    ops = {}
    required = {} if required is None else required
    try:
        # The whole OpRegistry of the loaded binary (including ops registered by
        # op libraries loaded so far, e.g. tensorflow_text): TF_GetAllOpList.
        from tensorflow.core.framework import op_def_pb2
        from tensorflow.python.client import pywrap_tf_session as c_api

        buf = c_api.TF_GetAllOpList()
        try:
            data = c_api.TF_GetBuffer(buf)
        finally:
            try:
                c_api.TF_DeleteBuffer(buf)
            except Exception:
                pass
        op_list = op_def_pb2.OpList()
        op_list.ParseFromString(data)
        for op in op_list.op:
            _add(op, ops, required)
        if ops:
            return ops
    except Exception as exc:
        _err(errors, "TF_GetAllOpList failed, falling back to tf.raw_ops", exc)
    try:
        from tensorflow.python.framework import op_def_registry

        for name in dir(tf.raw_ops):
            if name.startswith("_"):
                continue
            op_def = op_def_registry.get(name)
            if op_def is not None:
                _add(op_def, ops, required)
    except Exception as exc:
        _err(errors, "could not read the op registry", exc)
    return ops


def collect_devices(tf, errors):
    try:
        return [
            {"name": d.name, "device_type": d.device_type}
            for d in tf.config.list_physical_devices()
        ]
    except Exception as exc:
        _err(errors, "could not list devices", exc)
        return []
