"""A gateway that echoes the key in any encoding stays recordable, and the key lands nowhere.

A small loopback gateway answers each request with the key it received written one way: base64
of UTF-16 text (a body stored as ``base64:``), base64 at an offset (an echoed Basic credential
``user:KEY``), lower-case and double percent-encoding, JSON ``\\uXXXX`` escapes, and the HTTP
reason phrase. Each is recorded end to end with the key set; the cassette then holds the
placeholder where the key was, and neither the cassette, the parse cache under ``.pytest_cache``
nor ``pytest-anyint check`` finds the key. The detector here decodes on its own, independently of
the plugin's scanner.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_anyint import cassettes, keyforms, parsecache

#: Invented for these tests, not a real key; not key-shaped, and with characters that
#: percent-encoding and JSON escaping change.
KEY = "test-only-Z8+y7/X6=w5-" + "q4" * 9
PLACEHOLDER = "<ANYINT_API_KEY>"
TEXT_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-16", "utf-32")


def _chat(content: str) -> dict:
    return {
        "id": "chatcmpl-echo", "object": "chat.completion", "created": 1755781234, "model": "gpt-5-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }


def _answer(form: str, key: str) -> tuple[int, str, dict[str, str], bytes]:
    """(status, reason, headers, body) echoing ``key`` in ``form``."""
    json_type = {"content-type": "application/json"}
    if form == "utf16":
        body = json.dumps(_chat(f"your key is {key}")).encode("utf-16")  # with a BOM: not UTF-8
        return 200, "OK", {"content-type": "application/octet-stream"}, body
    if form == "basic":
        credential = "Basic " + base64.b64encode(f"user:{key}".encode()).decode()
        return 200, "OK", {**json_type, "x-echo-auth": credential}, json.dumps(_chat(credential)).encode()
    if form == "percent-lower":
        quoted = re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(key, safe=""))
        return 200, "OK", json_type, json.dumps(_chat(f"https://x.test/cb?key={quoted}")).encode()
    if form == "percent-double":
        quoted = urllib.parse.quote(urllib.parse.quote(key, safe=""), safe="")
        return 200, "OK", {**json_type, "location": f"/cb?key={quoted}"}, json.dumps(_chat(f"next: /cb?key={quoted}")).encode()
    if form == "json-escape":
        escaped = "".join(f"\\u{ord(c):04x}" if not c.isalnum() else c for c in key)
        return 200, "OK", json_type, json.dumps(_chat("KEY")).replace('"KEY"', f'"{escaped}"').encode()
    if form == "reason":
        return 401, f"Invalid key {key}", json_type, b'{"error": {"message": "unauthorized", "type": "auth"}}'
    raise AssertionError(form)


FORMS = ("utf16", "basic", "percent-lower", "percent-double", "json-escape", "reason")


class _EchoingGateway(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._reply(200, "OK", {"content-type": "application/json"}, b'{"object":"list","data":[]}')

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        form = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("form", ["basic"])[0]
        self._reply(*_answer(form, key))

    def _reply(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status, reason)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


APP = '''
import pytest

@pytest.mark.parametrize("form", {forms!r}, ids={forms!r})
@pytest.mark.route("extract", models="primary")
def test_echo(anyint_route, form):
    with anyint_route.client() as client:
        response = client.post("/chat/completions", params={{"form": form}},
                               json={{"model": anyint_route.model, "messages": [{{"role": "user", "content": "hi"}}]}})
    assert response.status_code == (401 if form == "reason" else 200)
'''


# --------------------------------------------------------------------------- an independent detector


def _decoded_texts(data: bytes) -> list[str]:
    """``data`` read as each text encoding, then with percent-encoding (twice) and JSON escapes undone."""
    texts = []
    for encoding in TEXT_ENCODINGS + ("latin-1",):
        for start in (0, 1):  # two-byte code units may start at either byte
            texts += _undone(data[start:].decode(encoding, "ignore"))
    return texts


def _undone(text: str) -> list[str]:
    unquoted = urllib.parse.unquote(urllib.parse.unquote(text))
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")
    return [text, unquoted, unescaped]


def _base64_payloads(text: str) -> Iterator[bytes]:
    for run in re.findall(r"[A-Za-z0-9+/_-]{12,}", text):
        for shift in range(4):
            piece = run[shift:]
            piece = piece[: len(piece) - len(piece) % 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    yield decode(piece)
                except (binascii.Error, ValueError):
                    pass


def holds_key(data: bytes, key: str = KEY) -> bool:
    for text in _decoded_texts(data):
        if key in text:
            return True
        for payload in _base64_payloads(text):
            if any(key in t for t in _decoded_texts(payload)):
                return True
    return False


def test_the_detector_sees_every_form_the_gateway_writes():
    for form in FORMS:
        status, reason, headers, body = _answer(form, KEY)
        assert holds_key((reason + json.dumps(headers)).encode() + body), form
    assert not holds_key(json.dumps(_chat("nothing here")).encode())


# --------------------------------------------------------------------------- end to end


def test_a_key_echoed_in_any_encoding_is_recorded_as_the_placeholder(project, gateway, monkeypatch, capsys):
    project.config(f"version: 1\ngateway: {{base_url: '{gateway}'}}\nroutes:\n  extract: {{family: openai, primary: gpt-5-mini}}\n")
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(test_app=APP.format(forms=list(FORMS)))
    recorded = project.pytester.runpytest("--anyint-record=once", "--no-anyint-check-models", "--anyint-contracts=off",
                                          "-p", "no:randomly")
    recorded.assert_outcomes(passed=len(FORMS))  # every echo was recordable: nothing refused the save
    terminal = recorded.stdout.str() + recorded.stderr.str()
    assert not holds_key(terminal.encode())

    files = {form: project.cassette(f"test_app/test_echo/extract/gpt-5-mini__{form}.yaml") for form in FORMS}
    for form, path in files.items():
        raw = path.read_bytes()
        assert not holds_key(raw), f"the key reached the {form} cassette"
    # The placeholder stands where each echo was, in the echo's own encoding.
    stored = {form: cassettes.read_cassette(path, ())["interactions"][0]["response"] for form, path in files.items()}
    assert f"your key is {PLACEHOLDER}" in stored["utf16"]["body"]["string"].decode("utf-16")
    echoed_auth = stored["basic"]["headers"]["x-echo-auth"][0]
    assert base64.b64decode(echoed_auth.removeprefix("Basic ") + "==") == f"user:{PLACEHOLDER}".encode()
    assert f"?key={PLACEHOLDER}" in stored["percent-lower"]["body"]["string"].decode()
    assert stored["percent-double"]["headers"]["location"] == [f"/cb?key={PLACEHOLDER}"]
    assert json.loads(stored["json-escape"]["body"]["string"])["choices"][0]["message"]["content"] == PLACEHOLDER
    assert stored["reason"]["status"] == {"code": 401, "message": f"Invalid key {PLACEHOLDER}"}

    # Replay (with the key still in the environment, as on a developer's machine) reads them back
    # through the parse cache, which holds no key either.
    replayed = project.replay("-p", "no:randomly", "--anyint-contracts=off")
    replayed.assert_outcomes(passed=len(FORMS))
    cache = project.root / ".pytest_cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and "parsed-" in str(p)]
    names = [n for folder in cache.rglob("parsed-*") for n in parsecache.entry_names(folder)]
    assert any(n.startswith("cassette-") for n in names), "replay wrote no parse-cache entries to look at"
    for entry in entries:
        assert not holds_key(entry.read_bytes()), f"the key reached the parse cache ({entry.name})"

    # pytest-anyint check agrees: no secret in any cassette.
    from pytest_anyint.cli import main

    monkeypatch.chdir(project.root)
    capsys.readouterr()
    main(["check", "cassettes"])  # (the echoing answers break the chat contract: only secrets matter here)
    out = capsys.readouterr().out
    assert f"checked {len(FORMS)} cassette(s)" in out and "secret" not in out

    # ... and it does see a key written in one of these forms (a cassette from before the fix).
    old = files["utf16"]
    old.write_text(old.read_text().replace(
        base64.b64encode(json.dumps(_chat(f"your key is {PLACEHOLDER}")).encode("utf-16")).decode(),
        base64.b64encode(json.dumps(_chat(f"your key is {KEY}")).encode("utf-16")).decode(),
    ))
    assert holds_key(old.read_bytes())
    main(["check", "cassettes"])
    assert "secret: the value of $ANYINT_API_KEY (base64-encoded)" in capsys.readouterr().out


@pytest.mark.parametrize("form", FORMS)
def test_the_scan_finds_each_encoding_and_the_scrubber_removes_what_it_finds(form):
    status, reason, headers, body = _answer(form, KEY)
    text = reason + "\n" + json.dumps(headers) + "\n" + (
        base64.b64encode(body).decode() if form == "utf16" else body.decode()
    )
    assert cassettes.scan_secrets(text, [KEY]), f"the scan missed the {form} echo"
    scrubbed = cassettes.scrub_text(text, [KEY], PLACEHOLDER)
    assert cassettes.scan_secrets(scrubbed, [KEY]) == [] and not holds_key(scrubbed.encode())
    assert holds_key(scrubbed.encode(), PLACEHOLDER)  # the placeholder stands where the key was
    assert not holds_key(cassettes.scrub_bytes(body, [KEY], PLACEHOLDER))


def test_a_cassette_holding_the_key_never_reaches_the_parse_cache(tmp_path):
    """An old cassette (recorded before a scrubbing fix, or by hand) is read, but never copied into
    ``.pytest_cache`` while the session knows the key."""
    utf16 = base64.b64encode(f"echo {KEY}".encode("utf-16")).decode()
    cassette = tmp_path / "c.yaml"
    cassette.write_text(
        "interactions:\n- request: {method: GET, uri: 'https://gateway.api.anyint.ai/openai/v1/models', headers: {}, "
        "body: {string: ''}}\n  response: {status: {code: 200, message: OK}, headers: {}, body: {base64: " + utf16 + "}}\n"
        "version: 1\n"
    )
    parsecache.use(tmp_path / "cache")
    try:
        parsecache.forget()
        cassettes.read_cassette(cassette, (KEY,))
        parsecache.forget()  # the run's end: what it parsed is written
        assert not [n for f in (tmp_path / "cache").glob("parsed-*") for n in parsecache.entry_names(f)]
        cassettes.read_cassette(cassette, ())  # no key known: nothing to keep out
        parsecache.forget()
        assert [n for f in (tmp_path / "cache").glob("parsed-*") for n in parsecache.entry_names(f)]
    finally:
        parsecache.use(None)
        parsecache.forget()


def test_scrubbing_keeps_bodies_without_the_key_byte_for_byte():
    body = json.dumps(_chat("a\\nb %41 \\u0041 dXNlcjpwYXNz")).encode()
    assert cassettes.scrub_bytes(body, [KEY], PLACEHOLDER) is body
    assert keyforms.find(body.decode(), [KEY]) == []
