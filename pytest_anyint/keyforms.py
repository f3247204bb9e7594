"""Every form a key takes in what the plugin writes, so one scan finds it and one scrubber removes it.

A gateway can echo the key it received anywhere, and the plugin stores what it received in several
encodings: text as it came (where the key may be percent-encoded once or twice, in either case, or
written with JSON ``\\uXXXX`` escapes), bodies that are not UTF-8 as ``base64:``, and base64 that
the gateway itself produced (an echoed Basic credential ``user:KEY``). The scanner and the
scrubber share the forms built here, so whatever the scan would refuse, the scrubber has removed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .text import lazy_pattern

#: Text encodings a body may carry the key in (as bytes, or as base64 of those bytes).
TEXT_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
#: Shorter secrets are not looked for in encoded forms: they would match ordinary text.
MIN_SECRET = 8


#: A run of one base64 alphabet (only a text holding an encoded key needs them).
_B64_STD = lazy_pattern(r"[A-Za-z0-9+/]+")
_B64_URL = lazy_pattern(r"[A-Za-z0-9_-]+")


def _hex_any_case(byte: int) -> str:
    return "".join(f"[{h.upper()}{h.lower()}]" if h.isalpha() else h for h in f"{byte:02x}")


def _char_pattern(char: str) -> str:
    """One character of the key: itself, percent-encoded (once or twice, either case), or a JSON
    escape (``\\u002b``, or ``\\/`` for a slash)."""
    options = [re.escape(char)]
    options.append("".join(f"%(?:25)?{_hex_any_case(b)}" for b in char.encode("utf-8")))
    code = ord(char)
    if code <= 0xFFFF:
        options.append("\\\\u" + "".join(f"[{h.upper()}{h.lower()}]" if h.isalpha() else h for h in f"{code:04x}"))
    if char == "/":
        options.append(r"\\/")
    if char == " ":
        options.append(r"\+")
    return "(?:" + "|".join(options) + ")"


def _base64_forms(data: bytes) -> list[str]:
    """The base64 text ``data`` becomes at each of the three byte alignments inside a larger
    payload, keeping only the characters ``data`` alone decides."""
    forms = []
    for pad in range(3):
        padded = b"\0" * pad + data
        encoded = base64.b64encode(padded).decode()
        whole = (len(padded) // 3) * 4  # characters of complete 3-byte groups
        skip = {0: 0, 1: 2, 2: 3}[pad]  # leading characters that depend on what precedes
        form = encoded[skip:whole]
        if len(form) >= MIN_SECRET:
            forms.append(form)
    return forms


class KeyForms(NamedTuple):  # cheap to build at import, immutable: shared through the lru_cache
    """The forms of one secret, built once per secret."""

    secret: str
    #: (base64 text, the encoding of the bytes it stands for, url-safe alphabet?)
    base64: tuple[tuple[str, str, bool], ...]
    #: The key as bytes in each text encoding but UTF-8 (which text handling covers).
    wide: tuple[tuple[bytes, str], ...]

    @property
    def escaped(self) -> re.Pattern[str]:
        """The key with any of its characters escaped (percent, double percent, JSON) or not."""
        return _escaped_pattern(self.secret)

    def plain_or_escaped(self, text: str) -> Iterator[re.Match[str]]:
        if ("%" in text or "\\" in text) and self.maybe_escaped(text):
            yield from self.escaped.finditer(text)
        else:  # the usual text: no escapes, so only the plain key can be there
            start = text.find(self.secret)
            while start >= 0:
                match = self.escaped.match(text, start)
                if match:
                    yield match
                start = text.find(self.secret, start + 1)


    def maybe_escaped(self, text: str) -> bool:
        """A quick necessary condition for an escaped form: the key appears once escapes are undone
        (simple patterns run at C speed; the full pattern is slow on long text with backslashes)."""
        if not self.secret.isascii():
            return True
        if "%" in text:
            text = _percent().sub(lambda m: chr(int(m.group(1), 16)), text)
        if "\\" in text:
            text = _json_escape().sub(lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")
        return self.secret in text


# Compiled on first use: only a text with a "%" or a backslash is unescaped.
_percent = lazy_pattern(r"%(?:25)?([0-9A-Fa-f]{2})")
_json_escape = lazy_pattern(r"\\u([0-9A-Fa-f]{4})")


@functools.lru_cache(maxsize=64)
def _escaped_pattern(secret: str) -> re.Pattern[str]:
    """Compiled on first need (a few ms for a 40-character key): text that holds no form of the
    key, which is all a replay usually sees, never needs it."""
    return re.compile("".join(_char_pattern(c) for c in secret))


@functools.lru_cache(maxsize=64)
def forms_of(secret: str) -> KeyForms:
    b64: dict[str, tuple[str, str, bool]] = {}
    for encoding in TEXT_ENCODINGS:
        for form in _base64_forms(secret.encode(encoding)):
            b64.setdefault(form, (form, encoding, False))
            url = form.replace("+", "-").replace("/", "_")
            b64.setdefault(url, (url, encoding, True))
    wide = tuple((secret.encode(e), e) for e in TEXT_ENCODINGS[1:])
    return KeyForms(secret, tuple(sorted(b64.values(), key=lambda f: -len(f[0]))), wide)


def usable(secrets: Iterable[str], placeholder_key: str | None = None) -> list[KeyForms]:
    return [forms_of(s) for s in secrets if s and len(s) >= MIN_SECRET and s != placeholder_key]


# --------------------------------------------------------------------------- finding


def find(text: str, secrets: Iterable[str], placeholder_key: str | None = None) -> list[tuple[int, str, int]]:
    """(position of the first, how it is written, count) for each form of each secret in ``text``."""
    found = []
    for forms in usable(secrets, placeholder_key):
        kinds: dict[str, list[int]] = {}
        for match in forms.plain_or_escaped(text):
            written = match.group(0)
            how = "" if written == forms.secret else (" (JSON-escaped)" if "\\" in written else " (URL-encoded)")
            kinds.setdefault(how, []).append(match.start())
        for how, positions in kinds.items():
            found.append((positions[0], how, len(positions)))
        positions = [text.find(form) for form, _, _ in forms.base64]
        hits = [p for p in positions if p >= 0]
        if hits:
            count = sum(text.count(form) for form, _, _ in forms.base64)
            found.append((min(hits), " (base64-encoded)", count))
    return found


def contains(text: str, secrets: Iterable[str]) -> bool:
    return bool(find(text, secrets))


def contains_bytes(data: bytes, secrets: Iterable[str]) -> bool:
    """Whether raw bytes hold a key: in any text encoding, or as text in any form."""
    forms = usable(secrets)
    if not forms:
        return False
    if any(wide in data for f in forms for wide, _ in f.wide):
        return True
    return contains(data.decode("latin-1"), secrets)


# --------------------------------------------------------------------------- removing


def scrub_text(text: str, secrets: Iterable[str], placeholder: str) -> str:
    """``text`` with every form of every secret replaced by ``placeholder`` (base64 re-encoded)."""
    for forms in usable(secrets):
        if forms.secret in text or (("%" in text or "\\" in text) and forms.maybe_escaped(text)):
            text = forms.escaped.sub(lambda _: placeholder, text)
        for form, _, _ in forms.base64:
            if form in text:
                text = _scrub_base64(text, form, forms, placeholder)
    return text


#: The shortest piece of a key that a shortened value's cut is taken to have left of it.
MIN_PIECE = 6


def cut_pieces(text: str, secrets: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` that are a key's start just before a ``...`` or its end just after one.

    pytest shortens a long value by cutting out its middle (``saferepr``): when the key sits across
    the cut, neither side holds it whole, so no form of the key matches, yet one side can hold most
    of it (``chain=(Ch...Vb6Nm5Lk4Jh3Gf2Ds1Aa0Pp9Oo8Ii7Uu', headers=...``)."""
    spans: list[tuple[int, int]] = []
    if "..." not in text:
        return spans
    keys = [f.secret for f in usable(secrets)]
    at = text.find("...")
    while at >= 0:
        after = at + 3
        for key in keys:
            for k in range(len(key) - 1, MIN_PIECE - 1, -1):  # the longest piece first
                if text.startswith(key[-k:], after):
                    spans.append((after, after + k))
                    break
            for k in range(len(key) - 1, MIN_PIECE - 1, -1):
                if at >= k and text.startswith(key[:k], at - k):
                    spans.append((at - k, at))
                    break
        at = text.find("...", after)
    return spans


def scrub_cut_pieces(text: str, secrets: Iterable[str], placeholder: str) -> str:
    """``text`` with the pieces ``cut_pieces`` finds replaced by ``placeholder``."""
    spans = sorted(cut_pieces(text, secrets), reverse=True)
    for start, end in spans:
        text = text[:start] + placeholder + text[end:]
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str], placeholder: str) -> bytes:
    """Bytes with the key removed: as UTF-8 text when they are, else per text encoding and as
    Latin-1 text (for base64 or an ASCII key inside binary data). Unchanged bytes are returned as is."""
    forms = usable(secrets)
    if not forms or not data:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        out = data
        for f in forms:
            for wide, encoding in f.wide:
                if wide in out:
                    out = out.replace(wide, placeholder.encode(encoding))
        text = out.decode("latin-1")
        scrubbed = scrub_text(text, secrets, placeholder)
        return out if scrubbed == text else scrubbed.encode("latin-1", "replace")
    scrubbed = scrub_text(text, secrets, placeholder)
    if scrubbed == text:
        # UTF-8 text can still hold UTF-16 code units (e.g. an ASCII-only UTF-16 payload decodes
        # as UTF-8 with NULs): replace those too.
        out = data
        for f in forms:
            for wide, encoding in f.wide:
                if wide in out:
                    out = out.replace(wide, placeholder.encode(encoding))
        return out
    return scrubbed.encode("utf-8")


def _scrub_base64(text: str, form: str, forms: KeyForms, placeholder: str) -> str:
    """Decode each base64 run holding ``form``, replace the key inside, encode again; where a run
    does not decode to the key, the run's key part is replaced outright."""
    url_safe = "-" in form or "_" in form
    run_pattern = (_B64_URL if url_safe else _B64_STD)()
    position = text.find(form)
    while position >= 0:
        if not url_safe:  # a form without + / - _ fits both alphabets: the run tells which
            after = text[position + len(form):position + len(form) + 80]
            url_safe = bool(re.match(r"[A-Za-z0-9]*[-_]", after))
            run_pattern = (_B64_URL if url_safe else _B64_STD)()
        start = position
        while start > 0 and run_pattern.fullmatch(text[start - 1]):
            start -= 1
        run = run_pattern.match(text, start)
        assert run is not None
        end = run.end()
        padding = len(text[end:end + 2]) - len(text[end:end + 2].lstrip("="))
        replaced = _reencode(text[start:end], forms, placeholder, url_safe, (end - start + padding) % 4 == 0)
        if replaced is None:
            replaced = text[start:position] + placeholder + text[position + len(form):end]
        text = text[:start] + replaced + text[end + padding:]
        position = text.find(form)
    return text


def _reencode(run: str, forms: KeyForms, placeholder: str, url_safe: bool, padded: bool) -> str | None:
    for shift in range(4):
        body = run[shift:]
        body = body[: len(body) - len(body) % 4] if len(body) % 4 == 1 else body
        try:
            data = (base64.urlsafe_b64decode if url_safe else base64.b64decode)(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            continue
        for encoding in TEXT_ENCODINGS:
            key = forms.secret.encode(encoding)
            if key in data:
                data = data.replace(key, placeholder.encode(encoding))
                encoded = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode()
                return run[:shift] + (encoded if padded else encoded.rstrip("=")) + run[shift + len(body):]
    return None
