"""``Record`` builds the class ``typing.NamedTuple`` builds, without typing's per-field check."""

from __future__ import annotations

import pickle
import typing
from typing import NamedTuple

import pytest

from pytest_anyint.records import Record


class Typed(NamedTuple):
    """Token counts."""

    input: int
    output: int = 0
    models: tuple[str, ...] | None = None

    def total(self) -> int:
        return self.input + self.output

    @property
    def doubled(self) -> int:
        return 2 * self.input


class Fast(Record):
    """Token counts."""

    input: int
    output: int = 0
    models: tuple[str, ...] | None = None

    def total(self) -> int:
        return self.input + self.output

    @property
    def doubled(self) -> int:
        return 2 * self.input


def test_a_record_is_the_namedtuple_typing_builds():
    typed, fast = Typed(1, 2), Fast(1, 2)
    for attribute in ("_fields", "_field_defaults", "__doc__", "__module__", "__bases__", "__slots__"):
        assert getattr(Fast, attribute) == getattr(Typed, attribute), attribute
    assert Fast.__name__ == Fast.__qualname__ == "Fast"
    assert repr(fast) == repr(typed).replace("Typed", "Fast")
    assert fast == typed == (1, 2, None) and hash(fast) == hash((1, 2, None))
    assert (fast.total(), fast.doubled) == (3, 2)
    assert fast._replace(output=5) == Fast(1, 5) and type(fast._replace(output=5)) is Fast
    assert fast._asdict() == {"input": 1, "output": 2, "models": None}
    assert Fast._make([3, 4, ("m",)]).models == ("m",)
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert typing.get_type_hints(Fast) == typing.get_type_hints(Typed)
    with pytest.raises(AttributeError):
        fast.input = 3  # type: ignore[misc]


def test_a_record_refuses_what_typing_refuses():
    with pytest.raises(TypeError, match="Non-default namedtuple field b"):
        class Unordered(Record):
            a: int = 1
            b: int

    with pytest.raises(AttributeError, match="_replace"):
        class Overwriting(Record):
            a: int

            def _replace(self) -> None: ...
