"""Cassettes: the files a run records and replays.

Owns the cassette format (``format``: body forms, YAML dump and load, parsing), where cassettes
live and how they are read and saved (``store``: paths, the folder walk, the cached read, vcrpy's
persister), playback without vcrpy (``playback``: the cassette of a case that only replays), the
secret scan and scrub (``secrets``), request matching (``matching``: vcrpy's matchers plus
JSON-body and auth-form matching, the mismatch description), and stream timing (``timing``: each
event's recorded arrival, the time to the first answer text, paced replay). The names other
packages use are re-exported here, so a caller writes ``from ..cassettes import read_cassette``.

vcrpy is imported only when recording (record modes, the persister), never when this package is
imported and never by a replay.

May import: the standard library, third-party libraries (vcrpy, PyYAML) and the ground modules
(``families``, ``sse``, ``parsecache``, ``keyforms``, ``volatile``, ``yamlsafe``, ``text``);
never another subpackage.
"""

from .format import (
    CASSETTE_VERSION,
    CassetteError,
    CassetteSerializer,
    canonical_json,
    decode_body,
    encode_body,
    header_items,
    header_value,
    load_yaml,
    parse_cassette_text,
)
from .matching import describe_body_difference, json_path_matchers, make_body_matcher, match_on, record_mode
from .playback import PlaybackCassette, RecordedRequest, stored_request
from .secrets import (
    KEPT_REQUEST_HEADERS,
    SECRET_HEADERS,
    SECRET_QUERY_PARAMS,
    SECRET_RESPONSE_HEADERS,
    SecretLeakError,
    scan_secrets,
    scrub_bytes,
    scrub_report,
    scrub_text,
    scrub_url,
    secret_forms,
)
from .store import CassettePersister, cassette_path, is_cassette_name, iter_cassettes, read_cassette, write_error_cause

__all__ = [
    "CASSETTE_VERSION",
    "KEPT_REQUEST_HEADERS",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "SECRET_RESPONSE_HEADERS",
    "CassetteError",
    "CassettePersister",
    "CassetteSerializer",
    "PlaybackCassette",
    "RecordedRequest",
    "SecretLeakError",
    "canonical_json",
    "cassette_path",
    "decode_body",
    "describe_body_difference",
    "encode_body",
    "header_items",
    "header_value",
    "is_cassette_name",
    "iter_cassettes",
    "json_path_matchers",
    "load_yaml",
    "make_body_matcher",
    "match_on",
    "parse_cassette_text",
    "read_cassette",
    "record_mode",
    "scan_secrets",
    "scrub_bytes",
    "scrub_report",
    "scrub_text",
    "scrub_url",
    "secret_forms",
    "stored_request",
    "write_error_cause",
]
