"""Realistic customers for trials and benchmarks (`clientele seed`), through import's own checks and
writer; the proportions are in the README.
"""

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clientele.auth.service import Principal
from clientele.bulk.files import EVERY_SCOPE, Progress, Rejected, checked_record
from clientele.bulk.staging import Prepared, Record, Related, pipeline, staging
from clientele.db.clock import utcnow
from clientele.db.ids import new_id
from clientele.delivery_zones import service as zones_service
from clientele.delivery_zones.models import delivery_zones
from clientele.tags import service as tags_service
from clientele.tags.models import tags
from clientele.web.wire import TIMESTAMP_FORMAT

SPAN = timedelta(days=730)
BLACKLISTED_SHARE = 0.05
TAGGED_SHARE = 0.30
WITH_ADDRESSES_SHARE = 0.40
WITH_ORDERS_SHARE = 0.60

TAGS = (
    ("VIP", "كبار العملاء"),
    ("Regular", "عميل دائم"),
    ("Corporate", "شركات"),
    ("Delivery", "توصيل"),
    ("Staff", "موظفون"),
    ("Wholesale", "جملة"),
    ("New", "جديد"),
    ("Catering", "تموين"),
)
# (reference, name, name in Arabic, west, south, east, north)
ZONES = (
    ("RUH-N", "Riyadh North", "شمال الرياض", 46.55, 24.75, 46.80, 24.95),
    ("RUH-S", "Riyadh South", "جنوب الرياض", 46.65, 24.50, 46.90, 24.70),
    ("JED", "Jeddah", "جدة", 39.10, 21.40, 39.30, 21.70),
    ("DMM", "Dammam", "الدمام", 49.95, 26.30, 50.20, 26.50),
    ("MKK", "Makkah", "مكة المكرمة", 39.75, 21.35, 39.95, 21.50),
)

ARAB_MEN = (
    ("Mohammed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Abdullah", "عبدالله"),
    ("Khalid", "خالد"),
    ("Faisal", "فيصل"),
    ("Omar", "عمر"),
    ("Saud", "سعود"),
    ("Fahad", "فهد"),
    ("Sultan", "سلطان"),
    ("Turki", "تركي"),
    ("Nasser", "ناصر"),
    ("Yousef", "يوسف"),
    ("Ali", "علي"),
    ("Hassan", "حسن"),
    ("Ibrahim", "إبراهيم"),
    ("Majed", "ماجد"),
    ("Rayan", "ريان"),
    ("Ziyad", "زياد"),
)
ARAB_WOMEN = (
    ("Fatimah", "فاطمة"),
    ("Noura", "نورة"),
    ("Sarah", "سارة"),
    ("Aisha", "عائشة"),
    ("Maha", "مها"),
    ("Reem", "ريم"),
    ("Hessa", "حصة"),
    ("Lama", "لمى"),
    ("Jawaher", "جواهر"),
    ("Amal", "أمل"),
    ("Mariam", "مريم"),
    ("Haifa", "هيفاء"),
    ("Dana", "دانة"),
    ("Lulwa", "لولوة"),
)
ARAB_FAMILIES = (
    ("Al-Qahtani", "القحطاني"),
    ("Al-Otaibi", "العتيبي"),
    ("Al-Ghamdi", "الغامدي"),
    ("Al-Harbi", "الحربي"),
    ("Al-Zahrani", "الزهراني"),
    ("Al-Dosari", "الدوسري"),
    ("Al-Shehri", "الشهري"),
    ("Al-Mutairi", "المطيري"),
    ("Al-Shammari", "الشمري"),
    ("Al-Subaie", "السبيعي"),
    ("Al-Anazi", "العنزي"),
    ("Al-Maliki", "المالكي"),
    ("Al-Tamimi", "التميمي"),
    ("Al-Juhani", "الجهني"),
    ("Hassan", "حسن"),
    ("Mansour", "منصور"),
)
WESTERN = (
    ("James", "Oliver", "Jack", "Harry", "Michael", "David", "John", "Daniel"),
    ("Olivia", "Emily", "Sophie", "Emma", "Jessica", "Charlotte", "Amelia", "Grace"),
    ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Miller", "Garcia"),
)
SOUTH_ASIAN = (
    ("Rahul", "Amit", "Imran", "Arjun", "Vikram", "Bilal"),
    ("Priya", "Anjali", "Ayesha", "Sana", "Deepa", "Fatima"),
    ("Sharma", "Patel", "Nair", "Khan", "Reddy", "Qureshi", "Iyer", "Malik"),
)
FILIPINO = (
    ("Jose", "Mark", "John Paul", "Angelo"),
    ("Maria", "Angel", "Kristine", "Joy"),
    ("Santos", "Reyes", "Cruz", "Bautista", "Garcia", "Mendoza"),
)
EMAIL_DOMAINS = ("gmail.com",) * 5 + ("hotmail.com", "outlook.com", "yahoo.com", "icloud.com")


@dataclass(frozen=True)
class DialPlan:
    """Possible numbers of one dial code: a prefix and so many digits after it."""

    dial_code: int
    weight: int
    prefixes: tuple[str, ...]
    digits: int
    people: str  # which names fit

    @property
    def space(self) -> int:
        return len(self.prefixes) * int(10**self.digits)


DIAL_PLANS = (
    DialPlan(966, 74, ("5",), 8, "arab"),
    DialPlan(971, 6, ("50", "52", "54", "55", "56", "58"), 7, "arab"),
    DialPlan(965, 3, ("5", "6", "9"), 7, "arab"),
    DialPlan(973, 2, ("3",), 7, "arab"),
    DialPlan(974, 2, ("3", "5", "6", "7"), 7, "arab"),
    DialPlan(962, 1, ("77", "78", "79"), 7, "arab"),
    DialPlan(20, 4, ("10", "11", "12", "15"), 8, "arab"),
    DialPlan(44, 2, ("74", "75", "77", "78", "79"), 8, "western"),
    DialPlan(1, 2, ("201", "212", "305", "415", "646", "713"), 7, "western"),
    DialPlan(91, 2, ("98", "99"), 8, "south_asian"),
    DialPlan(92, 1, ("300", "321", "333"), 7, "south_asian"),
    DialPlan(63, 1, ("917", "918", "927"), 7, "filipino"),
)
DIAL_PLAN_WEIGHTS = tuple(itertools.accumulate(plan.weight for plan in DIAL_PLANS))
# A prime, so coprime with every plan's space (their factors are 2, 3 and 5): stepping by it
# visits every number of a space once before any repeats, so each row's phone is distinct.
PHONE_STRIDE = 982_451_653


@dataclass(frozen=True)
class Zone:
    id: str
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class SeedChunk:
    """What a worker needs to make one batch of customers."""

    random_seed: int
    start: int
    count: int
    business_id: str
    tag_ids: tuple[str, ...]
    zones: tuple[Zone, ...]
    now: datetime


@dataclass
class SeedReport:
    created: int = 0
    existing: int = 0
    rejected: int = 0
    tag_links: int = 0
    addresses: int = 0


def phone_offsets(random_seed: int) -> dict[int, int]:
    """Where each plan's numbers start for this random seed."""
    return {
        plan.dial_code: random.Random(f"{random_seed}:{plan.dial_code}").randrange(plan.space) for plan in DIAL_PLANS
    }


def phone_of(plan: DialPlan, row: int, offsets: dict[int, int]) -> str:
    """The national number of row `row` under this plan: distinct for distinct rows below the plan's space
    (ten million for the smallest), so a seed of up to that many customers has no phone twice."""
    number = (offsets[plan.dial_code] + row * PHONE_STRIDE) % plan.space
    prefix, rest = divmod(number, 10**plan.digits)
    return f"{plan.prefixes[prefix]}{rest:0{plan.digits}d}"


def as_typed(rng: random.Random, plan: DialPlan, phone: str) -> str:
    """The phone as a person types it: with the trunk 0 or separators now and then (import normalises)."""
    if plan.dial_code == 966:
        choice = rng.random()
        if choice < 0.3:
            return f"0{phone}"
        if choice < 0.45:
            return f"0{phone[:2]} {phone[2:5]} {phone[5:]}"
    return phone


def person(rng: random.Random, plan: DialPlan) -> tuple[str, str, int]:
    """(name as stored, name in Latin letters for the email, gender)."""
    gender = rng.choice((1, 2))
    if plan.people == "arab":
        # Each Arab name is (in Latin letters, in Arabic script).
        given = rng.choice(ARAB_MEN if gender == 1 else ARAB_WOMEN)
        family = rng.choice(ARAB_FAMILIES)
        arabic = rng.random() < 0.5
        name = f"{given[1]} {family[1]}" if arabic else f"{given[0]} {family[0]}"
        return name, f"{given[0]}.{family[0]}", gender
    men, women, families = {"western": WESTERN, "south_asian": SOUTH_ASIAN, "filipino": FILIPINO}[plan.people]
    first, last = rng.choice(men if gender == 1 else women), rng.choice(families)
    return f"{first} {last}", f"{first}.{last}", gender


def timestamp_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def customer_fields(
    rng: random.Random, row: int, chunk: SeedChunk, offsets: dict[int, int], created_at: datetime
) -> dict[str, Any]:
    """One customer as an import row would give it."""
    [plan] = rng.choices(DIAL_PLANS, cum_weights=DIAL_PLAN_WEIGHTS)
    name, latin, gender = person(rng, plan)
    fields: dict[str, Any] = {
        "name": name,
        "dial_code": plan.dial_code,
        "phone": as_typed(rng, plan, phone_of(plan, row, offsets)),
        "is_blacklisted": rng.random() < BLACKLISTED_SHARE,
        "is_loyalty_enabled": rng.random() < 0.35,
    }
    if rng.random() < 0.85:
        fields["gender"] = gender
    if rng.random() < 0.55:
        local = latin.lower().replace(" ", "")
        fields["email"] = f"{local}{rng.randrange(1, 1000)}@{rng.choice(EMAIL_DOMAINS)}"
    if rng.random() < 0.5:
        fields["birth_date"] = (date(1950, 1, 1) + timedelta(days=rng.randrange(58 * 365))).isoformat()
    if rng.random() < 0.08:
        fields["is_house_account_enabled"] = True
        fields["house_account_limit"] = rng.choice((500, 1000, 2000, 5000))
    if rng.random() < WITH_ORDERS_SHARE:
        fields["order_count"] = min(1 + int(rng.expovariate(1 / 12)), 5000)
        fields["last_order_at"] = timestamp_between(rng, created_at, chunk.now).strftime(TIMESTAMP_FORMAT)
    return fields


def address_records(rng: random.Random, chunk: SeedChunk, customer_id: str, created_at: datetime) -> list[Record]:
    records = []
    for _ in range(rng.randint(1, 3)):
        zone_id = latitude = longitude = None
        where = rng.random()
        if where < 0.75 and chunk.zones:
            zone = rng.choice(chunk.zones)
            zone_id = zone.id
            latitude, longitude = rng.uniform(zone.south, zone.north), rng.uniform(zone.west, zone.east)
        elif where < 0.9:
            latitude, longitude = rng.uniform(17.0, 31.0), rng.uniform(36.5, 55.0)
        at = timestamp_between(rng, created_at, chunk.now)
        records.append(
            (
                chunk.business_id,
                str(new_id()),
                customer_id,
                zone_id,
                rng.choice(("Home", "Work", "المنزل", "العمل", "Office", "Villa", "الاستراحة")),
                f"Building {rng.randrange(1, 9000)}, street {rng.randrange(1, 400)}"
                if rng.random() < 0.5
                else f"مبنى {rng.randrange(1, 9000)}، شارع {rng.randrange(1, 400)}",
                None if latitude is None else f"{latitude:.6f}",
                None if longitude is None else f"{longitude:.6f}",
                at,
                at,
            )
        )
    return records


ADDRESS_COLUMNS = (
    "business_id",
    "id",
    "customer_id",
    "delivery_zone_id",
    "name",
    "description",
    "latitude",
    "longitude",
    "created_at",
    "updated_at",
)
TAG_LINK_COLUMNS = ("business_id", "customer_id", "tag_id")


def generate_chunk(chunk: SeedChunk) -> Prepared:
    """Make and check one batch of customers, with their tag links and addresses (in a worker process)."""
    rng = random.Random(f"{chunk.random_seed}:{chunk.start}")
    offsets = phone_offsets(chunk.random_seed)
    records: list[Record] = []
    rejects: list[dict[str, Any]] = []
    links: list[Record] = []
    addresses: list[Record] = []
    for row in range(chunk.start, chunk.start + chunk.count):
        created_at = chunk.now - SPAN * rng.random()
        updated_at = created_at if rng.random() < 0.4 else timestamp_between(rng, created_at, chunk.now)
        fields = customer_fields(rng, row, chunk, offsets, created_at)
        try:
            record = checked_record(row + 1, fields)
        except Rejected as rejected:
            rejects.append({"line": row + 1, "errors": rejected.errors, "row": fields})
            continue
        records.append(record[:-2] + (created_at, updated_at))
        customer_id = record[1]
        if chunk.tag_ids and rng.random() < TAGGED_SHARE:
            links.extend(
                (chunk.business_id, customer_id, tag_id)
                for tag_id in rng.sample(chunk.tag_ids, rng.randint(1, min(3, len(chunk.tag_ids))))
            )
        if rng.random() < WITH_ADDRESSES_SHARE:
            addresses.extend(address_records(rng, chunk, customer_id, created_at))
    return Prepared(
        records=records,
        rejects=rejects,
        position=chunk.start + chunk.count,
        related=[Related("customer_tags", TAG_LINK_COLUMNS, links), Related("addresses", ADDRESS_COLUMNS, addresses)],
    )


async def seed_references(*, connection: AsyncConnection, business_id: uuid.UUID) -> tuple[list[str], list[Zone]]:
    """The seed's tags and delivery zones, made through their services unless an earlier seed made them."""
    principal = Principal(business_id=business_id, token_id=uuid.UUID(int=0), scopes=EVERY_SCOPE)
    have_tags = {
        row.name: str(row.id)
        for row in await connection.execute(
            select(tags.c.id, tags.c.name).where(
                tags.c.business_id == business_id,
                tags.c.deleted_at.is_(None),
                tags.c.name.in_([name for name, _ in TAGS]),
            )
        )
    }
    for name, localized in TAGS:
        if name not in have_tags:
            made = await tags_service.create_tag(
                connection=connection, principal=principal, body={"name": name, "name_localized": localized}
            )
            have_tags[name] = str(made.id)
    z = delivery_zones.c
    have_zones = {
        row.reference: str(row.id)
        for row in await connection.execute(
            select(z.id, z.reference).where(
                z.business_id == business_id, z.deleted_at.is_(None), z.reference.in_([zone[0] for zone in ZONES])
            )
        )
    }
    zones = []
    for reference, name, localized, west, south, east, north in ZONES:
        if reference not in have_zones:
            made = await zones_service.create_zone(
                connection=connection,
                principal=principal,
                body={
                    "name": name,
                    "name_localized": localized,
                    "reference": reference,
                    "coordinates": [[west, south], [east, south], [east, north], [west, north], [west, south]],
                },
            )
            have_zones[reference] = str(made.id)
        zones.append(Zone(have_zones[reference], west, south, east, north))
    return [have_tags[name] for name, _ in TAGS], zones


def seed_chunks(
    *, random_seed: int, count: int, batch_size: int, business_id: uuid.UUID, tag_ids: list[str], zones: list[Zone]
) -> Iterator[SeedChunk]:
    now = utcnow()
    for start in range(0, count, batch_size):
        yield SeedChunk(
            random_seed=random_seed,
            start=start,
            count=min(batch_size, count - start),
            business_id=str(business_id),
            tag_ids=tuple(tag_ids),
            zones=tuple(zones),
            now=now,
        )


async def seed_customers(
    *,
    engine: AsyncEngine,
    business_id: uuid.UUID,
    count: int,
    random_seed: int | None,
    batch_size: int,
    jobs: int,
    progress: Progress | None = None,
) -> SeedReport:
    """Create `count` realistic customers (fewer if an earlier seed with the same random seed made some)."""
    seed = random.SystemRandom().randrange(2**32) if random_seed is None else random_seed
    report = SeedReport()
    async with staging(engine, business_id) as writer:
        async with writer.connection.begin():
            tag_ids, zones = await seed_references(connection=writer.connection, business_id=business_id)

        async def consume(_chunk: SeedChunk, prepared: Prepared) -> None:
            written = await writer.write(prepared)
            report.created += len(written.created)
            report.existing += written.existing + len(written.duplicates)
            report.rejected += len(prepared.rejects)
            report.tag_links += written.related.get("customer_tags", 0)
            report.addresses += written.related.get("addresses", 0)
            if progress is not None:
                progress(prepared.position, count)

        await pipeline(
            seed_chunks(
                random_seed=seed,
                count=count,
                batch_size=batch_size,
                business_id=business_id,
                tag_ids=tag_ids,
                zones=zones,
            ),
            generate_chunk,
            consume,
            jobs=jobs,
        )
        await writer.record_run(
            source="seed", created=report.created, rejected=report.rejected, skipped=report.existing
        )
    return report
