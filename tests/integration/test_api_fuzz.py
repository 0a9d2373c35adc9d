"""Nothing a client sends gets a 5xx: a `modelwatch serve` on PostgreSQL and Redis (where an id
beyond 32 bits, a NUL or a lone surrogate used to become a database error) is fuzzed by
schemathesis in both modes (valid and invalid requests, `--mode all`) over its whole OpenAPI, and
then by hand with what generated cases rarely hit: NUL, surrogates, deep nesting, huge integers
and huge fields on every route family, and a validly signed registry delivery carrying them."""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode

from monitor.registry.signatures import sign_plain
from tests.support.api_server import serve
from tests.support.scenario import MODEL, write_model

pytestmark = pytest.mark.integration

TOKEN = {"Authorization": "Bearer fuzz-t0ken"}
SECRET = "fuzz-hook-secret"
#: Bounded so that make test stays fast; FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 for a longer, fresh hunt.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") == ""


@pytest.fixture(scope="module")
def api(redis_server, pg_admin_url, tmp_path_factory, request):
    """One API on PostgreSQL and Redis for the module's tests (no worker: a forced check only
    waits in the queue). Module-scoped: starting it costs more than the tests themselves."""
    import psycopg

    from tests.conftest import _stack

    folder = tmp_path_factory.mktemp("fuzz")
    name = f"mw_fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = pg_admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    stacks = _stack(folder, request, {"MODELWATCH_BROKER_URL": redis_server["url"], "MODELWATCH_DATABASE_URL": database,
                                   "MODELWATCH_API_TOKEN": "fuzz-t0ken", "MODELWATCH_MAX_BATCH_ROWS": "50",
                                   "MODELWATCH_WEBHOOK_SECRET": SECRET})
    stack = next(stacks)
    try:
        stack.cli("apply", "-f", str(write_model(folder, "http://127.0.0.1:9/unused")))
        with serve(stack) as base:
            yield base
    finally:
        stacks.close()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_generated_requests_never_get_a_server_error(api):
    # GET /v1/events is an endless stream (a valid request never ends); its bad cursors are below.
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json").exclude(path="/v1/events", method="GET")
    known = dict(path_parameters={"name": MODEL})  # reach past the 404 of a random model name
    strategy = st.one_of(*(schema.as_strategy(mode, **extra) for mode in (GenerationMode.POSITIVE,
                                                                         GenerationMode.NEGATIVE)
                           for extra in ({}, known)))
    seen: dict[str, set[int]] = {}
    requests = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def never_a_5xx(case):
        response = case.call(base_url=api, headers=TOKEN, timeout=30)
        requests.append(response.status_code)
        seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n"
            f"query={case.query} body={str(case.body)[:500]}")

    never_a_5xx()
    assert httpx.get(f"{api}/healthz").status_code == 200
    print(f"\nAPI fuzz (schemathesis, positive + negative, PostgreSQL + Redis): {len(requests)} requests over "
          f"{len(seen)} operations, {sum(s >= 500 for s in requests)} responses >= 500")
    assert len(seen) >= 20, seen  # most operations were exercised
    ingestion = set().union(*(seen.get(f"POST /v1/models/{{name}}/{kind}", set())
                              for kind in ("predictions", "labels", "interactions")))
    assert ingestion & {200, 413, 422, 400}, seen  # some batches reached validation


DEEP = b"[" * 900 + b"]" * 900
HUGE_INT = 2**31  # one past PostgreSQL's integer: the alerts', silences' and actions' ids


def _hostile_requests(huge: str) -> list[tuple[str, str, dict, set[int]]]:
    """(method, path, httpx keyword arguments, the statuses that are right) per route family."""
    m = MODEL
    body = lambda raw: {"content": raw, "headers": {**TOKEN, "Content-Type": "application/json"}}  # noqa: E731
    auth = {"headers": TOKEN}
    return [
        # NUL in a path or query, on reads and writes of every family
        *[("GET", path, auth, {400}) for path in (
            "/v1/models/%00", f"/v1/models/{m}%00/runs", "/v1/runs/%00", "/v1/runs/a%00/report",
            f"/v1/models/{m}/kpis?name=a%00", f"/v1/models/{m}/timeseries?segment=%00", "/v1/alerts?model=%00",
            "/v1/recovery?model=x%00", "/v1/audit?model=%00", "/v1/events/recent?model=%00",
            "/v1/dashboard/models/%00", "/v1/fleet/alerts?by=%00")],
        ("POST", "/v1/models/%00/checks", auth, {400}),
        ("POST", f"/v1/models/{m}/predictions?x=%00", body(b"[]"), {400}),
        # ids beyond PostgreSQL's integer and bigint
        *[(method, path, auth, {422}) for method, path in (
            ("DELETE", f"/v1/silences/{HUGE_INT}"), ("POST", f"/v1/alerts/{HUGE_INT}/ack"),
            ("POST", f"/v1/recovery/{HUGE_INT}/approve"), ("POST", f"/v1/recovery/{HUGE_INT}/cancel"),
            ("DELETE", f"/v1/silences/{2**64}"), ("GET", f"/v1/events/recent?limit={2**64}"),
            ("GET", f"/v1/models/{m}/runs?limit={HUGE_INT}"))],
        ("GET", f"/v1/events?after={2**63}", auth, {422}),
        ("GET", "/v1/events", {"headers": {**TOKEN, "Last-Event-ID": str(2**63)}}, {400}),
        ("POST", "/v1/host-metrics", body(json.dumps({"model": m, "samples": [
            {"ts": "2026-01-01T00:00:00Z", "host": "h", "cpu_pct": 1, "memory_pct": 1, "pid": HUGE_INT}]}).encode()),
         {200}),  # the sample is quarantined, the request answered
        # times at the ends of the calendar: out of range in UTC, or a range reaching before year 1
        ("GET", f"/v1/models/{m}/timeseries?until=0001-01-01T00:00:00&last=7d", auth, {400}),
        ("GET", f"/v1/models/{m}/drift?until=9999-12-31T23:59:59-14:00", auth, {400}),
        ("GET", f"/v1/models/{m}/annotations?since=0001-01-01T00:00:00%2B14:00", auth, {400}),
        ("POST", "/v1/host-metrics", body(json.dumps({"model": m, "samples": [
            {"ts": "0001-01-01T00:00:00+14:00", "host": "h", "cpu_pct": 1, "memory_pct": 1}]}).encode()), {200}),
        # NUL and lone surrogates in form-like bodies
        *[("POST", path, body(raw), {422}) for path, raw in (
            ("/v1/silences", b'{"model": "x\\u0000", "comment": "c", "duration": "1h"}'),
            ("/v1/silences", b'{"model": "x", "comment": "\\ud800", "duration": "1h"}'),
            ("/v1/alerts/1/ack", b'{"reason": "a\\u0000b"}'),
            ("/v1/recovery/1/approve", b'{"reason": "\\udfff"}'),
            ("/v1/recovery/1/cancel", b'{"reason": "\\u0000"}'),
            ("/v1/host-metrics", b'{"model": "\\u0000", "samples": [{}]}'))],
        # not UTF-8, not JSON, nested 900 deep: every family that takes a body
        *[("POST", path, body(raw), {400}) for path in (
            "/v1/silences", "/v1/alerts/1/ack", "/v1/recovery/1/approve", "/v1/host-metrics",
            f"/v1/models/{m}/predictions", f"/v1/models/{m}/labels", f"/v1/models/{m}/interactions")
          for raw in (b'{"rows": "\xff\xfe"}', DEEP, b'{"rows": [' + DEEP + b"]}")],
        ("POST", f"/v1/models/{m}/predictions", body(b'{"rows": [{"request_id": '), {400}),
        ("POST", "/v1/silences", body(b'{"comment": '), {422}),
        # huge fields
        ("POST", "/v1/silences", body(json.dumps({"model": m, "comment": huge, "duration": "1h"}).encode()), {422}),
        ("POST", "/v1/silences", body(json.dumps({"model": huge, "comment": "c", "duration": "1h"}).encode()), {422}),
        ("POST", "/v1/silences", body(json.dumps({"rule": "r" * 65, "comment": "c", "duration": "1h"}).encode()), {422}),
        ("POST", "/v1/silences", body(json.dumps({"model": m, "comment": "c",
                                                   "duration": "99999999999999999999d"}).encode()), {422}),
        ("GET", f"/v1/models/{huge[:6000]}", auth, {404, 414, 431}),
        ("GET", f"/v1/alerts?model={huge[:6000]}", auth, {404, 414, 431}),
        ("POST", f"/v1/models/{m}/predictions", body(b" " * (11 * 1024 * 1024)), {413}),
    ]


def test_hostile_inputs_get_a_clear_4xx_on_every_route_family(api):
    huge = "x" * 200_000
    answered = []
    with httpx.Client(base_url=api, timeout=60) as client:
        for method, path, options, expected in _hostile_requests(huge):
            response = client.request(method, path, **options)
            answered.append(response.status_code)
            assert response.status_code in expected, f"{method} {path[:80]} -> {response.status_code}: {response.text[:300]}"
            if response.status_code in (400, 413, 422):
                assert response.json()["detail"], path  # the reason is said
    print(f"\nhand-written hostile requests: {len(answered)}, responses >= 500: {sum(s >= 500 for s in answered)}")


def test_a_signed_registry_delivery_with_nul_or_deep_nesting_is_refused_cleanly(api):
    """The signature is valid, so only the body's content can refuse it: 400 naming why, and the
    same delivery id can still be sent again corrected (nothing was recorded)."""
    for raw, words in ((json.dumps({"model": "fr\x00aud", "version": "2"}).encode(), "NUL"),
                       (json.dumps({"model": MODEL, "version": "2\ud800"}, ensure_ascii=False)
                        .encode("utf-8", "surrogatepass"), "surrogate"),  # json.loads decodes it surrogatepass
                       (b'{"model": "fraud", "version": "2", "x": ' + DEEP + b"}", "levels deep"),
                       (json.dumps({"model": MODEL, "version": "\\ud800"}).replace("\\\\", "\\").encode(), "surrogate")):
        headers = sign_plain(SECRET, raw, delivery_id="d-hostile")
        response = httpx.post(f"{api}/v1/hooks/registry", content=raw, headers=headers, timeout=30)
        assert response.status_code == 400 and words in response.json()["detail"], response.text[:300]
    good = json.dumps({"model": MODEL, "version": "2"}).encode()
    response = httpx.post(f"{api}/v1/hooks/registry", content=good, headers=sign_plain(SECRET, good, delivery_id="d-hostile"),
                          timeout=30)
    assert response.status_code == 202, response.text
