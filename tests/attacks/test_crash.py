"""Crash (issue 4 §4): SIGKILL the server during a stream of creates, then restart it.

Every create answered 201 must be readable after the restart, exactly as it was answered,
and nothing may be half-written: a customer exists with every tag it was sent or not at
all, an address only with its customer, and every count agrees with the rows.
"""

import asyncio
import os
import signal
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.attacks.conftest import Tenant, db_path
from tests.cli.processes import Server, serving
from tests.conftest import Api, next_phone

CLIENTS = 6
TAGS = 4
# Creates answered before the kill: enough that the kill lands in a steady stream.
ACKNOWLEDGED_BEFORE_KILL = 40
STREAM_TIMEOUT_SECONDS = 120


@dataclass
class Stream:
    """What the clients sent and what they were answered, until the server died under them."""

    tenant: Tenant
    server: Server
    tag_ids: list[str]
    sent_tags: dict[str, set[str]] = field(default_factory=dict)
    """The tag ids sent with each customer, by phone."""
    sent_addresses: dict[str, str] = field(default_factory=dict)
    """The customer id each address was sent for, by the address's name."""
    customers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    killed: asyncio.Event = field(default_factory=asyncio.Event)

    def kill_when_enough(self) -> None:
        if len(self.customers) + len(self.addresses) >= ACKNOWLEDGED_BEFORE_KILL and not self.killed.is_set():
            # The whole process group: the supervisor and its workers die at the same instant.
            os.killpg(self.server.process.pid, signal.SIGKILL)
            self.killed.set()

    async def post(self, http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The created record, or None when the server died before answering."""
        try:
            response = await http.post(path, json=body)
        except httpx.TransportError as error:
            self.unanswered.append(f"POST {path}: {error!r}")
            return None
        assert response.status_code == 201, response.text
        return response.json()["data"]

    async def client(self, number: int) -> None:
        async with self.tenant.client(self.server) as http:
            turn = number
            while True:
                turn += 1
                phone = next_phone()
                # Each customer gets its own subset of the tags, so a partial set cannot pass for another.
                chosen = {tag_id for index, tag_id in enumerate(self.tag_ids) if turn >> index & 1} or {self.tag_ids[0]}
                self.sent_tags[phone] = chosen
                customer = await self.post(
                    http,
                    "/customers?include=tags",
                    {
                        "name": f"Streamed {phone}",
                        "dial_code": 966,
                        "phone": phone,
                        "tags": [{"id": tag_id} for tag_id in sorted(chosen)],
                    },
                )
                if customer is None:
                    return
                self.customers.append(customer)
                self.kill_when_enough()
                name = f"Address of {phone}"
                self.sent_addresses[name] = customer["id"]
                address = await self.post(http, "/addresses", {"name": name, "customer_id": customer["id"]})
                if address is None:
                    return
                self.addresses.append(address)
                self.kill_when_enough()


async def stream_until_killed(stream: Stream) -> None:
    async with asyncio.timeout(STREAM_TIMEOUT_SECONDS):
        await asyncio.gather(*(stream.client(number) for number in range(CLIENTS)))


def every_record(http: httpx.Client, path: str, include: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        response = http.get(path, params={"include": include, "per_page": 1000, "page": page})
        assert response.status_code == 200, response.text
        records += response.json()["data"]
        if response.json()["links"]["next"] is None:
            return records
        page += 1


def assert_sqlite_file_is_sound(database_url: str) -> None:
    path = db_path(database_url)
    if path is None:
        return
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_every_create_answered_before_a_sigkill_survives_it_whole(
    database_url: str, tmp_path: Path, client: TestClient, tenant: Tenant
) -> None:
    api = Api(client, tenant.token, tenant.business_id)
    tag_ids = [api.make_tag()["id"] for _ in range(TAGS)]

    with serving(database_url, tmp_path, "--workers", "2") as [server]:
        stream = Stream(tenant, server, tag_ids)
        asyncio.run(stream_until_killed(stream))
        assert server.process.wait() == -signal.SIGKILL

    assert_sqlite_file_is_sound(database_url)
    # One process is enough to read back, and starts sooner.
    with (
        serving(database_url, tmp_path) as [restarted],
        httpx.Client(base_url=restarted.base_url, headers=tenant.headers, timeout=30) as http,
    ):
        reread_customers = [
            http.get(f"/customers/{customer['id']}", params={"include": "tags"}) for customer in stream.customers
        ]
        reread_addresses = [http.get(f"/addresses/{address['id']}") for address in stream.addresses]
        stored_customers = every_record(http, "/customers", "tags,addresses")
        stored_addresses = every_record(http, "/addresses", "")
        counted = http.get("/customers", params={"filter[dial_code]": 966, "per_page": 1}).json()["meta"]["total"]
        total = http.get("/customers", params={"per_page": 1}).json()["meta"]["total"]

    acknowledged = [*stream.customers, *stream.addresses]
    lost = [
        answered
        for answered, reread in zip(acknowledged, [*reread_customers, *reread_addresses], strict=True)
        if reread.status_code != 200 or reread.json()["data"] != answered
    ]
    print(
        f"crash: {len(acknowledged)} creates acknowledged ({len(stream.customers)} customers, "
        f"{len(stream.addresses)} addresses), {len(stream.unanswered)} cut off by the kill, "
        f"{len(stored_customers)} customers and {len(stored_addresses)} addresses checked after restart, "
        f"{len(lost)} lost; {len(stored_customers) - len(stream.customers)} customers and "
        f"{len(stored_addresses) - len(stream.addresses)} addresses committed without an answer"
    )
    assert stream.killed.is_set() and len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert lost == []
    # Nothing half-written: each stored customer was sent, with all its tags; each address was sent
    # for a stored customer and shows up among that customer's addresses.
    assert len({customer["phone"] for customer in stored_customers}) == len(stored_customers)
    for customer in stored_customers:
        assert customer["phone"] in stream.sent_tags
        assert {tag["id"] for tag in customer["tags"]} == stream.sent_tags[customer["phone"]]
    customer_ids = {customer["id"] for customer in stored_customers}
    for address in stored_addresses:
        assert stream.sent_addresses[address["name"]] == address["customer"]["id"]
        assert address["customer"]["id"] in customer_ids
    assert sorted(address["id"] for customer in stored_customers for address in customer["addresses"]) == sorted(
        address["id"] for address in stored_addresses
    )
    assert total == counted == len(stored_customers)
