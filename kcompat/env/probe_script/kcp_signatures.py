"""Environment probe: the constructor arguments of a class (or a function's parameters), from its signature.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import inspect


def describe_callable(obj):
    """(params, var_kwargs, base_params) of a class's __init__ or a function."""
    params, var_kwargs, base = [], False, []
    if inspect.isclass(obj):
        init = getattr(obj, "__init__", None)
        sig = _signature(init)
        if sig is not None:
            params, var_kwargs = _params(sig, drop_first=True)
        if var_kwargs:
            base = _base_params(obj, set(params))
    else:
        sig = _signature(obj)
        if sig is not None:
            params, var_kwargs = _params(sig, drop_first=False)
    return params, var_kwargs, base


def _signature(fn):
    if fn is None or fn is object.__init__:
        return None
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _params(sig, drop_first):
    names, var_kwargs = [], False
    items = list(sig.parameters.values())
    if drop_first and items and items[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        items = items[1:]
    for p in items:
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.append(p.name)
    return names, var_kwargs


def _base_params(cls, own):
    """Named params of base __init__s reached while each level takes **kwargs."""
    found = []
    seen_first = False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        if not seen_first:  # the class's effective __init__, already described
            seen_first = True
            continue
        sig = _signature(init)
        if sig is None:
            break
        names, var_kwargs = _params(sig, drop_first=True)
        for n in names:
            if n not in own and n not in found:
                found.append(n)
        if not var_kwargs:
            break
    return found
