"""The configuration routes over HTTP: special days, capacity rules, hours, turn times, settings. Stranding
changes are 409 problems listing the bookings; ?force=true applies them and still lists them; garbage is a
4xx that says what is wrong and writes nothing; the actor is the IAM caller in AWS, never a header."""

from __future__ import annotations

import base64
import json
from datetime import time, timedelta
from typing import Any

import httpx
import pytest

from frontdesk.api.restaurant_admin import LOCAL_ACTOR
from frontdesk.core.booking import SlotRequest
from frontdesk.core.model import Channel, Guest, Reservation
from frontdesk.wiring import Services
from tests.integration.api.conftest import assert_problem, weekday_ahead
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio
BASE = "/api/v1/restaurants/demo-bistro"


def book(services: Services, day: Any, at: time, n: int = 0, party: int = 2) -> Reservation:
    return services.booking.commit_slot("demo-bistro", SlotRequest(party, local_date=day, local_time=at),
                                        Guest(f"Guest {n}", f"+1212557{n:04d}"), channel=Channel.STAFF)


def config_state(database: TestDatabase) -> tuple[Any, ...]:
    return tuple(database.scalar(q) for q in (
        "SELECT count(*) FROM event_log WHERE reservation_id IS NULL",
        "SELECT string_agg(weekday || opens::text || closes::text, ',' ORDER BY weekday, opens) FROM operating_hours",
        "SELECT count(*) FROM special_days",
        "SELECT string_agg(id || ':' || max_covers_present || ':' || max_parties_present, ',' ORDER BY id)"
        "  FROM capacity_rules",
        "SELECT string_agg(min_party || '-' || max_party || '=' || minutes, ',' ORDER BY min_party) FROM turn_times",
        "SELECT string_agg(slug || timezone || name || coalesce(twilio_number, ''), ',') FROM restaurants",
    ))


async def test_closing_a_day_with_bookings_is_a_409_listing_them_and_force_applies_it(
    client: httpx.AsyncClient, services: Services, database: TestDatabase
) -> None:
    day = weekday_ahead(3)
    booked = [book(services, day, time(h), n=h) for h in (18, 20)]
    closure = {"starts_on": day.isoformat(), "closed": True, "reason": "burst pipe"}
    before = config_state(database)

    refused = await client.post(f"{BASE}/special-days", json=closure)
    problem = assert_problem(refused, 409, "would_strand_bookings")
    assert problem["forceable"] is True and "force" in problem["detail"]
    assert [a["id"] for a in problem["affected"]] == [str(r.id) for r in booked]
    assert [(a["local_date"], a["local_time"], a["guest_name"]) for a in problem["affected"]] == [
        (day.isoformat(), "18:00", "Guest 18"), (day.isoformat(), "20:00", "Guest 20")]
    assert config_state(database) == before

    forced = await client.post(f"{BASE}/special-days", params={"force": "true"}, json=closure)
    assert forced.status_code == 201, forced.text
    body = forced.json()
    assert body["special_day"]["closed"] is True and body["special_day"]["created_by"] == LOCAL_ACTOR
    assert [a["id"] for a in body["affected"]] == [str(r.id) for r in booked]
    assert forced.headers["location"].endswith(f"/special-days/{body['special_day']['id']}")
    assert database.scalar("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == LOCAL_ACTOR
    listed = (await client.get(f"{BASE}/special-days")).json()["items"]
    assert [d["id"] for d in listed] == [body["special_day"]["id"]]


async def test_special_days_can_be_changed_and_removed(client: httpx.AsyncClient, services: Services,
                                                       database: TestDatabase) -> None:
    day = weekday_ahead(2)
    created = (await client.post(f"{BASE}/special-days", json={
        "starts_on": day.isoformat(), "closed": False, "opens": "11:00", "closes": "22:00"})).json()
    sd_id = created["special_day"]["id"]
    lunch = book(services, day, time(12), n=1)

    changed = await client.patch(f"{BASE}/special-days/{sd_id}", json={"reason": "holiday lunch", "closes": "23:00"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["special_day"] | {"id": 0} == {
        "id": 0, "starts_on": day.isoformat(), "ends_on": day.isoformat(), "closed": False, "opens": "11:00",
        "closes": "23:00", "reason": "holiday lunch", "created_by": LOCAL_ACTOR}

    refused = await client.delete(f"{BASE}/special-days/{sd_id}")
    assert [a["id"] for a in assert_problem(refused, 409, "would_strand_bookings")["affected"]] == [str(lunch.id)]
    removed = await client.delete(f"{BASE}/special-days/{sd_id}", params={"force": "true"})
    assert removed.status_code == 200 and [a["id"] for a in removed.json()["affected"]] == [str(lunch.id)]
    assert_problem(await client.delete(f"{BASE}/special-days/{sd_id}"), 404, "not_found")


async def test_lowering_a_cap_below_what_is_booked_is_refused_and_raising_it_is_allowed(
    client: httpx.AsyncClient, services: Services, database: TestDatabase
) -> None:
    day = weekday_ahead(4)
    booked = [book(services, day, time(19), n=n, party=4) for n in range(3)]
    (rule,) = (await client.get(f"{BASE}/capacity-rules")).json()["items"]
    assert rule["max_covers_present"] == 40 and rule["weekday"] is None

    refused = await client.patch(f"{BASE}/capacity-rules/{rule['id']}", json={"max_covers_present": 8})
    problem = assert_problem(refused, 409, "would_strand_bookings")
    assert sorted(a["id"] for a in problem["affected"]) == sorted(str(r.id) for r in booked)
    raised = await client.patch(f"{BASE}/capacity-rules/{rule['id']}", json={"max_covers_present": 50})
    assert raised.status_code == 200 and raised.json()["affected"] == []

    thursday = {"weekday": "thu", "local_from": "18:00", "local_until": "21:00", "max_covers_present": 10,
                "max_parties_present": 10, "max_covers_starting": 10}
    assert_problem(await client.post(f"{BASE}/capacity-rules", json=thursday), 409, "would_strand_bookings")
    added = await client.post(f"{BASE}/capacity-rules", json=thursday, params={"force": "1"})
    assert added.status_code == 201, added.text
    assert added.json()["capacity_rule"]["weekday"] == 4 and len(added.json()["affected"]) == 3
    removed = await client.delete(f"{BASE}/capacity-rules/{added.json()['capacity_rule']['id']}")
    assert removed.status_code == 200 and removed.json()["affected"] == []


async def test_weekly_hours_and_turn_times_round_trip(client: httpx.AsyncClient, database: TestDatabase) -> None:
    hours = (await client.get(f"{BASE}/hours")).json()
    assert hours["fri"] == [{"opens": "17:00", "closes": "23:30"}]
    put = await client.put(f"{BASE}/hours", json={"mon": [], "fri": [{"opens": "12:00", "closes": "14:30"},
                                                                      {"opens": "18:00", "closes": "01:00"}]})
    assert put.status_code == 200, put.text
    assert put.json()["hours"]["mon"] == [] and put.json()["hours"]["fri"][1] == {"opens": "18:00", "closes": "01:00"}
    assert put.json()["hours"]["tue"] == [{"opens": "17:00", "closes": "22:00"}]

    turns = await client.put(f"{BASE}/turn-times", json={"turn_times": [
        {"min_party": 1, "max_party": 2, "minutes": 75}, {"min_party": 3, "max_party": 12, "minutes": 135}]})
    assert turns.status_code == 200, turns.text
    assert turns.json() == {"turn_times": [{"min_party": 1, "max_party": 2, "minutes": 75},
                                           {"min_party": 3, "max_party": 12, "minutes": 135}],
                            "default_turn_minutes": 120}
    assert (await client.get(f"{BASE}/turn-times")).json() == turns.json()
    kinds = [r[0] for r in database.rows("SELECT kind FROM event_log WHERE reservation_id IS NULL ORDER BY id")]
    assert kinds == ["hours.changed", "turn_times.changed"]


async def test_settings_change_and_the_timezone_is_refused_while_bookings_lie_ahead(
    client: httpx.AsyncClient, services: Services
) -> None:
    changed = await client.patch(BASE, json={"failover_number": "+12125550999", "agent_enabled": False,
                                             "agent_opens": "11:00", "agent_closes": "23:00", "max_party_size": 8})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["failover_number"], body["agent_enabled"], body["agent_opens"], body["max_party_size"]) == (
        "+12125550999", False, "11:00", 8)
    ahead = book(services, weekday_ahead(2), time(19))
    refused = await client.patch(BASE, json={"timezone": "Europe/Paris"})
    problem = assert_problem(refused, 409, "timezone_change_blocked")
    assert problem["forceable"] is False and [a["id"] for a in problem["affected"]] == [str(ahead.id)]
    assert (await client.patch(BASE, json={"twilio_number": None})).json()["twilio_number"] is None


GARBAGE: list[tuple[str, str, Any]] = [
    ("POST", "/special-days", None), ("POST", "/special-days", []), ("POST", "/special-days", "closed"),
    ("POST", "/special-days", {}), ("POST", "/special-days", {"starts_on": "2030-01-08"}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": "yes"}),
    ("POST", "/special-days", {"starts_on": "2030-02-30", "closed": True}),
    ("POST", "/special-days", {"starts_on": "9999-01-01", "closed": True}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "ends_on": "2030-01-01", "closed": True}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": True, "opens": "12:00"}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": False, "opens": "12:00", "closes": "25:00"}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": False, "opens": "12:00"}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": True, "reason": "x" * 201}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": True, "reason": "a\x00b"}),
    ("POST", "/special-days", {"starts_on": "2030-01-08", "closed": True, "extra": 1}),
    ("POST", "/special-days", {"starts_on": "2001-01-08", "closed": True}),
    ("PATCH", "/special-days/1", {}), ("PATCH", "/special-days/1", {"closed": None}),
    ("POST", "/capacity-rules", {"max_covers_present": 1}),
    ("POST", "/capacity-rules", {"weekday": "someday", "max_covers_present": 1, "max_parties_present": 1,
                                 "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"weekday": 9, "max_covers_present": 1, "max_parties_present": 1,
                                 "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"on_date": "2030-01-01", "weekday": 2, "max_covers_present": 1,
                                 "max_parties_present": 1, "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"max_covers_present": -1, "max_parties_present": 1, "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"max_covers_present": "9", "max_parties_present": 1, "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"max_covers_present": 10**30, "max_parties_present": 1, "max_covers_starting": 1}),
    ("POST", "/capacity-rules", {"max_covers_present": 1, "max_parties_present": 1, "max_covers_starting": 1}),
    ("PATCH", "/capacity-rules/1", {"max_covers_present": None}),
    ("PUT", "/hours", {}), ("PUT", "/hours", {"funday": []}), ("PUT", "/hours", {"mon": "17:00-22:00"}),
    ("PUT", "/hours", {"mon": [{"opens": "17:00", "closes": "17:00"}]}),
    ("PUT", "/hours", {"mon": [{"opens": "12:00", "closes": "15:00"}, {"opens": "14:00", "closes": "18:00"}]}),
    ("PUT", "/hours", {"sun": [{"opens": "20:00", "closes": "18:00"}]}),  # spills into Monday 17:00
    ("PUT", "/turn-times", {"turn_times": [{"min_party": 1, "max_party": 4, "minutes": 90},
                                           {"min_party": 3, "max_party": 6, "minutes": 90}]}),
    ("PUT", "/turn-times", {"turn_times": [{"min_party": 5, "max_party": 4, "minutes": 90}]}),
    ("PUT", "/turn-times", {"turn_times": [{"min_party": 1, "max_party": 4, "minutes": 9}]}),
    ("PUT", "/turn-times", {"turn_times": "none"}),
    ("PATCH", "", {}), ("PATCH", "", {"timezone": "Mars/Olympus"}), ("PATCH", "", {"timezone": "../../etc"}),
    ("PATCH", "", {"twilio_number": "555-1234"}), ("PATCH", "", {"slug": "Demo Bistro"}),
    ("PATCH", "", {"name": None}), ("PATCH", "", {"name": ""}), ("PATCH", "", {"max_party_size": 0}),
    ("PATCH", "", {"agent_opens": "09:00"}), ("PATCH", "", {"agent_enabled": "yes"}),
    ("PATCH", "", {"twilio_number": "+15555550100", "slug": "taken"}),
]


@pytest.mark.parametrize(("method", "path", "body"), GARBAGE, ids=[f"garbage-{i}" for i in range(len(GARBAGE))])
async def test_garbage_gets_a_4xx_that_says_what_is_wrong_and_writes_nothing(
    client: httpx.AsyncClient, database: TestDatabase, method: str, path: str, body: Any
) -> None:
    with database.connect() as conn:  # something to collide with, for the last case
        conn.execute("INSERT INTO restaurants (slug, name, timezone) VALUES ('taken', 'Taken', 'UTC')")
        conn.execute("INSERT INTO capacity_rules (restaurant_id, weekday, max_covers_present, max_parties_present,"
                     " max_covers_starting) SELECT id, 1, 1, 1, 1 FROM restaurants WHERE slug = 'demo-bistro'")
    before = config_state(database)
    response = await client.request(method, BASE + path, json=body)
    assert response.status_code in (400, 404, 422), response.text
    problem = assert_problem(response, response.status_code)
    assert problem["detail"]
    assert config_state(database) == before


@pytest.mark.parametrize("path", [
    "/api/v1/restaurants/no-such-place/hours", "/api/v1/restaurants/NOT%20A%20SLUG/special-days",
    "/api/v1/restaurants/demo-bistro/special-days/abc", "/api/v1/restaurants/demo-bistro/special-days/99999999",
    "/api/v1/restaurants/demo-bistro/capacity-rules/-1", "/api/v1/restaurants/demo-bistro/capacity-rules/%C3%A9",
    "/api/v1/restaurants/demo-bistro/capacity-rules/99999999999999999999999",
])
async def test_unknown_things_are_404s(client: httpx.AsyncClient, path: str) -> None:
    response = await client.request("DELETE" if path.split("/")[-1] not in ("hours", "special-days") else "GET",
                                    path)
    assert_problem(response, 404)


async def test_a_non_json_body_is_a_415_and_a_bad_force_flag_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{BASE}/special-days", content="starts_on=2030-01-01",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415)
    response = await client.delete(f"{BASE}/special-days/1", params={"force": "maybe"})
    assert_problem(response, 422, "validation_failed")


# -- who made it: the IAM caller in AWS --------------------------------------------------------------------

def _apigw_event(method: str, path: str, body: dict[str, Any] | None, user_arn: str | None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    raw = json.dumps(body) if body is not None else ""
    authorizer = {"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE:ana",
                          "cognitoIdentity": None, "principalOrgId": None, "userArn": user_arn,
                          "userId": "AROAEXAMPLE:ana"}} if user_arn else {}
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "content-length": str(len(raw)),
                    "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5", "requestId": "Hc9acx8gIAMEbjA=", "routeKey": f"{method} {path}",
            "stage": "$default", "time": "27/Nov/2026:11:00:00 +0000", "timeEpoch": 1795777200000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.17",
                     "userAgent": "curl/8"},
            "authorizer": authorizer},
        "isBase64Encoded": True, "body": base64.b64encode(raw.encode()).decode(),
    }


def test_in_aws_the_actor_is_the_iam_caller_and_a_client_header_cannot_pose_as_someone_else(
    services: Services, database: TestDatabase
) -> None:
    from mangum import Mangum

    from frontdesk.api import restaurant_admin
    from frontdesk.api.app import create_app
    from tests.contract.api.apigw_events import LambdaContext

    handler = Mangum(create_app(routers=[restaurant_admin.router], services=services), lifespan="off")
    arn = "arn:aws:sts::123456789012:assumed-role/frontdesk-staff/ana"
    day = weekday_ahead(2) + timedelta(days=14)
    event = _apigw_event("POST", "/api/v1/restaurants/demo-bistro/special-days",
                         {"starts_on": day.isoformat(), "closed": True, "reason": "inventory"}, arn,
                         headers={"x-actor": "mallory", "x-frontdesk-actor": "mallory", "x-amzn-oidc-identity": "m"})
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 201, response
    assert database.scalar("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == f"iam:{arn}"
    assert database.scalar("SELECT created_by FROM special_days") == f"iam:{arn}"
