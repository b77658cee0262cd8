"""Pickling a slots dataclass as a call of its class with its field values.

A ``@dataclass(slots=True)`` pickles through the ``__getstate__``/``__setstate__`` that
dataclasses adds: ``__setstate__`` asks ``dataclasses.fields()`` again for every object and
sets each field in a Python loop. A converted record crosses from a harvest or ingest worker
to the committing process as a dozen such objects (the record, its normalized form, its
holdings, its match profile): unpickling them took ~26 µs a record of that process's time,
on the one core it has. ``by_fields`` pickles an object as ``(cls, (value, value, ...))``
instead, so unpickling is one call of the dataclass's own ``__init__``.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def by_fields(cls: T) -> T:
    """Class decorator (below ``@dataclass``): pickle by field values, in field order. The
    fields must all be ``__init__`` parameters (``init=True``), as they are here."""
    names = [f.name for f in fields(cls)]
    if not all(f.init for f in fields(cls)):
        raise TypeError(f"{cls.__name__}: by_fields needs every field in __init__")
    values = attrgetter(*names)

    if len(names) == 1:
        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return (cls, (values(self),))
    else:
        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return (cls, values(self))
    cls.__reduce__ = __reduce__
    return cls
