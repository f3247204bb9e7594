"""Cassettes: where they live, how they read for review, how they match, and how they are saved.

vcrpy is the cassette engine (``Cassette``, its request model, matchers and record modes); this
module supplies what vcrpy lets a user plug in: a serializer that writes bodies as structured
``json:``, raw ``sse:`` events or ``string:``, a persister that scans for secrets and writes
atomically, and matchers that compare JSON bodies semantically.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import keyforms, parsecache, sse
from ..families import PLACEHOLDER_KEY, family_for_path
from ..text import clip, model_slug, one_line, remove_stale_temporaries, write_atomic
from ..yamlsafe import AliasError, refuse_aliases

if TYPE_CHECKING:
    import datetime as _dt

CASSETTE_VERSION = 1

#: Request headers whose values never reach a cassette, and what replaces them.
SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "proxy-authorization")
SECRET_RESPONSE_HEADERS = ("set-cookie",)
#: Request headers worth keeping for review and matching; SDK telemetry (user-agent, x-stainless-*)
#: would only make every re-record a noisy diff.
KEPT_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    *SECRET_HEADERS,
)
SECRET_QUERY_PARAMS = ("key", "api_key", "apikey")
#: Hop-by-hop and encoding headers that stop being true once a body is stored decoded.
_DROPPED_RESPONSE_HEADERS = ("content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive")



class CassetteError(Exception):
    """A cassette that cannot be used, as one line naming the file and the cause."""


class SecretLeakError(CassetteError):
    """A new cassette would contain a secret; the old one was left untouched."""


# --------------------------------------------------------------------------- paths


def is_cassette_name(name: str) -> bool:
    """A cassette file name: ``*.yaml`` or ``*.yml``, not hidden (temporary files start with a dot)."""
    return name.endswith((".yaml", ".yml")) and not name.startswith(".")


def iter_cassettes(directory: Path) -> Iterator[Path]:
    """Every cassette under a directory, in a stable order, skipping hidden folders."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_cassette_name(name):
                yield Path(root) / name


def cassette_path(
    cassette_dir: Path,
    module_path: str,
    test_name: str,
    route: str,
    leaf: str,
    other_params: str | None = None,
) -> Path:
    """``<dir>/<module path>/<Class.test>/<route>/<leaf>[__<other param id>].yaml``.

    ``leaf`` is the model slug for a per-model case and ``fault-<kind>`` for a fault case, so
    promoting a fallback to primary renames no cassette.
    """
    name = leaf + (f"__{model_slug(other_params)}" if other_params else "")
    # One Path from a joined string: the same path as joining Paths, at a fraction of the cost.
    return Path(os.path.join(cassette_dir, module_path, model_slug(test_name), model_slug(route), f"{name}.yaml"))


@functools.lru_cache(maxsize=4096)
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


def canonical_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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


# --------------------------------------------------------------------------- serializer


@functools.cache
def _dumper() -> Any:
    """Safe YAML, with multi-line strings (SSE events, prose) as readable block scalars (built on
    the first save: a replay never saves)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a value used twice is written twice: cassettes never hold aliases

    def represent_str(dumper: Any, value: str) -> Any:
        if "\n" in value and "\r" not in value and not value.endswith(" "):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, represent_str)
    return Dumper


class CassetteSerializer:
    """vcrpy serializer: structured, reviewable cassettes with a metadata block on top."""

    @staticmethod
    def serialize(cassette_dict: Mapping[str, Any]) -> str:
        import yaml

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
        return yaml.dump(document, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        return parse_cassette_text(text, source="cassette")


# --------------------------------------------------------------------------- fast YAML
#
# A cassette is mostly plain scalars; PyYAML's C parser is quick but its Python constructor and
# resolver cost ~0.35 ms per small cassette, most of the 5 s budget for 10,000 interactions. The
# same C parser with a memoised resolver and a direct constructor for plain maps, lists and
# strings halves that; anything unusual (merge keys, custom tags) goes the ordinary way.

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
    """``yaml.load(text, CSafeLoader)``, about twice as fast on cassettes; same result, same errors.

    The one YAML reader for cassettes: replay, ``pytest-anyint check`` and drift all read with it.
    """
    loader = _fast_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        refuse_aliases(node)  # before anything is built: expanding aliases is unbounded
        return _builder(loader)(node)
    finally:
        loader.dispose()


def parse_cassette_text(text: str, *, source: str) -> dict[str, Any]:
    """Parse a cassette into vcrpy's dict form (bodies as bytes), or raise one CassetteError line."""
    import yaml

    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteError(f"{source}{where}: not valid YAML (truncated or corrupt?): {one_line(problem)}") from None
    except RecursionError:
        raise CassetteError(f"{source}: not a pytest-anyint cassette (nested too deeply to read)") from None
    except AliasError as exc:
        where = f", repeating the value anchored at line {exc.line}" if exc.line else ""
        raise CassetteError(
            f"{source}: uses a YAML alias (*name{where}): pytest-anyint cassettes never need anchors or aliases, "
            f"and expanding them can turn a small file into gigabytes; re-record it or write the value out in full"
        ) from None
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
    status = raw_response.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        raise CassetteError(f"response.status.code must be an HTTP status (100-599), got {code!r} {_FOREIGN}")
    message = status.get("message")
    response = dict(raw_response)
    response["status"] = {"code": code, "message": message if isinstance(message, str) else ""}
    response["body"] = {"string": decode_body(raw_response.get("body"))}
    response["headers"] = _replay_headers(
        _checked_headers(raw_response.get("headers"), "response"), len(response["body"]["string"]), code
    )
    if not isinstance(response.get("timing") or {}, dict):
        response.pop("timing")
    return {"request": request, "response": response}


def _checked_headers(headers: Any, part: str) -> dict[str, Any]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise CassetteError(f"{part}.headers must be a mapping, got {type(headers).__name__} {_FOREIGN}")
    out: dict[str, Any] = {}
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(name, str) or not name.isascii() or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
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


# --------------------------------------------------------------------------- persister


def _is_parsed_cassette(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("interactions"), list)


def read_cassette(path: Path, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """A cassette file in vcrpy's dict form, parsed once per content (``parsecache``).

    A cassette holding one of ``secrets`` (in any form, base64 bodies included; pass the session's
    keys) is parsed but never stored in the parse cache. The result is shared: callers must not
    mutate it.
    """
    try:
        raw = parsecache.read_file(path)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise CassetteError(f"{path}: is a directory, not a cassette file; remove or rename that directory") from None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read: {exc.strerror}") from None

    def parse(raw: bytes) -> dict[str, Any]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CassetteError(f"{path}: not UTF-8 text: not a pytest-anyint cassette") from None
        return parse_cassette_text(text, source=str(path))

    def keep(raw: bytes) -> bool:
        return not (secrets and keyforms.contains_bytes(raw, secrets))

    return parsecache.parsed(raw, "cassette", parse, _is_parsed_cassette, keep if secrets else None)


class CassettePersister:
    """vcrpy persister: cached loads, secret scan before the write, atomic rename.

    One per case (vcrpy calls its methods on the object it was given), so what it must know comes
    with it instead of from state shared by every session of the process.
    """

    def __init__(self, known_secrets: Sequence[str] = (), refresh_older_than: _dt.timedelta | None = None) -> None:
        #: Secrets (the real key) the scan must never find in a new cassette, nor the parse cache keep.
        self.known_secrets = tuple(known_secrets)
        #: ``--anyint-max-age``: an unchanged re-recording is still written (its ``recorded_at``
        #: refreshed) when the file's own ``recorded_at`` is older than this.
        self.refresh_older_than = refresh_older_than

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> tuple[list[Any], list[Any], dict[str, Any]]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.request import Request

        path = Path(cassette_path)
        try:
            data = read_cassette(path, self.known_secrets)
        except FileNotFoundError:
            raise CassetteNotFoundError() from None
        requests = [Request._from_dict(dict(i["request"])) for i in data["interactions"]]
        responses = [_copy_response(i["response"]) for i in data["interactions"]]
        return requests, responses, dict(data["metadata"])

    def save_cassette(self, cassette_path: str | Path, cassette_dict: Mapping[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        text = serialize(cassette_dict, serializer)
        leaks = scan_secrets(text, self.known_secrets) or _leaks_in_values(text, self.known_secrets)
        if leaks:
            raise SecretLeakError(
                f"{path}: not saved: the new recording contains {leaks[0]}; the previous cassette was left untouched"
            )
        if _unchanged(path, text, self.refresh_older_than):
            # Only volatile parts differ (recorded_at, timings, request ids): keep the file's bytes.
            remove_stale_temporaries(Path(os.path.realpath(path)))
            return
        try:
            write_atomic(path, text)
        except OSError as exc:
            raise CassetteError(f"{path}: not saved: {write_error_cause(exc, path)}") from None


class _LoadedResponse(dict):  # type: ignore[type-arg]
    """A response read from a cassette. vcrpy deep-copies every response it loads; this one's
    mappings are copied already and its leaves (bytes, strings, numbers, header lists nobody
    mutates) are shared with the parse cache by design, so a copy of the mappings is as safe and
    several times cheaper (it is paid per interaction per test)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _LoadedResponse:
        return _copy_response(self)


def _copy_response(response: Mapping[str, Any]) -> dict[str, Any]:
    # Responses are shared through the parse cache; vcrpy must not mutate the cached one.
    return _LoadedResponse(
        {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in response.items()
        }
    )


def _unchanged(path: Path, text: str, refresh_older_than: Any = None) -> bool:
    """Whether the cassette at ``path`` records what ``text`` does, apart from volatile parts (and,
    with ``refresh_older_than``, its ``recorded_at`` is not older than that)."""
    from .. import volatile

    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if old == text:
        return True
    try:
        old_document = load_yaml(old)
        if refresh_older_than is not None:
            import datetime as _dt

            from ..text import parse_utc_stamp as parse_recorded_at

            recorded = parse_recorded_at((old_document.get("metadata") or {}).get("recorded_at"))
            if recorded is None or _dt.datetime.now(_dt.timezone.utc) - recorded > refresh_older_than:
                return False  # re-verified: the age check must see the new recorded_at
        return volatile.stable_view(old_document) == volatile.stable_view(load_yaml(text))
    except Exception:  # noqa: BLE001 - an unreadable old file is simply replaced
        return False


def _leaks_in_values(text: str, secrets: Sequence[str]) -> list[str]:
    """The key inside a stored value that YAML wrote in a form the text scan cannot see whole
    (a long double-quoted string folded over lines, an escape), found by reading the text back."""
    if not keyforms.usable(secrets, PLACEHOLDER_KEY):
        return []
    values: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            values.append(node)
        elif isinstance(node, bytes):
            values.append(node.decode("latin-1"))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(load_yaml(text))
    if any(keyforms.contains(value, secrets) for value in values):
        return ["the configured key (inside a stored value)"]
    return []


def write_error_cause(exc: OSError, path: Path) -> str:
    """Why a file could not be written, in words (not an exception class name)."""
    import errno

    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR or (path.is_dir() and not path.is_symlink()):
        return "the cassette path is a directory; remove or rename that directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: the folder {path.parent} (or the file) is not writable"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "no space left on the device (disk full or quota reached)"
    if exc.errno == errno.EFBIG:
        return "the file is larger than this process may write (file size limit)"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the folder path is a file, not a folder"
    return exc.strerror or str(exc)


# --------------------------------------------------------------------------- secrets


def secret_forms(secret: str) -> list[str]:
    """A secret as it may appear in text: plain, URL-encoded, base64 (alone and in Basic auth).

    The simple forms only (for callers that look for them by substring); scanning and scrubbing
    cover every form (``keyforms``).
    """
    if not secret:
        return []
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return sorted(forms, key=len, reverse=True)


#: (literal start, pattern matched there, characters that may not precede it, description):
#: finding the literal with str.find first keeps a clean 12 KB cassette under 10 µs.
_WORDISH = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_KEY_SHAPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("sk-", re.compile(r"sk-[A-Za-z0-9_-]{16,}"), "an sk-… key-shaped string"),
    ("Bearer", re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{20,}"), "a Bearer token"),
    ("AIza", re.compile(r"AIza[0-9A-Za-z_-]{30,}"), "a Google API key (AIza…)"),
)


def _shaped(text: str, needle: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    position = text.find(needle)
    while position >= 0:
        if position == 0 or text[position - 1] not in _WORDISH:
            match = pattern.match(text, position)
            if match:
                yield match
        position = text.find(needle, position + 1)


#: Words that mark a scrubbed or made-up value, never a live key.
_BENIGN = ("placeholder", "redacted", "scrubbed", "dummy", "example", "xxxxxxxx", "anyint_api_key")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def scan_secrets(text: str, known_secrets: Sequence[str] = ()) -> list[str]:
    """What secret-looking things a text holds, described WITHOUT echoing them.

    Known secrets (the configured key) are found plain, percent-encoded (once or twice, either
    case), JSON-escaped, and base64-encoded from any text encoding at any alignment; key-shaped strings are ``sk-…`` (16+ chars), ``Bearer`` + 20+ token chars and
    Google ``AIza…`` keys, except obvious placeholders such as ``<ANYINT_API_KEY>``.
    """
    found: list[str] = []
    for position, how, count in keyforms.find(text, known_secrets, PLACEHOLDER_KEY):
        more = f" (and {count - 1} more)" if count > 1 else ""
        found.append(f"the configured key{how} at line {_line_of(text, position)}{more}")
    for needle, pattern, description in _KEY_SHAPES:
        lines = []
        for match in _shaped(text, needle, pattern):
            token = match.group(0).lower()
            if any(word in token for word in _BENIGN) or PLACEHOLDER_KEY in token:
                continue
            lines.append(_line_of(text, match.start()))
        if lines:
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            found.append(f"{description} at line {lines[0]}{more}")
    return found


def scrub_text(text: str, secrets: Iterable[str], placeholder: str) -> str:
    """``text`` with every form of every secret (plain, escaped, base64) replaced by ``placeholder``."""
    return keyforms.scrub_text(text, secrets, placeholder)


def scrub_bytes(data: bytes, secrets: Iterable[str], placeholder: str) -> bytes:
    """A body with every form of every secret replaced, whatever its text encoding."""
    return keyforms.scrub_bytes(data, secrets, placeholder)


def scrub_report(report: Any, secrets: Sequence[str], placeholder: str) -> None:
    """Replace the key in a pytest report's failure text and captured sections, in place."""
    def leaks(text: str) -> bool:
        return keyforms.contains(text, secrets)

    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        if leaks(str(longrepr[2])):
            report.longrepr = (longrepr[0], longrepr[1], scrub_text(str(longrepr[2]), secrets, placeholder))
    elif longrepr is not None:
        text = str(longrepr)
        if leaks(text):
            report.longrepr = scrub_text(text, secrets, placeholder)
    sections = getattr(report, "sections", None)
    if sections and any(leaks(content) for _, content in sections):
        report.sections = [(title, scrub_text(content, secrets, placeholder)) for title, content in sections]
    reason = getattr(report, "wasxfail", None)
    if isinstance(reason, str) and leaks(reason):
        report.wasxfail = scrub_text(reason, secrets, placeholder)


def scrub_url(url: str, secrets: Iterable[str], placeholder: str) -> str:
    if "?" not in url:  # no query: nothing to parse (the usual gateway request)
        return scrub_text(url, secrets, placeholder)
    parts = urllib.parse.urlsplit(url)
    if parts.query:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query = urllib.parse.urlencode(
            [(k, placeholder if k.lower() in SECRET_QUERY_PARAMS else v) for k, v in pairs], safe="<>"
        )
        url = urllib.parse.urlunsplit(parts._replace(query=query))
    return scrub_text(url, secrets, placeholder)


# --------------------------------------------------------------------------- matching


def json_path_matchers(paths: Sequence[str]) -> list[list[str]]:
    """``$.messages[0].content`` / ``metadata.run_id`` → key lists; ``*`` matches any key or index."""
    out = []
    for path in paths:
        path = path.removeprefix("$").removeprefix(".")
        out.append([p for p in re.split(r"\.|\[|\]", path) if p])
    return out


def _drop_paths(value: Any, paths: list[list[str]]) -> Any:
    if not paths:
        return value
    value = json.loads(json.dumps(value))  # a private copy
    for parts in paths:
        _drop(value, parts)
    return value


def _drop(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else ([head] if head in node else [])
        for key in keys:
            if rest:
                _drop(node[key], rest)
            else:
                node[key] = "<ignored>"
    elif isinstance(node, list):
        indexes = range(len(node)) if head == "*" else ([int(head)] if head.isdigit() and int(head) < len(node) else [])
        for index in indexes:
            if rest:
                _drop(node[index], rest)
            else:
                node[index] = "<ignored>"


def _body_value(request: Any) -> Any:
    body = request.body
    memo = getattr(request, "_anyint_body", None)
    if memo is not None and memo[0] is body:  # a recording is compared with several requests
        return memo[1]
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw:
        value = None
    else:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            value = raw
    try:
        request._anyint_body = (body, value)
    except AttributeError:
        pass
    return value


def make_body_matcher(match_ignore: Sequence[str]) -> Any:
    """A vcrpy matcher: JSON bodies equal as values (key order ignored, ignored paths skipped)."""
    paths = json_path_matchers(match_ignore)

    def json_body(r1: Any, r2: Any) -> None:
        if r1.body == r2.body:  # the same bytes are the same JSON (the usual case: both canonical)
            return
        a, b = _body_value(r1), _body_value(r2)
        if isinstance(a, (dict, list)) and isinstance(b, (dict, list)):
            a, b = _drop_paths(a, paths), _drop_paths(b, paths)
        if a != b:
            raise AssertionError(describe_body_difference(a, b))

    return json_body


def describe_body_difference(live: Any, recorded: Any, limit: int = 3) -> str:
    """Where two JSON bodies differ, as ``path: live != recorded`` (the first few)."""
    diffs: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(diffs) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if key not in a:
                    diffs.append(f"{where}.{key}: missing (recorded {clip(b[key])})")
                elif key not in b:
                    diffs.append(f"{where}.{key}: {clip(a[key])} (not in the recording)")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            shown_a, shown_b = _difference_window(_dumped(a), _dumped(b))
            diffs.append(f"{where or '$'}: {shown_a} (recorded {shown_b})")

    walk(live, recorded, "$")
    return "; ".join(diffs) or "bodies differ"


def _dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else repr(value)


def _difference_window(a: str, b: str, limit: int = 60, before: int = 24) -> tuple[str, str]:
    """Both texts cut to a window around their first difference (``…`` where cut), so a long
    prompt that differs near its end shows the difference, not the shared start."""
    if len(a) <= limit and len(b) <= limit:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, first - before)

    def cut(text: str) -> str:
        piece = text[start : start + limit]
        return ("…" if start > 0 else "") + piece + ("…" if start + limit < len(text) else "")

    return cut(a), cut(b)


def auth_header_names(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same auth form (``Family.auth_forms``), so a wrong header style never replays."""
    family = family_for_path(r1.path)
    if family is None:
        return
    form1 = family.auth_form({k.lower() for k in r1.headers})
    form2 = family.auth_form({k.lower() for k in r2.headers})
    if form1 != form2:
        names1 = sorted(form1.headers) if form1 else []
        names2 = sorted(form2.headers) if form2 else []
        raise AssertionError(f"auth headers {names1} != recorded {names2}")


_MATCHERS: dict[tuple[str, ...], tuple[Any, ...]] = {}


def match_on(match_ignore: Sequence[str]) -> tuple[Any, ...]:
    """The matchers of a route: method, path, query, JSON body, auth header names (never the host).

    Built once per ``match_ignore`` (every case of a route asks for the same ones).
    """
    key = tuple(match_ignore)
    found = _MATCHERS.get(key)
    if found is None:
        from vcr import matchers

        found = (matchers.method, matchers.path, matchers.query, make_body_matcher(key), auth_header_names)
        _MATCHERS[key] = found
    return found


def record_mode(mode: str) -> Any:
    from vcr.record_mode import RecordMode

    return {
        "none": RecordMode.NONE,
        "once": RecordMode.ONCE,
        "new_episodes": RecordMode.NEW_EPISODES,
        "rewrite": RecordMode.ALL,
    }[mode]
