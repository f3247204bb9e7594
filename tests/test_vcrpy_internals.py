"""The vcrpy internals the interceptor relies on (pinned to vcrpy 9.4 in pyproject.toml).

If an upgrade of vcrpy breaks one of these, this file says which, instead of a replay failing
somewhere far away.
"""

from __future__ import annotations

from pathlib import Path

import vcr
from vcr.cassette import Cassette
from vcr.record_mode import RecordMode
from vcr.request import Request

from pytest_anyint import cassettes


def _request(body: bytes = b'{"model": "m", "messages": []}') -> Request:
    return Request(
        "POST", "https://gateway.api.anyint.ai/openai/v1/chat/completions", body, {"authorization": "Bearer x"}
    )


def _response(text: bytes = b'{"ok": true}') -> dict:
    return {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["application/json"]}, "body": {"string": text}}


def _cassette(path: Path, mode: RecordMode, load: bool = True) -> Cassette:
    kwargs = dict(
        path=str(path),
        serializer=cassettes.CassetteSerializer,
        persister=cassettes.CassettePersister(),
        record_mode=mode,
        match_on=cassettes.match_on(()),
    )
    return Cassette.load(**kwargs) if load else Cassette(**kwargs)


def test_pinned_version():
    assert vcr.__version__.startswith("9.4."), "pytest-anyint is tested against vcrpy 9.4.x (see pyproject.toml)"


def test_save_with_metadata_and_timing_then_play_in_order(tmp_path):
    path = tmp_path / "c.yaml"
    cassette = _cassette(path, RecordMode.ONCE)
    assert not cassette.rewound and not cassette.write_protected  # a missing file records
    first, second = _response(b'{"n": 1}'), _response(b'{"n": 2}')
    first["timing"] = {"headers_s": 0.1, "total_s": 0.2}
    cassette.append(_request(), first)
    cassette.append(_request(), second)
    cassette._metadata = {"route": "extract"}
    cassette._save(force=True)

    replay = _cassette(path, RecordMode.NONE)
    assert replay.rewound and replay.write_protected
    assert replay._metadata == {"route": "extract"}
    assert replay.can_play_response_for(_request())
    played = [replay.play_response(_request()) for _ in range(2)]
    assert [p["body"]["string"] for p in played] == [b'{"n":1}', b'{"n":2}']  # each recording once, in order
    assert played[0]["timing"] == {"headers_s": 0.1, "total_s": 0.2}
    assert not replay.can_play_response_for(_request())
    assert any(r is played[0] for _, r in replay.data)  # the interceptor finds the interaction number by identity


def test_closest_match_reports_the_failing_matcher(tmp_path):
    path = tmp_path / "c.yaml"
    cassette = _cassette(path, RecordMode.ONCE)
    cassette.append(_request(), _response())
    cassette._save(force=True)
    replay = _cassette(path, RecordMode.NONE)
    other = _request(b'{"model": "other", "messages": []}')
    assert not replay.can_play_response_for(other)
    near = replay.find_requests_with_most_matches(other)
    assert near and near[0][2][0][0] == "json_body" and "other" in near[0][2][0][1]


def test_rewrite_starts_empty_and_keeps_the_old_file_until_saved(tmp_path):
    path = tmp_path / "c.yaml"
    old = _cassette(path, RecordMode.ONCE)
    old.append(_request(), _response(b'{"old": 1}'))
    old._save(force=True)
    before = path.read_text()
    fresh = _cassette(path, RecordMode.ALL, load=False)
    assert len(fresh) == 0 and path.read_text() == before
    fresh.append(_request(), _response(b'{"new": 1}'))
    fresh._save(force=True)
    assert "new: 1" in path.read_text() and "old: 1" not in path.read_text()
