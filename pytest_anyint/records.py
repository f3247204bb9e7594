"""``Record``: ``typing.NamedTuple``'s class syntax, without typing's check of every field at import.

Under ``from __future__ import annotations`` (every module here), ``typing.NamedTuple`` turns each
field's annotation text into a ``ForwardRef``, compiling it, only to check that it names a type:
about 10 µs a field on Python 3.11, a millisecond over the plugin's frozen records, paid by every
process that imports them. ``Record`` builds the class ``typing.NamedTuple`` builds (a
``collections.namedtuple`` with the body's defaults, methods and docstring; the same refusals of a
field without a default after one with, and of overwriting a namedtuple attribute) and keeps the
annotations as written. Type checkers read it as ``typing.NamedTuple`` itself.

A ground module: the standard library only.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

__all__ = ["Record"]

if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    #: What a record's body may not set (``typing``'s own list): the namedtuple machinery.
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})

    class _RecordMeta(type):
        def __new__(mcls, typename: str, bases: tuple[type, ...], ns: dict[str, Any]) -> type:
            if not bases:  # Record itself
                return super().__new__(mcls, typename, bases, ns)
            if bases != (Record,):
                raise TypeError("a Record inherits from Record only")
            fields = ns.get("__annotations__", {})
            with_default: list[str] = []
            for name in fields:
                if name in ns:
                    with_default.append(name)
                elif with_default:
                    raise TypeError(f"Non-default namedtuple field {name} cannot follow default fields "
                                    f"{', '.join(with_default)}")
            record = collections.namedtuple(typename, fields, defaults=[ns[name] for name in with_default],
                                            module=ns["__module__"])
            record.__annotations__ = dict(fields)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in ("__module__", "__annotations__") and key not in record._fields:
                    setattr(record, key, value)
            return record

    class Record(metaclass=_RecordMeta):
        """The base of a typed record: ``class Usage(Record): input: int = 0``."""
