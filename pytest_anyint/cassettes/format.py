"""The cassette format: how a body is stored (``json:``, ``sse:``, ``string:``, ``base64:``), how a
cassette is written as YAML and read back, and how a read cassette is checked into vcrpy's dict form.

Written for review: a JSON body is stored as structured YAML, a stream as its raw events, so a
re-record's diff shows what changed. Read defensively: every field of a stored interaction is
checked, so a truncated, hand-edited or foreign file is one ``CassetteError`` line naming the file,
never a traceback in the middle of a replay.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from .. import sse
from ..text import one_line
from ..yamlsafe import AliasError, has_tag_anchor_or_complex_key, refuse_aliases, rust_loads

CASSETTE_VERSION = 1

#: Hop-by-hop and encoding headers that stop being true once a body is stored decoded.
_DROPPED_RESPONSE_HEADERS = ("content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive")


class CassetteError(Exception):
    """A cassette that cannot be used, as one line naming the file and the cause."""


# --------------------------------------------------------------------------- body forms


def encode_body(raw: bytes | str | None, content_type: str | None) -> dict[str, Any]:
    """A body in its most reviewable lossless form: json, sse, string or base64."""
    if raw is None or raw == b"" or raw == "":
        return {"string": ""}
    if isinstance(raw, str):
        text: str | None = raw
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    assert text is not None
    if sse.is_event_stream(content_type):
        return {"sse": sse.split_raw(text)}
    if content_type is None or "json" in content_type.lower():
        try:
            parsed = json.loads(text)
        except ValueError:
            return {"string": text}
        if isinstance(parsed, (dict, list)):
            # Structured for review; replay serves canonical bytes with a matching length.
            return {"json": parsed}
    return {"string": text}


#: ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` builds this encoder on every
#: call; replay encodes two bodies per test.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def json_value(body: Any) -> tuple[Any] | None:
    """A stored ``json:`` body's value, boxed, when it is exactly what ``json.loads`` reads back
    from its canonical bytes (every key text: JSON turns a YAML key like ``1:`` into ``"1"``);
    otherwise None. Replay hands it to the matchers and the contract check, which would otherwise
    parse the bytes it was just encoded into."""
    if isinstance(body, Mapping) and len(body) == 1 and "json" in body:
        value = body["json"]
        if _text_keys(value):
            return (value,)
    return None


def _text_keys(node: Any) -> bool:
    if type(node) is dict:
        for key, item in node.items():
            if type(key) is not str or ((type(item) is dict or type(item) is list) and not _text_keys(item)):
                return False
        return True
    if type(node) is list:
        for item in node:
            if (type(item) is dict or type(item) is list) and not _text_keys(item):
                return False
        return True
    return type(node) in (str, int, float, bool) or node is None


def decode_body(body: Any) -> bytes:
    """The bytes a stored body stands for; ``json:`` becomes canonical compact JSON."""
    if body is None:
        return b""
    if isinstance(body, (bytes, str)):
        return body.encode("utf-8") if isinstance(body, str) else body
    if not isinstance(body, Mapping) or len(body) != 1:
        raise CassetteError("a body must have exactly one of json, sse, string or base64")
    (form, value), = body.items()
    if form == "json":
        try:
            return canonical_json(value).encode("utf-8")
        except (TypeError, ValueError):
            raise CassetteError("a json body holds a value JSON cannot express (a date, a set, binary?)") from None
    if form == "sse":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CassetteError("an sse body must be a list of raw event strings")
        return "".join(value).encode("utf-8")
    if form == "string":
        if value is None:
            return b""
        if isinstance(value, bytes):  # vcrpy's own cassettes store binary bodies as !!binary
            return value
        if not isinstance(value, str):
            raise CassetteError(f"a string body must be text, got {type(value).__name__}")
        return value.encode("utf-8")
    if form == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            raise CassetteError("a base64 body is not valid base64") from None
    raise CassetteError(f"unknown body form {form!r}: expected json, sse, string or base64")


def header_value(headers: Any, name: str) -> str | None:
    """The first value of a stored header (``name`` in lower case); None when absent.

    Stored headers map a name to a list of values (vcrpy's form) or, hand-edited, to one value.
    """
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return None if value is None else str(value)
    return None


# --------------------------------------------------------------------------- writing YAML

#: The line the writer puts before ``version``: every plain scalar of the file reads the same in
#: YAML 1.1 (PyYAML) and YAML 1.2 (the fast reader), so the fast reader may read it. A comment,
#: so no reader of the format (vcrpy's, another tool's, an older pytest-anyint) sees a change.
SAME_IN_YAML_1_2 = "# every plain scalar reads the same in YAML 1.1 and 1.2\n"
_MARKED_END = f"\n{SAME_IN_YAML_1_2}version: {CASSETTE_VERSION}\n"
#: First characters of the plain scalars YAML 1.2 may read as numbers where YAML 1.1 reads text.
_NUMBER_STARTS = frozenset("0123456789+-._")
#: Characters YAML 1.1 counts as line breaks and YAML 1.2 does not.
_YAML11_BREAKS = re.compile("[\x85\u2028\u2029]")


@functools.cache
def _dumper() -> Any:
    """Safe YAML, with multi-line strings (SSE events, prose) as readable block scalars (built on
    the first save: a replay never saves)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a value used twice is written twice: cassettes never hold aliases

    def represent_str(dumper: Any, value: str) -> Any:
        if _YAML11_BREAKS.search(value):
            # Line breaks to YAML 1.1 only: escaped, so both YAML versions read the same text.
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        if "\n" in value and "\r" not in value and not value.endswith(" "):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        if value[:1] in _NUMBER_STARTS:
            # "09", "1e3", "0o17" are text to YAML 1.1 but numbers to YAML 1.2: quoted, they are
            # text to both (see SAME_IN_YAML_1_2).
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, represent_str)
    return Dumper


def dump_yaml(document: Mapping[str, Any]) -> str:
    """A cassette document as the writer stores it, marked for the fast reader when it can be.

    The mark goes just above ``version``, which stays the last line (its absence is what a cut-off
    file looks like). libyaml closes a document with ``...`` once it holds a block scalar keeping
    its trailing line breaks (every SSE event does); after ``version: 1`` that marker ends nothing,
    so it goes.
    """
    import yaml

    text = yaml.dump(document, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100)
    last = f"version: {CASSETTE_VERSION}\n"
    text = text.removesuffix("\n...\n") + "\n" if text.endswith(f"\n{last}...\n") else text
    return text[: -len(last)] + SAME_IN_YAML_1_2 + last if text.endswith("\n" + last) else text


class CassetteSerializer:
    """vcrpy serializer: structured, reviewable cassettes with a metadata block on top."""

    @staticmethod
    def serialize(cassette_dict: Mapping[str, Any]) -> str:
        interactions = []
        for interaction in cassette_dict.get("interactions", []):
            request = dict(interaction["request"])
            response = dict(interaction["response"])
            request_type = header_value(request.get("headers"), "content-type")
            request["body"] = encode_body(request.get("body"), request_type or "application/json")
            response_type = header_value(response.get("headers"), "content-type")
            body = response.get("body") or {}
            response["body"] = encode_body(body.get("string") if isinstance(body, Mapping) else body, response_type)
            interactions.append({"request": request, "response": response})
        document: dict[str, Any] = {}
        if cassette_dict.get("metadata"):
            document["metadata"] = cassette_dict["metadata"]
        document["interactions"] = interactions
        document["version"] = CASSETTE_VERSION
        return dump_yaml(document)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        return parse_cassette_text(text, source="cassette")


# --------------------------------------------------------------------------- reading YAML
#
# Reading cassettes is most of what a cold replay pays (CI has no parse cache). A file the writer
# marked is read by yaml-rs, three to four times as fast as PyYAML. For every other file, PyYAML's
# C parser is quick but its Python constructor and resolver cost ~0.35 ms per small cassette; the
# same C parser with a memoised resolver and a direct constructor for plain maps, lists and
# strings halves that, and anything unusual (merge keys, custom tags) goes the ordinary way.

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FAST_LOADER: Any = None


def _fast_loader() -> Any:
    global _FAST_LOADER
    if _FAST_LOADER is None:
        import yaml
        from yaml.nodes import ScalarNode

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        cache: dict[str, str] = {}

        class Loader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                # With implicit[0] (a plain scalar) the tag depends on the value alone.
                if kind is ScalarNode and implicit[0]:
                    tag = cache.get(value)
                    if tag is None:
                        tag = base.resolve(self, kind, value, implicit)
                        if len(cache) < 50_000:
                            cache[value] = tag
                    return tag
                return base.resolve(self, kind, value, implicit)

        _FAST_LOADER = Loader
    return _FAST_LOADER


def _builder(constructor: Any) -> Any:
    """A recursive constructor bound to one loader (plain maps, lists and strings built inline)."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    constructors = constructor.yaml_constructors
    fallback = constructor.construct_object

    def build(node: Any) -> Any:
        kind, tag = type(node), node.tag
        if kind is ScalarNode:
            if tag == _STR_TAG:
                return node.value
            construct = constructors.get(tag)
            return construct(constructor, node) if construct else fallback(node, deep=True)
        if kind is MappingNode and tag == _MAP_TAG:
            out = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    return fallback(node, deep=True)
                try:
                    out[build(key_node)] = build(value_node)
                except TypeError:  # an unhashable key: let PyYAML say so
                    return fallback(node, deep=True)
            return out
        if kind is SequenceNode and tag == _SEQ_TAG:
            return [build(item) for item in node.value]
        return fallback(node, deep=True)

    return build


def load_yaml(text: str) -> Any:
    """``yaml.load(text, CSafeLoader)``, three to four times as fast on cassettes this plugin
    wrote; same result, same errors.

    The one YAML reader for cassettes: replay, ``pytest-anyint check`` and drift all read with it.
    A file the writer marked (``SAME_IN_YAML_1_2``) with nothing unusual in it is read by yaml-rs
    (Rust); every other file (older, hand-edited, another tool's), and any file yaml-rs refuses, by
    PyYAML's C parser with a memoised resolver and a direct constructor, which refuses aliases
    before anything is built.
    """
    if text.endswith(_MARKED_END) and not has_tag_anchor_or_complex_key(text):
        fast = rust_loads()
        if fast is not None:
            try:
                return fast(text)
            except Exception:  # noqa: BLE001 - PyYAML reads it again and names the problem
                pass
    return _load_pyyaml(text)


def _load_pyyaml(text: str) -> Any:
    loader = _fast_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # without an anchor there is no alias (an undefined one fails to compose)
            refuse_aliases(node)  # before anything is built: expanding aliases is unbounded
        return _builder(loader)(node)
    finally:
        loader.dispose()


def parse_cassette_text(text: str, *, source: str) -> dict[str, Any]:
    """Parse a cassette into vcrpy's dict form (bodies as bytes), or raise one CassetteError line."""
    try:
        data = load_yaml(text)
    except RecursionError:
        raise CassetteError(f"{source}: not a pytest-anyint cassette (nested too deeply to read)") from None
    except AliasError as exc:
        where = f", repeating the value anchored at line {exc.line}" if exc.line else ""
        raise CassetteError(
            f"{source}: uses a YAML alias (*name{where}): pytest-anyint cassettes never need anchors or aliases, "
            f"and expanding them can turn a small file into gigabytes; re-record it or write the value out in full"
        ) from None
    except Exception as exc:
        import yaml  # only here: a file the fast reader read never needs PyYAML imported

        if not isinstance(exc, yaml.YAMLError):
            raise
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteError(f"{source}{where}: not valid YAML (truncated or corrupt?): {one_line(problem)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{source}: not a pytest-anyint cassette (expected a mapping with 'interactions')")
    version = data.get("version")
    if version is None:
        # The serializer writes ``version`` last, so its absence is what a cut-off file looks like.
        raise CassetteError(
            f"{source}: incomplete cassette: no 'version: {CASSETTE_VERSION}' line, which pytest-anyint writes last "
            f"(the file is truncated or was not written by pytest-anyint); re-record it"
        )
    if version != CASSETTE_VERSION or isinstance(version, bool):
        raise CassetteError(f"{source}: cassette format version {version!r} is not supported (expected {CASSETTE_VERSION})")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CassetteError(f"{source}: metadata must be a mapping, got {type(metadata).__name__}")
    out = []
    for number, interaction in enumerate(data["interactions"], start=1):
        try:
            out.append(_parse_interaction(interaction))
        except CassetteError as exc:
            raise CassetteError(f"{source}: interaction #{number}: {exc}") from None
        except (KeyError, TypeError, AttributeError, ValueError, RecursionError):
            raise CassetteError(
                f"{source}: interaction #{number}: expected request (method, uri, headers, body) and "
                f"response (status, headers, body); this file may come from another tool"
            ) from None
    return {"interactions": out, "metadata": metadata, "version": version}


_FOREIGN = "(this file may come from another tool, or be truncated or hand-edited)"


def _parse_interaction(interaction: Any) -> dict[str, Any]:
    """One stored interaction in vcrpy's form, every field checked so replay never meets a surprise."""
    if not isinstance(interaction, dict):
        raise CassetteError(f"expected a mapping with request and response, got {type(interaction).__name__}")
    for part in ("request", "response"):
        if not isinstance(interaction.get(part), dict):
            raise CassetteError(f"{part} is missing or not a mapping {_FOREIGN}")
    raw_request, raw_response = interaction["request"], interaction["response"]
    for name in ("method", "uri"):
        if not isinstance(raw_request.get(name), str) or not raw_request[name]:
            raise CassetteError(f"request.{name} is missing or not text {_FOREIGN}")
    request = {
        "method": raw_request["method"],
        "uri": raw_request["uri"],
        "body": decode_body(raw_request.get("body")),
        "headers": _checked_headers(raw_request.get("headers"), "request"),
    }
    request_json = json_value(raw_request.get("body"))
    status = raw_response.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        raise CassetteError(f"response.status.code must be an HTTP status (100-599), got {code!r} {_FOREIGN}")
    message = status.get("message")
    response = dict(raw_response)
    response["status"] = {"code": code, "message": message if isinstance(message, str) else ""}
    response["body"] = {"string": decode_body(raw_response.get("body"))}
    response_json = json_value(raw_response.get("body"))
    if response_json is not None:
        # Beside the bytes, for the contract check and the usage; every writer reads "string" only.
        response["body"]["json"] = response_json[0]
    response["headers"] = _replay_headers(
        _checked_headers(raw_response.get("headers"), "response"), len(response["body"]["string"]), code
    )
    if not isinstance(response.get("timing") or {}, dict):
        response.pop("timing")
    if request_json is None:
        return {"request": request, "response": response}
    # Beside the request, not in it: vcrpy builds its Request from the request's own keys.
    return {"request": request, "response": response, "request_json": request_json[0]}


def _checked_headers(headers: Any, part: str) -> dict[str, Any]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise CassetteError(f"{part}.headers must be a mapping, got {type(headers).__name__} {_FOREIGN}")
    out: dict[str, Any] = {}
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        ok = isinstance(name, str) and name.isascii()
        for v in values:  # a loop, not all(...): every header of every cassette passes here
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                ok = False
        if not ok:
            raise CassetteError(f"{part}.headers[{name!r}]: a header must be an ASCII name with text values {_FOREIGN}")
        if values:  # an empty list is a header that is not there
            out[name] = [str(v) for v in values] if isinstance(value, list) else str(value)
    return out


def header_items(headers: Mapping[str, list[str]]) -> list[tuple[str, str | bytes]]:
    """Header pairs httpx accepts: it encodes text values as ASCII, so others go as UTF-8 bytes
    (httpx itself decoded a UTF-8 header to that text when it was recorded)."""
    return [
        (name, value if value.isascii() else value.encode("utf-8", "replace"))
        for name, values in headers.items()
        for value in values
    ]


def _replay_headers(headers: Mapping[str, Any], length: int, status: int) -> dict[str, list[str]]:
    """Headers for replay: stored bodies are decoded, so length and encoding are recomputed, and a
    recorded error never makes an SDK sleep before its retry (retry-after-ms: 1, which the SDKs
    read before retry-after and before their own backoff)."""
    out: dict[str, list[str]] = {}
    for name, values in headers.items():
        lower = name.lower()
        if lower in _DROPPED_RESPONSE_HEADERS:
            continue
        values = values if isinstance(values, list) else [values]
        if lower in ("retry-after", "retry-after-ms"):
            continue
        out[name] = [str(v) for v in values]
    if status >= 400:
        out["retry-after-ms"] = ["1"]
    out["content-length"] = [str(length)]
    return out
