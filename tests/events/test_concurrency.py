"""A reader polling `/events` with its cursor while writers race sees every event, once, in the order the
full list has at the end (SPEC §10: none lost for a change that committed). Requests go through the app
at once, from threads; on SQLite writes take turns, and the same test passes without any interleaving."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import Api
from tests.events.conftest import walk

WRITERS = 6
WRITES_EACH = 15


def test_a_poller_racing_writers_misses_no_event_and_sees_none_twice(api: Api) -> None:
    writing = threading.Event()
    writing.set()
    polled: list[dict[str, Any]] = []

    def poll() -> None:
        cursor = None
        while True:
            done = not writing.is_set()
            page = api.get("/events", params={"per_page": 7} | ({"cursor": cursor} if cursor else {})).json()
            polled.extend(page["data"])
            cursor = page["meta"]["next_cursor"] or cursor
            if done and not page["links"]["next"]:
                return

    def write(writer: int) -> None:
        customer = api.make_customer()
        for step in range(WRITES_EACH):
            assert api.put(f"/customers/{customer['id']}", json={"notes": f"{writer}:{step}"}).status_code == 200

    with ThreadPoolExecutor(max_workers=WRITERS + 1) as pool:
        poller = pool.submit(poll)
        list(pool.map(write, range(WRITERS)))
        writing.clear()
        poller.result()

    everything = walk(api)
    assert len(everything) == WRITERS * (WRITES_EACH + 1)
    assert [event["id"] for event in polled] == [event["id"] for event in everything]
    for writer in range(WRITERS):
        notes = [
            event["data"]["notes"] for event in everything if (event["data"]["notes"] or "").startswith(f"{writer}:")
        ]
        assert notes == [f"{writer}:{step}" for step in range(WRITES_EACH)]
