"""Keys are remembered for 24 hours, then treated as new and deleted."""

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from clientele.customers.models import customers
from clientele.web.idempotency import REPLAYED_HEADER
from tests.cli.processes import last_line, run_clientele
from tests.conftest import Api, next_phone
from tests.idempotency.conftest import CountStored, keyed

AgeKey = Callable[[uuid.UUID, str, timedelta], None]
JUST_EXPIRED = timedelta(hours=24, seconds=1)


def new_customer() -> dict[str, Any]:
    return {"name": "Expiring", "dial_code": 966, "phone": next_phone()}


def test_a_key_younger_than_24_hours_still_replays(api: Api, age_key: AgeKey, count_stored: CountStored) -> None:
    body = new_customer()
    first = api.post("/customers", json=body, headers=keyed("day-old"))
    age_key(api.business_id, "day-old", timedelta(hours=23, minutes=59))

    retried = api.post("/customers", json=body, headers=keyed("day-old"))

    assert (retried.status_code, retried.content, retried.headers[REPLAYED_HEADER]) == (201, first.content, "true")
    assert count_stored(customers, api.business_id) == 1


def test_a_key_older_than_24_hours_is_a_new_key(api: Api, age_key: AgeKey, count_stored: CountStored) -> None:
    api.post("/customers", json=new_customer(), headers=keyed("stale"))
    age_key(api.business_id, "stale", JUST_EXPIRED)

    # Another body would be a 422 while the key lived; expired, it is simply run, then remembered afresh.
    second_body = new_customer()
    second = api.post("/customers", json=second_body, headers=keyed("stale"))
    retried = api.post("/customers", json=second_body, headers=keyed("stale"))

    assert second.status_code == 201, second.text
    assert REPLAYED_HEADER not in second.headers
    assert (retried.content, retried.headers[REPLAYED_HEADER]) == (second.content, "true")
    assert count_stored(customers, api.business_id) == 2


def test_claiming_a_key_deletes_the_business_s_expired_keys(
    api: Api, other_api: Api, age_key: AgeKey, stored_keys: Callable[[uuid.UUID], set[str]]
) -> None:
    expiring = ((api, "old-1"), (api, "old-2"), (other_api, "theirs"))
    for client, key in (*expiring, (api, "young")):
        client.post("/tags", json={"name": key}, headers=keyed(key))
    for client, key in expiring:
        age_key(client.business_id, key, JUST_EXPIRED)

    api.post("/tags", json={"name": "new"}, headers=keyed("new"))

    assert stored_keys(api.business_id) == {"young", "new"}
    # Another business's keys wait for its own next claim, or for the purge below.
    assert stored_keys(other_api.business_id) == {"theirs"}


def test_the_purge_command_deletes_every_business_s_expired_keys_and_only_those(
    database_url: str, api: Api, other_api: Api, age_key: AgeKey, stored_keys: Callable[[uuid.UUID], set[str]]
) -> None:
    for client_of, key in ((api, "expired"), (other_api, "expired"), (api, "live")):
        client_of.post("/tags", json={"name": key}, headers=keyed(key))
    age_key(api.business_id, "expired", JUST_EXPIRED)
    age_key(other_api.business_id, "expired", JUST_EXPIRED)

    output = last_line(run_clientele(database_url, "purge-idempotency-keys"))

    deleted = int(re.fullmatch(r"Deleted (\d+) expired idempotency keys\.", output).group(1))  # type: ignore[union-attr]
    assert deleted >= 2  # keys other tests left expired count too
    assert stored_keys(api.business_id) == {"live"}
    assert stored_keys(other_api.business_id) == set()
