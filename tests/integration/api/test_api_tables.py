"""The floor plan over HTTP: tables and combinations. Taking a table with future bookings out of service is a
409 listing them; ?force=true applies it and says which were re-seated and which are left without a table;
garbage bodies, paths and names are 4xx that change nothing; the actor is the IAM caller in AWS."""

from __future__ import annotations

from datetime import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from frontdesk.api.restaurant_admin import LOCAL_ACTOR
from frontdesk.core.booking import SlotRequest
from frontdesk.core.model import Channel, Guest, Reservation
from frontdesk.wiring import Services
from tests.integration.api.conftest import assert_problem, weekday_ahead
from tests.integration.api.test_api_config import _apigw_event
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio
BASE = "/api/v1/restaurants/demo-bistro"


def book(services: Services, at: time, n: int = 0, party: int = 2) -> Reservation:
    return services.booking.commit_slot("demo-bistro", SlotRequest(party, local_date=weekday_ahead(3), local_time=at),
                                        Guest(f"Guest {n}", f"+1212557{n:04d}"), channel=Channel.STAFF)


def floor_state(database: TestDatabase) -> tuple[Any, ...]:
    return (database.rows("SELECT name, area, min_seats, max_seats, agent_bookable, active FROM dining_tables"
                          " ORDER BY id"),
            database.rows("SELECT name, min_seats, max_seats FROM table_combinations ORDER BY id"),
            database.scalar("SELECT count(*) FROM table_combination_members"),
            database.rows("SELECT reservation_id::text, table_id FROM reservation_tables ORDER BY 1, 2"),
            database.scalar("SELECT count(*) FROM event_log"))


async def add(client: httpx.AsyncClient, name: str, max_seats: int, **more: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/tables", json={"name": name, "max_seats": max_seats, **more})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_tables_and_combinations_are_added_listed_changed_and_removed(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    assert (await client.get(f"{BASE}/tables")).json() == {"tables": [], "combinations": []}
    made = await client.post(f"{BASE}/tables", json={"name": " T1 ", "min_seats": 2, "max_seats": 4,
                                                     "area": "Patio"})
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{BASE}/tables/T1"
    assert made.json() == {"table": {"name": "T1", "area": "Patio", "min_seats": 2, "max_seats": 4,
                                     "agent_bookable": True, "active": True, "usable": True},
                           "affected": [], "reseated": [], "unassigned": []}
    await add(client, "T2", 4, agent_bookable=False)

    combined = await client.post(f"{BASE}/table-combinations", json={"name": "T1+T2", "tables": ["T1", "T2"]})
    assert combined.status_code == 201, combined.text
    assert combined.headers["location"] == f"{BASE}/table-combinations/T1%2BT2"
    assert combined.json()["combination"] == {"name": "T1+T2", "tables": ["T1", "T2"], "min_seats": 1,
                                              "max_seats": 8, "agent_bookable": True, "usable": True}

    changed = await client.patch(f"{BASE}/tables/T2", json={"name": "T2 bis", "max_seats": 6, "area": "Bar"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["table"] | {} == {"name": "T2 bis", "area": "Bar", "min_seats": 1, "max_seats": 6,
                                            "agent_bookable": False, "active": True, "usable": True}
    removed = await client.delete(f"{BASE}/tables/{quote('T2 bis', safe='')}")
    assert removed.status_code == 200 and removed.json()["table"]["usable"] is False

    plan = (await client.get(f"{BASE}/tables")).json()
    assert [(t["name"], t["usable"]) for t in plan["tables"]] == [("T1", True), ("T2 bis", False)]
    # A combination with a table out of service is kept, but never offered.
    assert [(c["name"], c["tables"], c["usable"]) for c in plan["combinations"]] == [
        ("T1+T2", ["T1", "T2 bis"], False)]
    back = await client.patch(f"{BASE}/tables/T2%20bis", json={"active": True})
    assert back.json()["table"]["active"] is True
    assert (await client.get(f"{BASE}/tables")).json()["combinations"][0]["usable"] is True

    uncombined = await client.delete(f"{BASE}/table-combinations/{quote('T1+T2', safe='')}")
    assert uncombined.status_code == 200, uncombined.text
    assert uncombined.json()["combination"]["name"] == "T1+T2"
    assert (await client.get(f"{BASE}/tables")).json()["combinations"] == []
    assert database.rows("SELECT kind, actor FROM event_log WHERE reservation_id IS NULL ORDER BY id") == [
        ("table.added", LOCAL_ACTOR), ("table.added", LOCAL_ACTOR), ("combination.added", LOCAL_ACTOR),
        ("table.updated", LOCAL_ACTOR), ("table.removed", LOCAL_ACTOR), ("table.updated", LOCAL_ACTOR),
        ("combination.removed", LOCAL_ACTOR)]


async def test_removing_a_table_with_future_bookings_is_a_409_listing_them_and_force_reseats_or_unassigns(
    client: httpx.AsyncClient, services: Services, database: TestDatabase
) -> None:
    await add(client, "T1", 2)
    await add(client, "T2", 2)
    first, second = book(services, time(19), n=1), book(services, time(19), n=2)
    assert {services.booking.get(r.id).tables for r in (first, second)} == {("T1",), ("T2",)}
    at_t1 = first if services.booking.get(first.id).tables == ("T1",) else second
    at_t2 = second if at_t1 is first else first
    before = floor_state(database)

    refused = await client.delete(f"{BASE}/tables/T1")
    problem = assert_problem(refused, 409, "would_strand_bookings")
    assert problem["forceable"] is True
    assert [(a["id"], a["local_time"], a["guest_name"]) for a in problem["affected"]] == [
        (str(at_t1.id), "19:00", at_t1.guest_name)]
    assert floor_state(database) == before  # nothing half-written

    await add(client, "T3", 4)  # somewhere to go
    forced = await client.delete(f"{BASE}/tables/T1", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    body = forced.json()
    assert body["table"]["active"] is False
    assert [a["id"] for a in body["affected"]] == [str(at_t1.id)]
    assert [a["id"] for a in body["reseated"]] == [str(at_t1.id)] and body["unassigned"] == []
    assert services.booking.get(at_t1.id).tables == ("T3",)

    # No free table left that fits: forced, the booking stands without one and is listed for staff.
    assert_problem(await client.patch(f"{BASE}/tables/T2", json={"active": False}), 409, "would_strand_bookings")
    forced = await client.patch(f"{BASE}/tables/T2", json={"active": False}, params={"force": "1"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["reseated"] == []
    assert [(a["id"], a["local_time"]) for a in forced.json()["unassigned"]] == [(str(at_t2.id), "19:00")]
    assert services.booking.get(at_t2.id).tables == ()
    assert database.rows("SELECT actor, payload->>'forced' FROM event_log WHERE kind = 'table.removed' ORDER BY id"
                         ) == [(LOCAL_ACTOR, "true"), (LOCAL_ACTOR, "true")]


async def test_shrinking_a_table_and_removing_a_combination_in_use_need_force(
    client: httpx.AsyncClient, services: Services, database: TestDatabase
) -> None:
    await add(client, "A", 2)
    await add(client, "B", 2)
    await add(client, "C", 6)
    assert (await client.post(f"{BASE}/table-combinations", json={
        "name": "A+B", "tables": ["A", "B"], "min_seats": 3, "max_seats": 4})).status_code == 201
    party = book(services, time(20), n=5, party=4)
    assert services.booking.get(party.id).tables == ("A", "B")
    before = floor_state(database)
    refused = await client.delete(f"{BASE}/table-combinations/A%2BB")
    assert [a["id"] for a in assert_problem(refused, 409, "would_strand_bookings")["affected"]] == [str(party.id)]
    assert floor_state(database) == before
    forced = await client.delete(f"{BASE}/table-combinations/A%2BB", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert [a["id"] for a in forced.json()["reseated"]] == [str(party.id)]
    assert services.booking.get(party.id).tables == ("C",)

    refused = await client.patch(f"{BASE}/tables/C", json={"max_seats": 3})
    assert [a["id"] for a in assert_problem(refused, 409, "would_strand_bookings")["affected"]] == [str(party.id)]
    assert (await client.patch(f"{BASE}/tables/C", json={"max_seats": 8})).status_code == 200


GARBAGE: list[tuple[str, str, Any]] = [
    ("POST", "/tables", None), ("POST", "/tables", []), ("POST", "/tables", "T1"), ("POST", "/tables", {}),
    ("POST", "/tables", {"name": "T9"}), ("POST", "/tables", {"max_seats": 4}),
    ("POST", "/tables", {"name": "", "max_seats": 4}), ("POST", "/tables", {"name": "   ", "max_seats": 4}),
    ("POST", "/tables", {"name": "x" * 41, "max_seats": 4}), ("POST", "/tables", {"name": "T,9", "max_seats": 4}),
    ("POST", "/tables", {"name": "T\x009", "max_seats": 4}), ("POST", "/tables", {"name": "T\n9", "max_seats": 4}),
    ("POST", "/tables", {"name": "T9", "max_seats": 0}), ("POST", "/tables", {"name": "T9", "max_seats": 101}),
    ("POST", "/tables", {"name": "T9", "max_seats": "4"}), ("POST", "/tables", {"name": "T9", "max_seats": 4.5}),
    ("POST", "/tables", {"name": "T9", "max_seats": 10**30}), ("POST", "/tables", {"name": "T9", "max_seats": True}),
    ("POST", "/tables", {"name": "T9", "min_seats": 5, "max_seats": 4}),
    ("POST", "/tables", {"name": "T9", "max_seats": 4, "area": "a" * 61}),
    ("POST", "/tables", {"name": "T9", "max_seats": 4, "agent_bookable": "yes"}),
    ("POST", "/tables", {"name": "T9", "max_seats": 4, "extra": 1}),
    ("POST", "/tables", {"name": ["T9"], "max_seats": 4}), ("POST", "/tables", {"name": 9, "max_seats": 4}),
    ("POST", "/tables", {"name": "T1", "max_seats": 4}),  # taken
    ("PATCH", "/tables/T1", {}), ("PATCH", "/tables/T1", {"max_seats": None}),
    ("PATCH", "/tables/T1", {"min_seats": 5}), ("PATCH", "/tables/T1", {"max_seats": 0}),
    ("POST", "/tables", {"name": "..", "max_seats": 4}), ("PATCH", "/tables/T1", {"name": "."}),
    ("POST", "/tables", {"name": "T1/T2", "max_seats": 4}), ("POST", "/tables", {"name": "Salle #2", "max_seats": 4}),
    ("POST", "/tables", {"name": "Why?", "max_seats": 4}), ("PATCH", "/tables/T1", {"name": "a\\b"}),
    ("POST", "/table-combinations", {"name": "T1/T2", "tables": ["T1", "T2"]}),
    ("PATCH", "/tables/T1", {"name": "T2"}), ("PATCH", "/tables/T1", {"active": "false"}),
    ("PATCH", "/tables/T1", {"name": "é" * 41}), ("PATCH", "/tables/T1", {"colour": "red"}),
    ("POST", "/table-combinations", {}), ("POST", "/table-combinations", {"name": "X", "tables": ["T1"]}),
    ("POST", "/table-combinations", {"name": "X", "tables": ["T1", "T1"]}),
    ("POST", "/table-combinations", {"name": "X", "tables": "T1,T2"}),
    ("POST", "/table-combinations", {"name": "X", "tables": ["T1", "T2", *[f"Z{i}" for i in range(30)]]}),
    ("POST", "/table-combinations", {"name": "X", "tables": ["T1", "nope"]}),
    ("POST", "/table-combinations", {"name": "X", "tables": ["T1", "T2"], "min_seats": 9, "max_seats": 3}),
    ("POST", "/table-combinations", {"name": "T1+T2", "tables": ["T1", "T2"]}),  # taken
    ("POST", "/table-combinations", {"name": "X,Y", "tables": ["T1", "T2"]}),
    ("POST", "/table-combinations", {"name": "X", "tables": ["T1", "T2"], "agent_bookable": None}),
]


@pytest.mark.parametrize(("method", "path", "body"), GARBAGE, ids=[f"garbage-{i}" for i in range(len(GARBAGE))])
async def test_garbage_gets_a_4xx_that_says_what_is_wrong_and_writes_nothing(
    client: httpx.AsyncClient, database: TestDatabase, method: str, path: str, body: Any
) -> None:
    await add(client, "T1", 4)
    await add(client, "T2", 4)
    assert (await client.post(f"{BASE}/table-combinations", json={"name": "T1+T2", "tables": ["T1", "T2"]})
            ).status_code == 201
    before = floor_state(database)
    response = await client.request(method, BASE + path, json=body)
    assert response.status_code in (400, 404, 422), response.text
    assert assert_problem(response, response.status_code)["detail"]
    assert floor_state(database) == before


@pytest.mark.parametrize("content", [
    b'{"name": "T9", "max_seats": 4', b'{"name": "\\ud800", "max_seats": 4}', b"\xff\xfe{}",
    b'{"name": "T9", "max_seats": 4}' + b" " * 10, '{"name": "Terrasse ☀", "max_seats": 4, "x": 1}'.encode(),
])
async def test_broken_json_and_odd_unicode_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, database: TestDatabase, content: bytes
) -> None:
    before = floor_state(database)
    response = await client.post(f"{BASE}/tables", content=content, headers={"content-type": "application/json"})
    if response.status_code == 201:  # only the one valid body (trailing blanks are fine JSON)
        assert response.json()["table"]["name"] == "T9"
        return
    assert_problem(response, response.status_code)
    assert response.status_code in (400, 422)
    assert floor_state(database) == before


async def test_unicode_names_round_trip_through_the_path(client: httpx.AsyncClient) -> None:
    for name in ("Terrasse ☀ 1", "Salle n°2", "100% window", "T1+T2", "..x", "桌 7", "Ünter-Tisch; 3 & 4"):
        made = await add(client, name, 4)
        assert made["table"]["name"] == name
        path = f"{BASE}/tables/{quote(name, safe='')}"
        changed = await client.patch(path, json={"area": "Ici"})
        assert changed.status_code == 200, (name, changed.text)
        assert changed.json()["table"] | {} == made["table"] | {"area": "Ici"}
    names = [t["name"] for t in (await client.get(f"{BASE}/tables")).json()["tables"]]
    assert sorted(names) == sorted(["Terrasse ☀ 1", "Salle n°2", "100% window", "T1+T2", "..x", "桌 7",
                                    "Ünter-Tisch; 3 & 4"])


async def test_a_name_the_cli_allowed_with_a_slash_or_hash_is_still_reachable_through_the_path(
    client: httpx.AsyncClient, services: Services
) -> None:
    from frontdesk.core.tables import DiningTable

    for name in ("A/B", "Salle #2?"):
        services.tables.add_table("demo-bistro", DiningTable(name, 1, 4), actor="cli")  # type: ignore[attr-defined]
    combined = await client.post(f"{BASE}/table-combinations", json={"name": "AB+2", "tables": ["A/B", "Salle #2?"]})
    assert combined.status_code == 201, combined.text
    for name in ("A/B", "Salle #2?"):
        changed = await client.patch(f"{BASE}/tables/{quote(name, safe='')}", json={"max_seats": 6})
        assert changed.status_code == 200 and changed.json()["table"]["name"] == name, changed.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/restaurants/no-such-place/tables"), ("GET", "/api/v1/restaurants/NOT%20A%20SLUG/tables"),
    ("POST", "/api/v1/restaurants/no-such-place/tables"),
    ("DELETE", "/api/v1/restaurants/no-such-place/tables/T1"), ("DELETE", f"{BASE}/tables/T404"),
    ("PATCH", f"{BASE}/tables/T404"), ("DELETE", f"{BASE}/tables/{'x' * 500}"), ("DELETE", f"{BASE}/tables/a%2Cb"),
    ("DELETE", f"{BASE}/tables/%00"), ("DELETE", f"{BASE}/tables/%FF%FE"), ("DELETE", f"{BASE}/tables/%C3%A9"),
    ("DELETE", f"{BASE}/tables/"), ("DELETE", f"{BASE}/table-combinations/T1%2BT9"),
    ("DELETE", f"{BASE}/table-combinations/{'é' * 300}"),
    ("POST", "/api/v1/restaurants/no-such-place/table-combinations"),
])
async def test_unknown_restaurants_and_tables_are_404s(client: httpx.AsyncClient, database: TestDatabase,
                                                       method: str, path: str) -> None:
    await add(client, "T1", 4)
    before = floor_state(database)
    body = {"name": "T9", "max_seats": 2} if method == "POST" else {"area": "x"} if method == "PATCH" else None
    if path.endswith("table-combinations"):
        body = {"name": "X", "tables": ["T1", "T2"]}
    response = await client.request(method, path, json=body)
    assert_problem(response, 404)
    assert floor_state(database) == before


async def test_a_non_json_body_is_a_415_and_a_bad_force_flag_a_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(f"{BASE}/tables", content="name=T1&max_seats=4",
                                     headers={"content-type": "application/x-www-form-urlencoded"}), 415)
    assert_problem(await client.delete(f"{BASE}/tables/T1", params={"force": "maybe"}), 422, "validation_failed")


async def test_two_owners_adding_the_same_table_at_once_get_one_table_and_one_refusal(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    import anyio

    statuses: list[int] = []

    async def post() -> None:
        response = await client.post(f"{BASE}/tables", json={"name": "T7", "max_seats": 4})
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(post)
    assert sorted(statuses) == [201, 422, 422, 422]
    assert database.scalar("SELECT count(*) FROM dining_tables WHERE name = 'T7'") == 1


# -- who made it: the IAM caller in AWS --------------------------------------------------------------------

def test_in_aws_the_actor_is_the_iam_caller_even_with_a_long_role_session_name(
    services: Services, database: TestDatabase
) -> None:
    from mangum import Mangum

    from frontdesk.api import restaurant_admin, tables
    from frontdesk.api.app import create_app
    from tests.contract.api.apigw_events import LambdaContext

    handler = Mangum(create_app(routers=[restaurant_admin.router, tables.router], services=services),
                     lifespan="off")
    arn = f"arn:aws:sts::123456789012:assumed-role/{'frontdesk-staff-role-' * 3}/{'ana.lopez@bistro.example' * 2}"
    assert len(f"iam:{arn}") > 120
    event = _apigw_event("POST", "/api/v1/restaurants/demo-bistro/tables", {"name": "T1", "max_seats": 4}, arn,
                         headers={"x-actor": "mallory"})
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 201, response
    assert database.scalar("SELECT actor FROM event_log WHERE kind = 'table.added'") == f"iam:{arn}"

    # API Gateway's HTTP API hands Lambda the path decoded: a '+' and a space arrive as themselves.
    for name in ("T2", "T 3"):
        assert handler(_apigw_event("POST", "/api/v1/restaurants/demo-bistro/tables",
                                    {"name": name, "max_seats": 4}, arn), LambdaContext())["statusCode"] == 201
    made = handler(_apigw_event("POST", "/api/v1/restaurants/demo-bistro/table-combinations",
                                {"name": "T2+T 3", "tables": ["T2", "T 3"]}, arn), LambdaContext())
    assert made["statusCode"] == 201, made
    gone = handler(_apigw_event("DELETE", "/api/v1/restaurants/demo-bistro/table-combinations/T2+T 3",
                                None, arn), LambdaContext())
    assert gone["statusCode"] == 200, gone
    assert database.rows("SELECT DISTINCT actor FROM event_log") == [(f"iam:{arn}",)]
