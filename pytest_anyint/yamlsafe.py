"""YAML read safely and fast: no alias expansion, and the Rust reader wherever it reads the same.

Cassettes and ``anyint.yaml`` are refused when they use aliases (expanding them is unbounded).
PyYAML (YAML 1.1) is the reference reader; yaml-rs (YAML 1.2, several times faster, and no PyYAML
import for a replay to pay) reads a text only where both versions read it alike. A ground module,
shared by the cassette reader and the config loader.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from .text import lazy_pattern


class AliasError(ValueError):
    """A YAML alias (``*name``): the node it repeats."""

    def __init__(self, node: Any) -> None:
        super().__init__("alias")
        self.line = node.start_mark.line + 1 if getattr(node, "start_mark", None) is not None else None


def refuse_aliases(root: Any) -> None:
    """Raise AliasError at the first node reached twice (what an alias is once composed).

    Composing is linear in the text; it is expanding aliases that turns 360 bytes into gigabytes
    ("billion laughs"), so a document is refused before anything is built from it.
    """
    from yaml.nodes import MappingNode, SequenceNode

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise AliasError(node)
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack += (value, key)
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))


def has_tag_anchor_or_complex_key(text: str) -> bool:
    """Whether ``text`` holds a tag (``!!binary``, ``!custom``) or an anchor (``&name``) where a
    value starts, or a complex key (``? key``): what yaml-rs reads otherwise than PyYAML, or expands.

    Each candidate character is found by ``str.find`` (a memchr: a few microseconds for a whole
    cassette; a regular expression takes ~0.2 ms), and most files have none.
    """
    for mark in "!&":
        at = text.find(mark)
        while at != -1:
            if at == 0 or text[at - 1].isspace() or text[at - 1] in "[{,":
                return True
            at = text.find(mark, at + 1)
    at = text.find("?")
    while at != -1:
        line_start = text.rfind("\n", 0, at) + 1
        if not text[line_start:at].strip(" \t-") and text[at + 1 : at + 2] in (" ", "\t", "\n", ""):
            return True
        at = text.find("?", at + 1)
    return False


@functools.cache
def rust_loads(duplicates: str = "last") -> Callable[[str], Any] | None:
    """yaml-rs's ``loads`` (no timestamps; a duplicate key kept ``last``, as PyYAML does, or an
    ``error``), or None where yaml-rs is not installed or cannot load."""
    try:
        import yaml_rs
    except Exception:  # noqa: BLE001 - not installed, or its extension cannot load here: PyYAML reads
        return None
    policy = yaml_rs.DuplicateKeyPolicy.LastWins if duplicates == "last" else yaml_rs.DuplicateKeyPolicy.Error

    def loads(text: str) -> Any:
        return yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=policy)

    return loads


#: The plain words a YAML 1.1 reader (PyYAML) resolves to something other than a string:
#: booleans, nulls, merge and value keys (and the empty text: a null).
_YAML11_WORDS = frozenset(
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF y Y n N ~ null Null NULL << =".split()
)
#: What every text :func:`_yaml11_number` matches starts with.
_YAML11_NUMBER_START = frozenset("+-.0123456789_")


#: 1.1 integers (octal, binary, sexagesimal, underscores), floats and timestamps. Loose on
#: purpose: a match only sends the file to PyYAML. Most configs hold no text that starts like a
#: number, so it is rarely compiled.
_yaml11_number = lazy_pattern(
    r"""(?:[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])*|[-+]?0[bBoOxX][0-9a-fA-F_]+
    |[-+]?[0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)""",
    re.VERBOSE | re.DOTALL,
)


def _yaml11_not_text(value: str) -> bool:
    """Whether YAML 1.1 resolves this plain text to something other than a string."""
    if not value or value in _YAML11_WORDS:
        return True
    return value[0] in _YAML11_NUMBER_START and _yaml11_number().fullmatch(value) is not None


#: Source texts where YAML 1.2 reads a number that 1.1 reads otherwise (``017``, ``0o17``,
#: ``1e3``, ``-.5``, ``_0``), merge keys, escapes, 1.1's extra line breaks, directives, document
#: markers, and an empty key (which PyYAML refuses). A process that reads no config (or finds it
#: in the parse cache) never compiles it.
_yaml11_differs = lazy_pattern(
    r"(?<![0-9A-Za-z_.])[-+]?0[0-9oObBxX_]|[0-9][eE][-+]?[0-9]|[-+]\.[0-9]|_(?=[0-9.])|(?<=[0-9.])_|<<|\\|[\x85\u2028\u2029\ufeff]"
    r"|^(?:---|\.\.\.|%)|^[ \t-]*:(?:[ \t]|$)",
    re.MULTILINE,
)


def read_plain(text: str) -> tuple[bool, Any]:
    """``(True, data)`` when yaml-rs reads ``text`` exactly as PyYAML would, duplicate keys refused;
    ``(False, None)`` when PyYAML must read it (something the versions read differently, an alias,
    a duplicate key, an error: PyYAML names the line)."""
    loads = rust_loads("error")
    if loads is None or has_tag_anchor_or_complex_key(text) or _yaml11_differs().search(text):
        return False, None
    try:
        data = loads(text)
    except Exception:  # noqa: BLE001 - PyYAML reads it again and names the problem
        return False, None
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _yaml11_not_text(value):
                return False, None  # plain, 1.1 would read it as a bool, a number, a date...
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, float) and not math.isfinite(value):
            return False, None  # .nan is never equal to itself: two .nan keys are one key or two
        elif not (value is None or isinstance(value, (bool, int, float))):
            return False, None
    return True, data
