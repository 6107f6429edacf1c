"""Bulk import and export of a business's customers (`clientele import`, `clientele export`).

Every imported row is checked by the API's own rules and written by the staging writer
(docs/decisions.md, "Bulk import and export").
"""

import codecs
import csv
import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from clientele.auth import service as auth
from clientele.auth.scopes import ALL_SCOPES
from clientele.bulk.staging import DEFAULT_BATCH_SIZE, LEDGERS, BulkError, Prepared, Record, pipeline, staging
from clientele.customers.models import customers
from clientele.customers.schemas import REQUIRED_ON_CREATE, CustomerImport, CustomerOut, customer_body
from clientele.db.ids import new_id
from clientele.errors import FieldErrors, Unprocessable
from clientele.web.validation import validate_body

FORMAT_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
EXPORT_BATCH_SIZE = 5_000
MAX_CSV_VALUE = 16 * 1024 * 1024

# The columns a file may set; anything else in it (id, timestamps, tags) is ignored, as the
# API ignores read-only and unknown fields in a body. The balances become opening ledger entries.
IMPORT_FIELDS = (
    "name",
    "dial_code",
    "phone",
    "email",
    "gender",
    "birth_date",
    "house_account_limit",
    "is_loyalty_enabled",
    "is_blacklisted",
    "is_house_account_enabled",
    "order_count",
    "last_order_at",
    "notes",
    "house_account_balance",
    "loyalty_balance",
)
BOOLEAN_FIELDS = frozenset({"is_loyalty_enabled", "is_blacklisted", "is_house_account_enabled"})
# CSV has no types: these cells are the booleans the API takes as `true`/`false`/`1`/`0`.
CSV_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
EXPORT_FIELDS = tuple(name for name in CustomerOut.model_fields if name not in ("tags", "addresses"))
EVERY_SCOPE = frozenset(ALL_SCOPES)

Progress = Callable[[int, int | None], None]
"""`progress(done, total)`: how far a command has got, for a progress bar."""


# --- checking rows ------------------------------------------------------------------------


class Deleted(Exception):
    """A row of a deleted customer (an export with `--include-deleted`): import makes active customers only."""


class Rejected(Exception):
    """A line that cannot be imported: its field errors, and what to show of it when it is not the line as read."""

    def __init__(self, errors: FieldErrors, shown: Any = None):
        super().__init__(errors)
        self.errors = errors
        self.shown = shown


def checked_record(line: int, row: dict[str, Any]) -> Record:
    """A row checked by the API's rules (422 sentences), ready to stage; Rejected if any field is bad.
    Its created_at and updated_at are None: the writer stamps the time its batch is stored."""
    try:
        parsed = validate_body(CustomerImport, row, required=REQUIRED_ON_CREATE)
    except Unprocessable as error:
        raise Rejected(error.errors or {}) from None
    return (
        line,
        str(new_id()),
        parsed.name,
        parsed.dial_code,
        parsed.phone,
        parsed.email,
        parsed.gender,
        parsed.birth_date,
        parsed.house_account_limit,
        bool(parsed.is_loyalty_enabled),
        bool(parsed.is_blacklisted),
        bool(parsed.is_house_account_enabled),
        parsed.last_order_at,
        parsed.order_count or 0,
        parsed.notes,
        parsed.house_account_balance,
        parsed.loyalty_balance,
        None,
        None,
    )


def csv_fields(header: tuple[str, ...], cells: list[str] | str, deleted_at: int | None) -> dict[str, Any]:
    """A CSV line as a body: an empty cell is a field not given, boolean cells become booleans.

    `cells` is a string where the CSV reader could not split the line: the reason. `deleted_at` is
    the position of that column, if the header has it.
    """
    if isinstance(cells, str):
        raise Rejected({"row": [f"The line cannot be read as CSV: {cells}."]}, "")
    # First: the rejects file shows the line, and it can only show text.
    if not is_utf8(cells):
        raise Rejected(
            {"row": ["The line is not valid UTF-8."]},
            [cell.encode(errors="surrogateescape").decode(errors="replace") for cell in cells],
        )
    if len(cells) != len(header):
        raise Rejected(
            {"row": [f"The line has {len(cells)} values but the header names {len(header)} columns."]}, cells
        )
    if deleted_at is not None and cells[deleted_at].strip():
        raise Deleted
    row: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if name not in IMPORT_FIELDS or not cell.strip():
            continue
        row[name] = CSV_BOOLEANS.get(cell.strip().lower(), cell) if name in BOOLEAN_FIELDS else cell
    return row


def is_utf8(cells: list[str]) -> bool:
    """Whether the cells were valid UTF-8: the file is read with undecodable bytes kept as surrogates."""
    try:
        "".join(cells).encode()
    except UnicodeEncodeError:
        return False
    return True


def jsonl_fields(line: bytes) -> dict[str, Any]:
    """A JSON Lines line as a body, exactly as the API would receive it."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise Rejected({"row": ["The line is not valid JSON."]}, line.decode(errors="replace").rstrip("\r\n")) from None
    if not isinstance(value, dict):
        raise Rejected({"row": ["The line must be a JSON object."]}, value)
    if value.get("deleted_at") is not None and str(value["deleted_at"]).strip():
        raise Deleted
    return {name: value for name, value in value.items() if name in IMPORT_FIELDS}


@dataclass(frozen=True)
class Chunk:
    """Lines of an import file for one batch: (line number, CSV cells or JSON Lines bytes)."""

    format: str
    header: tuple[str, ...]
    lines: list[tuple[int, Any]]
    position: int


def row_as_read(chunk: Chunk, raw: Any) -> Any:
    """A line of the file as it was read, for the rejects file: what the user fixes is there."""
    return dict(zip(chunk.header, raw, strict=True)) if chunk.format == "csv" else orjson.loads(raw)


def prepare_chunk(chunk: Chunk) -> Prepared:
    """Check one batch of lines (in a worker process): staged records and rejects."""
    records: list[Record] = []
    rejects: list[dict[str, Any]] = []
    deleted = 0
    deleted_at = chunk.header.index("deleted_at") if "deleted_at" in chunk.header else None
    for line, raw in chunk.lines:
        try:
            fields = csv_fields(chunk.header, raw, deleted_at) if chunk.format == "csv" else jsonl_fields(raw)
            records.append(checked_record(line, fields))
        except Deleted:
            deleted += 1
        except Rejected as rejected:
            shown = row_as_read(chunk, raw) if rejected.shown is None else rejected.shown
            rejects.append({"line": line, "errors": rejected.errors, "row": shown})
    return Prepared(records=records, rejects=rejects, deleted=deleted, position=chunk.position)


# --- reading files ------------------------------------------------------------------------


def format_of(path: Path, given: str | None) -> str:
    if given is not None:
        return given
    found = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise BulkError(f"Cannot tell the format of {path} from its name: pass --format csv or --format jsonl.")
    return found


def export_format_of(output: Path | None) -> str:
    """The format an export file's extension names; CSV when it names none."""
    return FORMAT_BY_SUFFIX.get(output.suffix.lower(), "csv") if output is not None else "csv"


def csv_header(cells: list[str]) -> tuple[str, ...]:
    if not is_utf8(cells):
        raise BulkError("The header line is not valid UTF-8: save the file as UTF-8.")
    # Matched as people write them: `Dial Code` and `DIAL_CODE` are `dial_code`.
    header = tuple(re.sub(r"[\s_]+", "_", cell.strip().lower()) for cell in cells)
    missing = [name for name in REQUIRED_ON_CREATE if name not in header]
    if missing:
        raise BulkError(f"The first line must be a header naming the columns; it lacks {', '.join(missing)}.")
    repeated = sorted({name for name in header if header.count(name) > 1 and name in IMPORT_FIELDS})
    if repeated:
        raise BulkError(f"The header names {', '.join(repeated)} more than once.")
    return header


def bytes_read(handle: io.TextIOWrapper) -> int:
    """How far into the file a text handle has read (its own `tell` is off while a reader iterates it)."""
    return cast(io.BufferedIOBase, handle.buffer).tell()


def csv_chunks(handle: io.TextIOWrapper, batch_size: int) -> Iterator[Chunk]:
    # Past its limit the reader gives up on a value and goes on at the next line: inside a quoted
    # value over many lines, that reads the rest of the value as rows. Every value a row may hold
    # is far below this limit, so a value that reaches it is one rejected row, and memory stays bounded.
    csv.field_size_limit(MAX_CSV_VALUE)
    reader = csv.reader(handle)
    header: tuple[str, ...] | None = None
    lines: list[tuple[int, Any]] = []
    while True:
        first_line = reader.line_num + 1
        try:
            cells: list[str] | str = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The reader goes on with the next line; this one goes to the rejects with the reason.
            cells = str(error)
        if not cells:
            continue
        if header is None:
            if isinstance(cells, str):
                raise BulkError(f"The header line cannot be read as CSV: {cells}.")
            header = csv_header(cells)
            continue
        lines.append((first_line, cells))
        if len(lines) >= batch_size:
            yield Chunk("csv", header, lines, bytes_read(handle))
            lines = []
    if header is None:
        raise BulkError("The file is empty: a CSV import starts with a header line naming the columns.")
    if lines:
        yield Chunk("csv", header, lines, bytes_read(handle))


def jsonl_chunks(handle: IO[bytes], batch_size: int) -> Iterator[Chunk]:
    lines: list[tuple[int, Any]] = []
    for number, line in enumerate(handle, start=1):
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line.strip():
            continue
        lines.append((number, line))
        if len(lines) >= batch_size:
            yield Chunk("jsonl", (), lines, handle.tell())
            lines = []
    if lines:
        yield Chunk("jsonl", (), lines, handle.tell())


# --- import -----------------------------------------------------------------------------


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    existing: int = 0
    deleted: int = 0
    rejected: int = 0
    opening_entries: int = 0  # ledger entries made of the imported balances
    rejects_path: Path | None = None


class RejectsFile:
    """The rejects file, written aside as `PATH.partial` and put in place when the run ends: a run
    that wrote rejects replaces the last run's file, one that completed without any removes it,
    and one that failed before any leaves it alone. Opened at once, so that a path that cannot
    be written stops the run before it writes a row."""

    def __init__(self, path: Path, *, source: Path):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        if source.resolve() in (path.resolve(), self.partial.resolve()):
            raise BulkError(
                f"The rejects file {path} would overwrite the file being imported: choose another --rejects path."
            )
        try:
            self.handle = self.partial.open("wb")
        except OSError as error:
            raise BulkError(f"Cannot write the rejects file {path}: {error.strerror}.") from None

    def write(self, rejects: Iterable[dict[str, Any]]) -> int:
        count = 0
        for reject in rejects:
            self.handle.write(orjson.dumps(reject) + b"\n")
            count += 1
        return count

    def close(self, *, completed: bool) -> None:
        wrote_any = self.handle.tell() > 0
        self.handle.close()
        if wrote_any:
            self.partial.replace(self.path)
            return
        self.partial.unlink()
        if completed:
            self.path.unlink(missing_ok=True)


def duplicate_rejects(chunk: Chunk, duplicates: list[tuple[int, int]]) -> list[dict[str, Any]]:
    if not duplicates:
        return []
    raw_lines = dict(chunk.lines)
    return [
        {
            "line": line,
            "errors": {"phone": [f"The phone has already been taken by line {first} of this file."]},
            "row": row_as_read(chunk, raw_lines[line]),
        }
        for line, first in duplicates
    ]


async def import_customers(
    *,
    engine: AsyncEngine,
    business_id: uuid.UUID,
    path: Path,
    file_format: str,
    rejects_path: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int = 1,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV or JSON Lines file of customers into a business; see the module docstring."""
    report = ImportReport()
    rejects = RejectsFile(rejects_path, source=path)
    total = path.stat().st_size
    completed = False
    try:
        async with staging(engine, business_id) as writer:

            async def consume(chunk: Chunk, prepared: Prepared) -> None:
                written = await writer.write(prepared)
                report.rows += len(prepared.records) + len(prepared.rejects) + prepared.deleted
                report.created += len(written.created)
                report.existing += written.existing
                report.deleted += prepared.deleted
                report.opening_entries += sum(written.related.get(table.name, 0) for table in LEDGERS.values())
                found = prepared.rejects + duplicate_rejects(chunk, written.duplicates)
                report.rejected += rejects.write(sorted(found, key=lambda reject: reject["line"]))
                if progress is not None:
                    progress(prepared.position, total)

            if file_format == "csv":
                with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
                    await pipeline(csv_chunks(handle, batch_size), prepare_chunk, consume, jobs=jobs)
            else:
                with path.open("rb") as binary:
                    await pipeline(jsonl_chunks(binary, batch_size), prepare_chunk, consume, jobs=jobs)
            await writer.record_run(
                source="import",
                created=report.created,
                rejected=report.rejected,
                skipped=report.existing + report.deleted,
            )
        completed = True
    finally:
        rejects.close(completed=completed)
    if report.rejected:
        report.rejects_path = rejects_path
    return report


# --- export -----------------------------------------------------------------------------


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


async def export_customers(
    *,
    engine: AsyncEngine,
    business_id: uuid.UUID,
    sink: IO[bytes],
    file_format: str,
    include_deleted: bool = False,
    progress: Progress | None = None,
    batch_size: int = EXPORT_BATCH_SIZE,
) -> int:
    """Write a business's customers, oldest first, with every field; rows are streamed, never all held."""
    c = customers.c
    scope = [c.business_id == business_id]
    if not include_deleted:
        scope.append(c.deleted_at.is_(None))
    async with engine.connect() as connection:
        if not await auth.business_exists(connection=connection, business_id=business_id):
            raise BulkError(f"No business with id {business_id}.")
        total = None
        if progress is not None:
            total = await connection.scalar(select(func.count()).select_from(customers).where(*scope))
            progress(0, total)
        if file_format == "csv":
            sink.write((",".join(EXPORT_FIELDS) + "\r\n").encode())
        written = 0
        result = await connection.stream(
            select(customers).where(*scope).order_by(c.created_at, c.id).execution_options(yield_per=batch_size)
        )
        async for rows in result.partitions():
            bodies = [customer_body(row, EVERY_SCOPE) for row in rows]
            if file_format == "csv":
                text_out = io.StringIO()
                writer = csv.writer(text_out)
                writer.writerows([csv_cell(body[name]) for name in EXPORT_FIELDS] for body in bodies)
                sink.write(text_out.getvalue().encode())
            else:
                sink.write(b"".join(orjson.dumps(body) + b"\n" for body in bodies))
            written += len(bodies)
            if progress is not None:
                progress(written, total)
        return written
