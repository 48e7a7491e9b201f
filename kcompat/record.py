"""Records: the typed objects kcompat passes between its stages, without pydantic on the check path.

Every check is a fresh process, and importing pydantic and building its models was most of that
process's start-up (~0.11 of the ~0.17 s a one-file check took), which no number of ``--jobs``
shortens. A record is a plain class: its annotated fields, defaults and ``Field(default_factory=...)``
become an ``__init__`` (keywords, or positions in field order as a dataclass takes them) that converts
only what a caller may hand in loosely (an enum's value, a nested record as a dict, a tuple for a
list, an int for a float). pydantic is imported
only where data kcompat did not write is read (config files, target profiles, the probe's output:
``model_validate``) and where JSON or the JSON Schema is written, through a pydantic model built
from the record class on first use (``mirror``), so errors and JSON are pydantic's own.
"""

from __future__ import annotations

import copy
import enum
import functools
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

MISSING: Any = object()


class FieldSpec:
    __slots__ = ("default", "factory", "alias", "ge", "gt")

    def __init__(self, default: Any = MISSING, factory: Callable[[], Any] | None = None, alias: str | None = None,
                 ge: float | None = None, gt: float | None = None) -> None:
        self.default, self.factory, self.alias, self.ge, self.gt = default, factory, alias, ge, gt

    def make_default(self) -> Any:
        return self.factory() if self.factory is not None else self.default


def Field(default: Any = MISSING, *, default_factory: Callable[[], Any] | None = None, alias: str | None = None,
          ge: float | None = None, gt: float | None = None) -> Any:
    """A field's default and, for validation, its alias and bounds (as pydantic's ``Field`` takes them)."""
    return FieldSpec(default, default_factory, alias, ge, gt)


def validator(field: str, before: bool = False) -> Callable:
    """Mark ``fn(value) -> value`` (a staticmethod-like function) to check or normalise ``field``; ``before``:
    on the raw value, before it is converted. It runs on construction and in ``model_validate``."""
    def mark(fn: Callable) -> Callable:
        fn.__record_validator__ = (field, before)  # type: ignore[attr-defined]
        return fn
    return mark


class Record:
    model_fields: ClassVar[dict[str, FieldSpec]] = {}
    _frozen: ClassVar[bool] = False
    _extra: ClassVar[str] = "ignore"
    _validators: ClassVar[dict[str, list[tuple[bool, Callable]]]] = {}
    _converters: ClassVar[dict[str, Callable] | None] = None  # what __init__ converts
    _nested: ClassVar[dict[str, Callable]] = {}  # what from_data converts: nested records and enums

    def __init_subclass__(cls, frozen: bool | None = None, extra: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.model_fields)
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, MISSING)
            spec = value if isinstance(value, FieldSpec) else FieldSpec(value)
            if isinstance(value, FieldSpec):
                if spec.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
            fields[name] = spec
        cls.model_fields = fields
        cls._frozen = cls._frozen if frozen is None else frozen
        cls._extra = cls._extra if extra is None else extra
        found = {field: list(hooks) for field, hooks in cls._validators.items()}
        for value in cls.__dict__.values():
            mark = getattr(getattr(value, "__func__", value), "__record_validator__", None)
            if mark:
                found.setdefault(mark[0], []).append((mark[1], getattr(value, "__func__", value)))
        cls._validators = {field: sorted(hooks, key=lambda hook: not hook[0]) for field, hooks in found.items()}
        cls._converters = None
        if cls._frozen:
            cls.__setattr__ = _refuse  # type: ignore[method-assign,assignment]
            cls.__hash__ = _hash  # type: ignore[method-assign,assignment]

    def __init__(self, *args: Any, **values: Any) -> None:
        cls = type(self)
        if args:  # in field order, as a dataclass takes them
            names = list(cls.model_fields)
            if len(args) > len(names):
                raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments")
            for name, value in zip(names, args):
                if name in values:
                    raise TypeError(f"{cls.__name__}: {name!r} given twice")
                values[name] = value
        data = self.__dict__
        validators = cls._validators
        converters = cls._converters if cls._converters is not None else cls._build_converters()
        for name, spec in cls.model_fields.items():
            if name in values:
                value = values.pop(name)
                if name in converters:
                    value = converters[name](value)
                if validators and name in validators:
                    value = _run(validators[name], value)
            elif spec.factory is not None:  # defaults are taken as they are, as pydantic takes them
                value = spec.factory()
            elif spec.default is not MISSING:
                value = spec.default
            else:
                raise TypeError(f"{cls.__name__}: missing field {name!r}")
            data[name] = value
        if values:
            raise TypeError(f"{cls.__name__}: no field {', '.join(map(repr, values))}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    @classmethod
    def _build_converters(cls) -> dict[str, Callable]:
        hints = _hints(cls)
        converters, nested = {}, {}
        for name, spec in cls.model_fields.items():
            convert = _converter(hints[name])
            if convert is not None:
                converters[name] = convert
                if spec.factory is None and spec.default is not MISSING:
                    # pydantic writes a default as its field's type (a float field's 120 as 120.0)
                    spec.default = convert(spec.default)
                    setattr(cls, name, spec.default)
            convert = _converter(hints[name], loose=False)
            if convert is not None:
                nested[name] = convert
        cls._nested = nested
        cls._converters = converters
        return converters

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Any:
        """A record from JSON kcompat wrote itself (a cache, a child's answer): its nested records and enums are
        made, nothing is validated. Keys it does not know are left out; an alias is taken for its field."""
        if cls._converters is None:
            cls._build_converters()
        nested = cls._nested
        obj = cls.__new__(cls)
        values = obj.__dict__
        for name, spec in cls.model_fields.items():
            if name in data:
                value = data[name]
            elif spec.alias is not None and spec.alias in data:
                value = data[spec.alias]
            elif spec.default is not MISSING or spec.factory is not None:
                values[name] = spec.make_default()
                continue
            else:
                raise TypeError(f"{cls.__name__}: missing field {name!r}")
            values[name] = nested[name](value) if name in nested else value
        return obj

    @classmethod
    def model_construct(cls, **values: Any) -> Any:
        """Trusted values as they are: the missing ones take their defaults; nothing is converted."""
        obj = cls.__new__(cls)
        data = obj.__dict__
        for name, spec in cls.model_fields.items():
            data[name] = values[name] if name in values else spec.make_default()
        return obj

    @classmethod
    def model_validate(cls, data: Any) -> Any:
        """Validate data from outside (pydantic's rules and errors, through ``mirror``) into a record."""
        if isinstance(data, cls):
            return data
        return _from_mirror(mirror(cls).model_validate(data))

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Any:
        return _from_mirror(mirror(cls).model_validate_json(text))

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return mirror(cls).model_json_schema()

    def model_copy(self, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        obj = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            obj.__dict__.update(update)
        return obj

    def __copy__(self) -> Any:
        obj = type(self).__new__(type(self))
        obj.__dict__.update(self.__dict__)
        return obj

    def model_dump(self, *, mode: str = "python", by_alias: bool = False, exclude: set[str] | None = None) -> dict[str, Any]:
        data = _dump(self, by_alias)
        for name in exclude or ():
            data.pop(name, None)
        if mode == "json":
            from pydantic_core import to_jsonable_python

            return to_jsonable_python(data, inf_nan_mode="null")
        return data

    def model_dump_json(self, *, indent: int | None = None, exclude: set[str] | None = None) -> str:
        from pydantic_core import to_json

        return to_json(self.model_dump(exclude=exclude), indent=indent, inf_nan_mode="null").decode()


def _refuse(self: Record, name: str, value: Any) -> None:
    raise TypeError(f"{type(self).__name__} is frozen: {name} cannot be set")


def _hash(self: Record) -> int:
    return hash(tuple(self.__dict__.values()))


def _run(hooks: list[tuple[bool, Callable]], value: Any) -> Any:
    for _before, fn in hooks:  # the "before" ones first: __init_subclass__ sorted them
        value = fn(value)
    return value


def _dump(value: Any, by_alias: bool) -> Any:
    if isinstance(value, Record):
        data = value.__dict__
        if by_alias:
            return {spec.alias or name: _dump(data[name], by_alias) for name, spec in type(value).model_fields.items()}
        return {name: _dump(data[name], by_alias) for name in type(value).model_fields}
    if isinstance(value, list):
        return [_dump(v, by_alias) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, by_alias) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_dump(v, by_alias) for v in value)
    return value


_EVALUATED: dict[tuple[str, str], Any] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The fields' types. Not typing.get_type_hints: it compiles every annotation string anew (~4 ms of a run)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        namespace = vars(sys.modules[klass.__module__])
        for name, annotation in klass.__dict__.get("__annotations__", {}).items():
            if name not in cls.model_fields:  # type: ignore[attr-defined]
                continue
            if isinstance(annotation, str):
                key = (klass.__module__, annotation)
                if key not in _EVALUATED:
                    _EVALUATED[key] = eval(annotation, namespace)  # noqa: S307 - kcompat's own annotations
                annotation = _EVALUATED[key]
            hints[name] = annotation
    return hints


def _arms(hint: Any) -> tuple:
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else ()


def _converter(hint: Any, loose: bool = True) -> Callable | None:
    """How to convert what a caller may pass for ``hint``, or None when it is taken as it is. ``loose``: also
    what only a Python caller passes (a tuple for a list, an int for a float); JSON holds nested records as
    dicts and enums as their values only."""
    arms = _arms(hint)
    if arms:
        real = [a for a in arms if a is not type(None)]
        return _converter(real[0], loose) if len(real) == 1 else None
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return lambda v: hint(v) if v is not None and not isinstance(v, hint) else v
    if isinstance(hint, type) and issubclass(hint, Record):
        return lambda v: hint.from_data(v) if isinstance(v, dict) else v
    if hint is float and loose:
        return lambda v: float(v) if type(v) is int else v
    if origin is list:
        inner = _converter(typing.get_args(hint)[0], loose) if typing.get_args(hint) else None
        if inner is None:
            return (lambda v: list(v) if type(v) is tuple else v) if loose else None
        return lambda v: [inner(x) for x in v] if isinstance(v, (list, tuple)) else v
    if origin is dict and len(typing.get_args(hint)) == 2:
        inner = _converter(typing.get_args(hint)[1], loose)
        if inner is not None:
            return lambda v: {k: inner(x) for k, x in v.items()} if isinstance(v, dict) else v
    return None


@functools.cache
def mirror(cls: type[Record]) -> Any:
    """The pydantic model of a record class: the same fields, defaults, aliases, bounds and validators."""
    from pydantic import ConfigDict, create_model, field_validator
    from pydantic import Field as PydanticField

    hints = _hints(cls)
    fields: dict[str, Any] = {}
    for name, spec in cls.model_fields.items():
        extra = {k: getattr(spec, k) for k in ("alias", "ge", "gt") if getattr(spec, k) is not None}
        if spec.factory is not None:
            info = PydanticField(default_factory=spec.factory, **extra)
        elif spec.default is MISSING:
            info = PydanticField(**extra)
        else:
            info = PydanticField(spec.default, **extra)
        fields[name] = (_mirrored(hints[name]), info)
    hooks = {f"_check_{name}_{i}": field_validator(name, mode="before" if before else "after")(_adapt(fn))
             for name, found in cls._validators.items() for i, (before, fn) in enumerate(found)}
    config = ConfigDict(extra=cls._extra, populate_by_name=True, frozen=cls._frozen)  # type: ignore[typeddict-item]
    model = create_model(cls.__name__, __config__=config, __doc__=cls.__doc__, __module__=cls.__module__,
                         __validators__=hooks, **fields)
    model.__record__ = cls
    return model


def _adapt(fn: Callable) -> Callable:
    return classmethod(lambda _cls, value: fn(value))  # type: ignore[arg-type]


def _mirrored(hint: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, Record):
        return mirror(hint)
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if not args or origin is typing.Literal:
        return hint
    new = tuple(_mirrored(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]
    return origin[new]  # type: ignore[index]


def _from_mirror(value: Any) -> Any:
    record = getattr(type(value), "__record__", None)
    if record is not None:
        obj = record.__new__(record)
        obj.__dict__.update({k: _from_mirror(v) for k, v in value.__dict__.items()})
        return obj
    if isinstance(value, list):
        return [_from_mirror(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_mirror(v) for k, v in value.items()}
    return value
