"""Accepted values of constructor arguments, read from the library's own checks.

A class "exposes" the values an argument accepts when its __init__ (or a method or module
function it hands the argument to) says ``if ARG not in <literal or module constant>: raise``.
We read that from the installed source with ``ast``; nothing is typed by hand.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import ast
import inspect
import linecache
import textwrap
import types

_SCALARS = (str, int, float, bool, type(None))
_PARSED = {}


def _index(fn):
    """(assignments, compare-ifs, calls) of a function, walked once and kept."""
    code = getattr(fn, "__code__", fn)
    key = id(code)
    if key in _PARSED and _PARSED[key][0] is code:
        return _PARSED[key][1]
    tree = _tree(fn)
    index = None
    if tree is not None:
        assigns, ifs, calls = [], [], []
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
            elif isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1:
                ifs.append((node, _raises(node.body), _raises(node.orelse)))
            elif isinstance(node, ast.Call):
                calls.append(node)
        index = (assigns, ifs, calls)
    # The code object is kept with its index: an id is reused once its object is freed.
    _PARSED[key] = (code, index)
    return index


def _tree(fn):
    tree = None
    try:
        # inspect.getsource is slow here (it maps every loaded module to its file); the code
        # object already names the file and the first line.
        code = fn.__code__
        lines = linecache.getlines(code.co_filename)
        block = inspect.getblock(lines[code.co_firstlineno - 1:])
        tree = ast.parse(textwrap.dedent("".join(block)))
    except Exception:
        tree = None
    return tree


def _literal(node, scope):
    """The scalar members of a literal list/tuple/set, or of a module constant it names."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        out = []
        for elt in node.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, _SCALARS):
                out.append(elt.value)
            else:
                return None
        return out
    if isinstance(node, ast.Dict):
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, _SCALARS)]
        return keys if len(keys) == len(node.keys) else None
    value = _resolve(node, scope)
    if isinstance(value, dict):
        value = list(value)
    elif isinstance(value, (set, frozenset)):  # a set's order changes with the hash seed: sort it
        value = sorted(value, key=lambda v: (type(v).__name__, str(v)))
    if isinstance(value, (list, tuple, set, frozenset)) and value and all(isinstance(v, _SCALARS) for v in value):
        return list(value)
    return None


def _resolve(node, scope):
    """A module-level object named by Name or a dotted Attribute, looked up in the function's globals."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in scope:
        return None
    obj = scope[node.id]
    for part in reversed(parts):
        # Only real modules and classes: a lazy module proxy would import on getattr.
        if not (isinstance(obj, types.ModuleType) or inspect.isclass(obj)):
            return None
        try:
            obj = inspect.getattr_static(obj, part)
        except AttributeError:
            return None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


def _subject(node, names):
    """The constructor argument a compared expression stands for, or None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.func.value  # padding.lower()
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return names.get("self." + node.attr)
    return None


def _raises(stmts):
    return any(isinstance(n, ast.Raise) for s in stmts for n in ast.walk(s))


_SCANNED = {}


def _scan(fn, names, found, depth, owner, defining):
    try:
        fn = inspect.unwrap(fn)  # a decorated __init__ (tf_keras's allow_initializer_layout)
    except ValueError:
        return
    # Base-class __init__s are scanned again for every subclass: keep what each scan found.
    key = (id(getattr(fn, "__code__", fn)), frozenset(names.items()), depth, id(owner), id(defining))
    if key not in _SCANNED:
        _SCANNED[key] = {}
        _scan_once(fn, names, _SCANNED[key], depth, owner, defining)
    for param, values in _SCANNED[key].items():
        found.setdefault(param, values)


def _scan_once(fn, names, found, depth, owner, defining):
    index = _index(fn)
    if index is None:
        return
    assigns, ifs, calls = index
    scope = getattr(fn, "__globals__", {})
    names = dict(names)
    local_values = {}
    for node in assigns:  # padding = value.lower(); allowed = {"valid", "same"}
        target = node.targets[0].id
        param = _subject(node.value, names)
        if param is not None:
            names.setdefault(target, param)
            continue
        values = _literal(node.value, {})
        if values is not None:
            merged = local_values.setdefault(target, [])
            merged.extend(v for v in values if v not in merged)
    for node, body_raises, else_raises in ifs:
        op = node.test.ops[0]
        param = _subject(node.test.left, names)
        if param is None:
            continue
        comparator = node.test.comparators[0]
        if isinstance(comparator, ast.Name) and comparator.id in local_values:
            values = local_values[comparator.id]
        else:
            values = _literal(comparator, scope)
        if values is None:
            continue
        if (isinstance(op, ast.NotIn) and body_raises) or (
            isinstance(op, ast.In) and else_raises and not body_raises
        ):
            found.setdefault(param, values)
    if depth > 0:
        for node in calls:
            _follow(node, names, found, depth, owner, scope, defining)


def _next_init(owner, defining):
    """The __init__ that super().__init__ reaches from ``defining``'s, and its class."""
    mro = owner.__mro__
    start = mro.index(defining) + 1 if defining in mro else len(mro)
    for klass in mro[start:]:
        if klass is object:
            break
        if "__init__" in klass.__dict__:
            return klass.__dict__["__init__"], klass
    return None, None


def _follow(call, names, found, depth, owner, scope, defining):
    """Follow a call that hands a constructor argument on: self._validate(x) or conv_utils.normalize(x)."""
    passed = {}
    for i, arg in enumerate(call.args):
        param = _subject(arg, names)
        if param is not None:
            passed[i] = param
    kw_passed = dict((kw.arg, _subject(kw.value, names)) for kw in call.keywords if kw.arg)
    kw_passed = dict((k, v) for k, v in kw_passed.items() if v is not None)
    callee = None
    func = call.func
    if (isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"):
        callee, defining = _next_init(owner, defining)
        sub_names = dict((k, v) for k, v in names.items() if k.startswith("self."))
        offset = 1
        if callee is not None:
            callee = callee if inspect.isfunction(callee) else None
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        try:
            callee = inspect.getattr_static(owner, func.attr)
        except AttributeError:
            callee = None
        sub_names = dict((k, v) for k, v in names.items() if k.startswith("self."))
        offset = 1
    else:
        callee = _resolve(func, scope)
        sub_names = {}
        offset = 0
    if not (passed or kw_passed or (offset and sub_names)):
        return
    if callee is None or not inspect.isfunction(callee):
        return
    try:
        params = list(inspect.signature(inspect.unwrap(callee)).parameters)
    except (TypeError, ValueError):
        return
    for i, param in passed.items():
        if i + offset < len(params):
            sub_names[params[i + offset]] = param
    for k, param in kw_passed.items():
        if k in params:
            sub_names[k] = param
    _scan(callee, sub_names, found, depth - 1, owner, defining)


def accepted_values(cls):
    """{constructor argument: the values its own checks accept} for one class."""
    defining = next((k for k in cls.__mro__ if "__init__" in k.__dict__), None)
    init = defining.__dict__["__init__"] if defining is not None else None
    if not inspect.isfunction(init):
        return {}
    try:
        params = [p for p in inspect.signature(inspect.unwrap(init)).parameters][1:]
    except (TypeError, ValueError):
        return {}
    names = dict((p, p) for p in params)
    names.update(("self." + p, p) for p in params)
    found = {}
    _scan(init, names, found, 3, cls, defining)
    return dict((k, v) for k, v in sorted(found.items()))
