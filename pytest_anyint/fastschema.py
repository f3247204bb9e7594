"""A fast JSON Schema "valid?" compiler, for the hot path of contracts and for ``anyint.yaml``.

jsonschema explains failures well but costs ~100 µs per chat completion; replay must add under
0.5 ms per test and a 2,000-chunk stream under 50 ms. So each schema is also compiled into plain
closures that only answer "valid?" for the keywords our schemas use. Clean bodies (nearly all)
stop there; a "no" (or a schema using anything else) goes to jsonschema for the explanation.
The closures may say "no" wrongly (harmless: jsonschema decides) but never "yes" wrongly.

A ground module (the standard library only): ``config`` and ``contracts`` both use it.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

#: The vocabulary keyword for sets that grow (finish reasons, ...): an unknown value is a warning.
KNOWN_VALUES = "x-known-values"



class Unsupported(Exception):
    """A keyword the fast path does not implement: use jsonschema for this schema."""


_MISSING = object()
_SUPPORTED = {
    "$ref", "additionalProperties", "allOf", "anyOf", "const", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "format", "if", "items", "maxItems", "maxLength", "maximum", "minItems", "minLength", "minimum", "not",
    "oneOf", "pattern", "properties", "required", "type", "minProperties", "maxProperties", "propertyNames",
}
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "object": (dict,), "array": (list,), "boolean": (bool,), "null": (type(None),),
    "integer": (int,), "number": (int, float),
}


def _type_check(names: Any) -> Callable[[Any], bool]:
    """``type`` by exact Python type (what json.loads and YAML produce; bool is not int here);
    anything else, e.g. a dict subclass, answers "no" and jsonschema decides."""
    names = names if isinstance(names, list) else [names]
    exact = frozenset(t for n in names for t in _EXACT_TYPES[n])
    if "integer" in names and "number" not in names:
        return lambda x: type(x) in exact or (type(x) is float and x.is_integer())
    if len(exact) == 1:
        (only,) = exact
        return lambda x: type(x) is only
    if len(exact) == 2:  # the nullable form, ["string", "null"]: two identity tests beat a set lookup
        first, second = exact
        return lambda x: type(x) is first or type(x) is second
    return lambda x: type(x) in exact


_ANNOTATIONS = frozenset({"type", "description", "title", "$comment", "examples"})


def _plain_types(schema: Any) -> frozenset[type] | None:
    """The exact Python types a ``{"type": …}``-only schema accepts, or None for anything more."""
    if not isinstance(schema, dict) or "type" not in schema or not set(schema) <= _ANNOTATIONS:
        return None
    names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    try:
        return frozenset(t for n in names for t in _EXACT_TYPES[n])
    except (KeyError, TypeError):
        return None


def _any_of(parts: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    def check(x: Any) -> bool:
        for part in parts:
            if part(x):
                return True
        return False

    return check


def _one_of(parts: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    return lambda x: sum(1 for part in parts if part(x)) == 1


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema means it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b
    )


def _all_of(checks: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    if len(checks) == 3:
        first, second, third = checks
        return lambda x: first(x) and second(x) and third(x)

    def check(x: Any) -> bool:
        for c in checks:
            if not c(x):
                return False
        return True

    return check


class FastCompiler:
    """Compiles schemas (following $refs through ``load``) into "valid?" closures."""

    known_keywords = frozenset(_SUPPORTED) | {
        "$dynamicRef", "contains", "dependentRequired", "dependentSchemas", "maxProperties", "minProperties",
        "multipleOf", "patternProperties", "prefixItems", "propertyNames", "unevaluatedItems",
        "unevaluatedProperties", "uniqueItems", "$anchor", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    }

    def __init__(self, load: Callable[[str], Any]) -> None:
        self.load = load
        self.memo: dict[str, list[Any]] = {}

    def ref(self, target: str) -> Callable[[Any], bool]:
        cell = self.memo.get(target)
        if cell is None:
            cell = [None]
            self.memo[target] = cell
            try:
                uri, _, fragment = target.partition("#")
                node = self.load(uri)
                for part in [p for p in fragment.split("/") if p]:
                    part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
                    if isinstance(node, list):
                        node = node[int(part)]
                    elif isinstance(node, dict) and part in node:
                        node = node[part]
                    else:
                        raise Unsupported(f"cannot resolve {target}")
                cell[0] = self.compile(node, uri)
            except Exception:
                del self.memo[target]  # never leave a half-built check for the next schema to call
                raise
        if cell[0] is not None:
            return cell[0]
        return lambda x: cell[0](x)  # a cycle: resolved by the time it runs

    def compile(self, schema: Any, base: str, root: bool = True) -> Callable[[Any], bool]:
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise Unsupported("schema is not an object")
        unknown = (set(schema) & self.known_keywords) - _SUPPORTED
        if unknown or (not root and ("$id" in schema or "id" in schema)):
            raise Unsupported(", ".join(sorted(unknown)) or "$id")
        sub = lambda s: self.compile(s, base, root=False)  # noqa: E731
        checks: list[Callable[[Any], bool]] = []
        # "type": "object" / "array" is folded into the object / items check below (one call, not two)
        folded = schema.get("type") in ("object", "array")
        if "type" in schema and not folded:
            checks.append(_type_check(schema["type"]))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda x: _json_equal(x, const))
        if "enum" in schema:
            options = list(schema["enum"])
            checks.append(lambda x: any(_json_equal(x, o) for o in options))
        if KNOWN_VALUES in schema:
            known = frozenset(v for v in schema[KNOWN_VALUES] if isinstance(v, str))
            checks.append(lambda x: not isinstance(x, str) or x in known)
        if "$ref" in schema:
            checks.append(self.ref(urllib.parse.urljoin(base, schema["$ref"])))
        shape = self._object(schema, sub) if schema.get("type") != "array" else []
        shape += self._array(schema, sub) if schema.get("type") != "object" else []
        if folded:
            exact = dict if schema["type"] == "object" else list
            if len(shape) == 1:
                inner = shape[0]
                shape = [lambda x: type(x) is exact and inner(x)]
            else:
                shape.insert(0, lambda x: type(x) is exact)
        checks.extend(shape)
        checks.extend(self._scalar(schema))
        checks.extend(self._counts(schema, sub))
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in schema:
                parts = [sub(s) for s in schema[keyword]]
                if keyword == "allOf":
                    checks.append(_all_of(parts))
                elif keyword == "anyOf":
                    checks.append(_any_of(parts))
                else:
                    checks.append(_one_of(parts))
        if "not" in schema:
            negated = sub(schema["not"])
            checks.append(lambda x: not negated(x))
        if "if" in schema:
            cond = sub(schema["if"])
            then = sub(schema["then"]) if "then" in schema else (lambda x: True)
            other = sub(schema["else"]) if "else" in schema else (lambda x: True)
            checks.append(lambda x: then(x) if cond(x) else other(x))
        return _all_of(checks)

    @staticmethod
    def _object(schema: dict, sub: Callable[[Any], Callable[[Any], bool]]) -> list[Callable[[Any], bool]]:
        required = tuple(schema.get("required") or ())
        properties = schema.get("properties") or {}
        # keys ruled out with ``false`` (Gemini's snake_case twins): one set test, not a lookup each
        forbidden = frozenset(k for k, v in properties.items() if v is False)
        # (key, check, exact types): a leaf that only says "type" is answered by a set test without a
        # call; any other type (an int-valued float for "integer") still goes to the check
        props = tuple((k, sub(v), _plain_types(v)) for k, v in properties.items() if v is not False)
        additional = schema.get("additionalProperties", True)
        if not required and not props and not forbidden and additional is True:
            return []
        extra = None if additional is True else sub(additional)
        names = frozenset(properties)
        lookup = {k: (c, t) for k, c, t in props}.get
        few = len(props)

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for key in required:
                if key not in x:
                    return False
            if forbidden and not forbidden.isdisjoint(x):
                return False
            if len(x) < few:  # open schemas declare more keys than a body holds: walk the body's
                for key, value in x.items():
                    found = lookup(key)
                    if found is not None:
                        c, types = found
                        if (types is None or type(value) not in types) and not c(value):
                            return False
            else:
                for key, c, types in props:
                    value = x.get(key, _MISSING)
                    if value is not _MISSING and (types is None or type(value) not in types) and not c(value):
                        return False
            if extra is not None:
                for key, value in x.items():
                    if key not in names and not extra(value):
                        return False
            return True

        return [check]

    @staticmethod
    def _array(schema: dict, sub: Callable[[Any], Callable[[Any], bool]]) -> list[Callable[[Any], bool]]:
        out: list[Callable[[Any], bool]] = []
        low, high = schema.get("minItems"), schema.get("maxItems")
        if "items" in schema:
            item = sub(schema["items"])
            least = low or 0
            low = None  # checked with the items, in one pass

            def items(x: Any) -> bool:
                if isinstance(x, list):
                    if len(x) < least:
                        return False
                    for value in x:
                        if not item(value):
                            return False
                return True

            out.append(items)
        if low is not None:
            out.append(lambda x: not isinstance(x, list) or len(x) >= low)
        if high is not None:
            out.append(lambda x: not isinstance(x, list) or len(x) <= high)
        return out

    @staticmethod
    def _counts(schema: dict, sub: Callable[[Any], Callable[[Any], bool]]) -> list[Callable[[Any], bool]]:
        out: list[Callable[[Any], bool]] = []
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if low is not None:
            out.append(lambda x: not isinstance(x, dict) or len(x) >= low)
        if high is not None:
            out.append(lambda x: not isinstance(x, dict) or len(x) <= high)
        if "propertyNames" in schema:
            name = sub(schema["propertyNames"])
            out.append(lambda x: not isinstance(x, dict) or all(name(key) for key in x))
        return out

    @staticmethod
    def _scalar(schema: dict) -> list[Callable[[Any], bool]]:
        out: list[Callable[[Any], bool]] = []

        def number(x: Any) -> bool:
            return isinstance(x, (int, float)) and not isinstance(x, bool)

        bounds: list[tuple[str, Callable[[Any, Any], bool]]] = [
            ("minimum", lambda x, b: x >= b), ("maximum", lambda x, b: x <= b),
            ("exclusiveMinimum", lambda x, b: x > b), ("exclusiveMaximum", lambda x, b: x < b),
        ]
        for keyword, op in bounds:
            if keyword in schema:
                out.append(_bounded(number, op, schema[keyword]))
        if "minLength" in schema:
            low = schema["minLength"]
            out.append(lambda x: not isinstance(x, str) or len(x) >= low)
        if "maxLength" in schema:
            high = schema["maxLength"]
            out.append(lambda x: not isinstance(x, str) or len(x) <= high)
        if "pattern" in schema:
            try:
                regex = re.compile(schema["pattern"])
            except re.error:
                raise Unsupported("pattern") from None
            out.append(lambda x: not isinstance(x, str) or regex.search(x) is not None)
        return out


def _bounded(number: Callable[[Any], bool], op: Callable[[Any, Any], bool], bound: Any) -> Callable[[Any], bool]:
    return lambda x: not number(x) or op(x, bound)


def fast_check(schema: Any) -> Callable[[Any], bool] | None:
    """A "valid?" closure for a self-contained schema (no file ``$ref``), or None when only jsonschema
    can judge it. True is always right; False means "ask jsonschema" (for the explanation)."""
    def load(uri: str) -> Any:
        if uri:
            raise Unsupported(f"$ref to {uri}")
        return schema

    try:
        return FastCompiler(load).ref("#")
    except (Unsupported, KeyError, TypeError, ValueError, IndexError):
        return None
