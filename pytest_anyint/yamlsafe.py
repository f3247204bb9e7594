"""YAML without alias expansion: cassettes and ``anyint.yaml`` are refused when they use aliases.

A ground module (PyYAML only), shared by the cassette reader and the config loader.
"""

from __future__ import annotations

from typing import Any


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
