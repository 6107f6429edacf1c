"""Records' bodies with the relations a request includes (`include=`), one query per relation.

Relations cross domains both ways (a customer includes its addresses, an address its customer),
so they are attached here, above the domains, which know only their own records and lookups.
"""

from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.addresses import service as addresses_service
from clientele.addresses.schemas import address_body
from clientele.auth.service import Principal
from clientele.customers import service as customers_service
from clientele.customers.schemas import customer_body
from clientele.delivery_zones import service as zones_service
from clientele.delivery_zones.schemas import zone_body
from clientele.ledgers import service as ledgers_service
from clientele.tags import service as tags_service
from clientele.tags.schemas import tag_body


async def customer_bodies(
    *, connection: AsyncConnection, principal: Principal, rows: list[Row[Any]], includes: frozenset[str]
) -> list[dict[str, Any]]:
    """Customers as the caller may see them, with their tags and addresses where included."""
    bodies = [customer_body(row, principal.scopes) for row in rows]
    ids = [row.id for row in rows]
    if "tags" in includes:
        tags = await tags_service.tags_of_customers(
            connection=connection, business_id=principal.business_id, customer_ids=ids
        )
        for customer_id, body in zip(ids, bodies, strict=True):
            body["tags"] = tags.get(customer_id, [])
    if "addresses" in includes:
        addresses = await addresses_service.addresses_of_customers(
            connection=connection,
            business_id=principal.business_id,
            customer_ids=ids,
            with_delivery_zone="addresses.delivery_zone" in includes,
        )
        for customer_id, body in zip(ids, bodies, strict=True):
            body["addresses"] = addresses.get(customer_id, [])
    return bodies


async def address_bodies(
    *, connection: AsyncConnection, principal: Principal, rows: list[Row[Any]], includes: frozenset[str]
) -> list[dict[str, Any]]:
    """Addresses, with their customer (as the caller may see it) and delivery zone where included."""
    bodies = [address_body(row) for row in rows]
    if "customer" in includes:
        customers = await customers_service.customers_by_ids(
            connection=connection, principal=principal, ids=list({row.customer_id for row in rows})
        )
        for row, body in zip(rows, bodies, strict=True):
            body["customer"] = customers[row.customer_id]
    if "delivery_zone" in includes:
        await addresses_service.attach_delivery_zones(
            connection=connection, business_id=principal.business_id, rows=rows, bodies=bodies
        )
    return bodies


async def ledger_entry_bodies(
    *,
    connection: AsyncConnection,
    principal: Principal,
    ledger: ledgers_service.Ledger,
    rows: list[Row[Any]],
    includes: frozenset[str],
) -> list[dict[str, Any]]:
    """A ledger's entries, with their customer (as the caller may see it) where included (one query)."""
    bodies = [ledgers_service.entry_body(ledger, row) for row in rows]
    if "customer" in includes:
        customers = await customers_service.customers_by_ids(
            connection=connection, principal=principal, ids=list({row.customer_id for row in rows})
        )
        for row, body in zip(rows, bodies, strict=True):
            body["customer"] = customers[row.customer_id]
    return bodies


async def tag_bodies(
    *, connection: AsyncConnection, principal: Principal, rows: list[Row[Any]], includes: frozenset[str]
) -> list[dict[str, Any]]:
    """Tags, with how many customers hold each where `customersCount` is included (one query)."""
    bodies = [tag_body(row) for row in rows]
    if "customersCount" in includes:
        # A deleted tag is on no customer: includes and filters leave it out.
        counts = await tags_service.active_customers_per_tag(
            connection=connection,
            business_id=principal.business_id,
            tag_ids=[row.id for row in rows if row.deleted_at is None],
        )
        for row, body in zip(rows, bodies, strict=True):
            body["customers_count"] = counts.get(row.id, 0)
    return bodies


async def zone_bodies(
    *, connection: AsyncConnection, principal: Principal, rows: list[Row[Any]], includes: frozenset[str]
) -> list[dict[str, Any]]:
    """Delivery zones, with the branches each serves where `branches` is included (one query)."""
    bodies = [zone_body(row) for row in rows]
    if "branches" in includes:
        branches = await zones_service.branches_of_zones(
            connection=connection, business_id=principal.business_id, zone_ids=[row.id for row in rows]
        )
        for row, body in zip(rows, bodies, strict=True):
            body["branches"] = [{"id": branch_id} for branch_id in branches.get(row.id, [])]
    return bodies
