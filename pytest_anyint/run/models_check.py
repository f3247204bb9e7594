"""The Models API check: every configured model ID must be one the gateway lists.

A typo in ``anyint.yaml`` or a model the gateway retired would otherwise surface as a 404 in the
middle of a fallback, in production. The check asks ``GET /openai/v1/models`` (and
``/anthropic/v1/models`` for Anthropic-family models) once per session, records the answers into
``<cassette_dir>/_models/<family>.yaml`` with the same serializer and persister as every other
cassette, and can replay them offline.
"""

from __future__ import annotations

import difflib
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..families import FAMILIES
from ..text import utc_stamp

if TYPE_CHECKING:
    import datetime as _dt

    from ..config import AnyIntConfig
    from .session import AnyIntSession

MODELS_DIR = "_models"
_MAX_PAGES = 20
#: How messages name the lister of a list the bundled emulator answered (kept in the recording).
EMULATOR_LISTER = "the bundled emulator (--anyint-emulator)"


def gateway_check_hint(key_env: str) -> str:
    """What to run when a list came from the emulator, which lists the models anyint.yaml configures."""
    return f"check against the gateway with: pytest-anyint models --record (with ${key_env} set)"


class ModelsCheckError(Exception):
    """The models list could not be obtained (one line: what, where, and what to do)."""


@dataclass(frozen=True)
class Listing:
    """The model IDs one models endpoint lists, and where they came from."""

    family: str
    path: str
    ids: tuple[str, ...]
    source: str
    #: Who answered the list, as messages name it: the gateway, or the bundled emulator.
    lister: str = "the gateway"


def listing_family(model_family: str) -> str:
    """Whose models endpoint lists a model: its own family's when it has one, else OpenAI's (the gateway-wide list)."""
    return model_family if FAMILIES[model_family].models_path else "openai"


def wanted(config: AnyIntConfig) -> dict[str, list[tuple[str, str]]]:
    """Listing family → the (route, model) pairs it must list; routes with ``check_models: false`` skipped."""
    out: dict[str, list[tuple[str, str]]] = {}
    for route in config.routes.values():
        if not route.check_models:
            continue
        for chain_model in route.chain:
            out.setdefault(listing_family(chain_model.family), []).append((route.label, chain_model.model))
    return out


def models_cassette(cassette_dir: Path, family: str) -> Path:
    return Path(cassette_dir) / MODELS_DIR / f"{family}.yaml"


def _display(path: Path, rootdir: Path | None) -> str:
    if rootdir is not None:
        try:
            return str(path.relative_to(rootdir))
        except ValueError:
            pass
    return str(path)


def _ids(body: Any, family: str, where: str) -> list[str]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise ModelsCheckError(f"{where}: expected a models list with data[].id, got {json.dumps(body)[:120]}")
    return [m["id"] for m in data]


# --------------------------------------------------------------------------- live (recording)


def fetch_listing(
    family: str,
    *,
    gateway_url: str,
    api_key: str,
    key_env: str,
    canonical_origin: str,
    cassette_dir: Path,
    save: bool,
    rootdir: Path | None = None,
    timeout_s: float = 30.0,
    transport: Any = None,
    lister: str = "the gateway",
    refresh_older_than: _dt.timedelta | None = None,
) -> Listing:
    """Ask the gateway for a family's models (following pages) and record the exchange(s)."""
    import httpx
    from vcr.cassette import Cassette
    from vcr.request import Request

    from .. import __version__, cassettes

    fam = FAMILIES[family]
    path = fam.models_path
    assert path is not None
    cassette_path = models_cassette(cassette_dir, family)
    cassette = Cassette(
        path=str(cassette_path),
        serializer=cassettes.CassetteSerializer,
        # The scan before the write; with --anyint-max-age, an unchanged list older than that is written anew.
        persister=cassettes.CassettePersister(tuple(s for s in (api_key,) if s), refresh_older_than),
        record_mode=cassettes.record_mode("rewrite"),
        match_on=cassettes.match_on(()),
    )
    placeholder = f"<{key_env}>"
    stored_headers = fam.auth_headers(placeholder)
    ids: list[str] = []
    query: dict[str, str] = {}
    with httpx.Client(base_url=gateway_url.rstrip("/"), headers=fam.auth_headers(api_key), timeout=timeout_s, transport=transport) as client:
        for _ in range(_MAX_PAGES):
            where = f"GET {path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
            try:
                response = client.get(path, params=query or None)
            except httpx.HTTPError as exc:
                raise ModelsCheckError(
                    f"the Models API check could not reach the gateway ({where} at {gateway_url}): {exc.__class__.__name__}: {exc}"
                ) from None
            if response.status_code != 200:
                hint = f": is ${key_env} right?" if response.status_code in (401, 403) else ""
                raise ModelsCheckError(f"the Models API check got HTTP {response.status_code} from {where}{hint}")
            try:
                body = response.json()
            except ValueError:
                raise ModelsCheckError(f"{where}: the gateway answered with a body that is not JSON") from None
            page = _ids(body, family, where)
            fresh = [i for i in page if i not in ids]
            ids += fresh
            uri = canonical_origin.rstrip("/") + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
            cassette.append(
                Request("GET", uri, b"", {k.lower(): v for k, v in stored_headers.items()}),
                {
                    "status": {"code": response.status_code, "message": response.reason_phrase},
                    "headers": {"content-type": [response.headers.get("content-type", "application/json")]},
                    "body": {"string": response.content},
                },
            )
            if not (body.get("has_more") and body.get("last_id")) or not fresh:
                break  # the last page (or a gateway that ignores after_id: no new IDs)
            query = {"after_id": str(body["last_id"])}
    if save:
        cassette._metadata = {  # vcrpy 9.4 keeps metadata here (as session._save does)
            "recorded_at": utc_stamp(),
            "plugin_version": __version__,
            "route": MODELS_DIR,
            "model": f"({family} models list)",
            "family": family,
            "test": "Models API check",
        }
        if lister != "the gateway":  # a replayed check then names who made the list, not "the gateway"
            cassette._metadata["listed_by"] = lister
        try:
            cassette._save(force=True)
        except cassettes.CassetteError as exc:
            raise ModelsCheckError(str(exc)) from None
    return Listing(family, path, tuple(ids), _display(cassette_path, rootdir), lister)


# --------------------------------------------------------------------------- replay


def replay_listing(family: str, cassette_dir: Path, *, rootdir: Path | None = None, record_hint: str = "") -> Listing:
    """The models list recorded in ``_models/<family>.yaml``."""
    from ..cassettes import CassetteError, read_cassette

    path = FAMILIES[family].models_path
    assert path is not None
    cassette_path = models_cassette(cassette_dir, family)
    display = _display(cassette_path, rootdir)
    try:
        data = read_cassette(cassette_path)
    except FileNotFoundError:
        raise ModelsCheckError(
            f"the Models API check has no recorded models list at {display}"
            + (f"; record it with: {record_hint}" if record_hint else "")
        ) from None
    except CassetteError as exc:
        raise ModelsCheckError(str(exc)) from None
    ids: list[str] = []
    found = False
    for number, interaction in enumerate(data["interactions"], start=1):
        request, response = interaction["request"], interaction["response"]
        if urllib.parse.urlsplit(str(request.get("uri", ""))).path != path:
            continue
        found = True
        where = f"{display}: interaction #{number}"
        if response["status"]["code"] != 200:
            raise ModelsCheckError(f"{where}: recorded HTTP {response['status']['code']} instead of a models list")
        try:
            body = json.loads(response["body"]["string"] or b"null")
        except ValueError:
            raise ModelsCheckError(f"{where}: the recorded models list is not JSON") from None
        ids += _ids(body, family, where)
    if not found:
        raise ModelsCheckError(f"{display}: holds no GET {path} recording")
    lister = data["metadata"].get("listed_by")
    return Listing(family, path, tuple(ids), display, lister if isinstance(lister, str) and lister else "the gateway")


# --------------------------------------------------------------------------- the verdict


def missing_models(config: AnyIntConfig, listings: Mapping[str, Listing]) -> list[str]:
    """One line per configured model the gateway does not list: route, model, closest IDs."""
    problems = []
    for family, pairs in wanted(config).items():
        listing = listings[family]
        known = set(listing.ids)
        for label, model in pairs:
            if model in known:
                continue
            close = difflib.get_close_matches(model, listing.ids, n=3, cutoff=0.5)
            hint = f"closest available IDs: {', '.join(close)}" if close else f"{len(listing.ids)} IDs listed, none close"
            if listing.lister == EMULATOR_LISTER:  # not the gateway's word: its list was the config of its day
                hint += (
                    f"; this list is the emulator's (it lists the models anyint.yaml had when it recorded): "
                    f"{gateway_check_hint(config.api_key_env)}, or record the emulator's list again with: "
                    f"pytest --anyint-record=once --anyint-emulator"
                )
            problems.append(
                f"{config.path}: routes.{label}: model {model!r} is not listed by {listing.lister} "
                f"(GET {listing.path}, {listing.source}); {hint}"
            )
    return problems


def check(
    config: AnyIntConfig,
    cassette_dir: Path,
    *,
    live: bool,
    gateway_url: str = "",
    api_key: str = "",
    save: bool | Callable[[str], bool] = True,
    rootdir: Path | None = None,
    record_hint: str = "",
    lister: str = "the gateway",
    refresh_older_than: _dt.timedelta | None = None,
) -> tuple[list[str], dict[str, Listing]]:
    """Run the check: (problems, listings). Live asks the gateway and records (``save``: per family); else replays."""
    listings: dict[str, Listing] = {}
    problems: list[str] = []
    for family in wanted(config):
        try:
            if live:
                if not api_key:
                    raise ModelsCheckError(
                        f"the Models API check needs the gateway key in ${config.api_key_env} "
                        f"(or turn it off with --no-anyint-check-models)"
                    )
                listings[family] = fetch_listing(
                    family,
                    gateway_url=gateway_url,
                    api_key=api_key,
                    key_env=config.api_key_env,
                    canonical_origin=config.base_url,
                    cassette_dir=cassette_dir,
                    save=save(family) if callable(save) else save,
                    rootdir=rootdir,
                    lister=lister,
                    refresh_older_than=refresh_older_than,
                )
            else:
                listings[family] = replay_listing(family, cassette_dir, rootdir=rootdir, record_hint=record_hint)
        except ModelsCheckError as exc:
            problems.append(str(exc))
    if problems:
        return problems, listings
    return missing_models(config, listings), listings


def session_check(session: AnyIntSession) -> list[str]:
    """The once-per-session check of a pytest run (live when recording, else from the cassettes)."""
    config = session.config
    mode = session.options.record_mode
    live = mode != "none"
    if live:
        from ..config import ConfigError

        gateway_url = session.gateway_url()  # starts the emulator first when it is used
        try:
            api_key = session.api_key()
        except ConfigError:
            return []  # no key: nothing can be recorded, and every route case says where the key goes
    else:
        gateway_url, api_key = "", ""

    def save(family: str) -> bool:
        """once keeps an existing recording unless it lacks a configured model; rewrite and new_episodes
        refresh it; verify writes nothing."""
        if mode == "verify":
            return False
        if mode in ("rewrite", "new_episodes") or not models_cassette(session.cassette_dir, family).exists():
            return True
        try:  # a model added to anyint.yaml since the list was recorded: `once` records what is missing
            listed = set(replay_listing(family, session.cassette_dir, rootdir=session.options.rootdir).ids)
        except ModelsCheckError:
            return False  # an unreadable recording is reported by the replayed check, never overwritten by once
        return any(model not in listed for _, model in wanted(config).get(family, ()))

    problems, _ = check(
        config,
        session.cassette_dir,
        live=live,
        gateway_url=gateway_url,
        api_key=api_key,
        save=save,
        rootdir=session.options.rootdir,
        record_hint=f"pytest --anyint-record=once --anyint-check-models (with ${config.api_key_env} set)",
        lister=EMULATOR_LISTER if live and session.emulator is not None else "the gateway",
        refresh_older_than=session.refresh_older_than,
    )
    return problems


__all__: Sequence[str] = (
    "EMULATOR_LISTER",
    "Listing",
    "ModelsCheckError",
    "check",
    "fetch_listing",
    "gateway_check_hint",
    "missing_models",
    "replay_listing",
    "session_check",
    "wanted",
)
