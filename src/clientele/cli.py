"""The `clientele` command: serve, migrate, manage businesses and tokens (SPEC §7), move
customers in bulk (import, export, seed), and print a customer's house-account statement."""

import asyncio
import logging.config
import re
import secrets
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import orjson
import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from uvicorn.config import STARTUP_FAILURE

from clientele.auth import service as auth
from clientele.auth.scopes import ALL_SCOPES
from clientele.bulk import files as bulk
from clientele.bulk import seeding, staging
from clientele.config import ConfigurationError, load_settings
from clientele.db.clock import utcnow
from clientele.db.engine import (
    DatabaseUnreachable,
    SchemaNotUpgradable,
    check_reachable,
    create_engine,
    exclusive_transaction,
    migrate,
)
from clientele.db.ids import parse_uuid
from clientele.errors import BadRequest
from clientele.events import service as events
from clientele.ledgers import statements
from clientele.listing.pages import fetch_page
from clientele.listing.query import MAX_PER_PAGE, parse_list_query
from clientele.serving import ServeError, announcements, bind_listener, check_tls_files, run_server, serve_log_config
from clientele.web import idempotency
from clientele.web.wire import format_timestamp
from clientele.webhooks import deliverer

app = typer.Typer(
    help="Clientele, a self-hostable Customers service.", no_args_is_help=True, pretty_exceptions_enable=False
)
business_app = typer.Typer(help="Manage businesses (tenants).", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(business_app, name="business")
events_app = typer.Typer(help="Follow change events.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(events_app, name="events")

T = TypeVar("T")

FIRST_BUSINESS_NAME = "My business"


def run_in_transaction(work: Callable[[AsyncConnection], Awaitable[T]] | None = None) -> T | None:
    """Migrate the configured database, then run `work` in one transaction taken in turn
    with other commands and server starts."""

    async def in_turn(engine: AsyncEngine) -> T | None:
        if work is None:
            return None
        async with exclusive_transaction(engine) as connection:
            return await work(connection)

    return run_with_engine(in_turn)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def business_id_or_exit(text: str) -> uuid.UUID:
    parsed = parse_uuid(text)
    if parsed is None:
        raise fail(f"Not a business id: {text}")
    return parsed


async def bootstrap(connection: AsyncConnection) -> tuple[uuid.UUID, auth.IssuedToken] | None:
    """On an empty database: a first business and an all-scope token for it."""
    if await auth.count_businesses(connection=connection) > 0:
        return None
    business_id = await auth.create_business(connection=connection, name=FIRST_BUSINESS_NAME)
    issued = await auth.create_token(
        connection=connection, business_id=business_id, scopes=list(ALL_SCOPES), name="bootstrap"
    )
    return business_id, issued


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log a line per request (stdout): time, request id, method, route path, status and duration, "
            "never the query string or the token. LOG_FORMAT=json makes every log line a JSON object."
        ),
    ] = True,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (chain); needs --ssl-keyfile.")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="The certificate's private key (PEM, unencrypted); needs --ssl-certfile.")
    ] = None,
) -> None:
    """Bring the schema up to date, then serve the API."""
    try:
        settings = load_settings()
        check_tls_files(ssl_certfile, ssl_keyfile)
        listener = bind_listener(host, port)
    except ConfigurationError as error:
        raise fail(str(error)) from None
    except ServeError as error:
        raise fail(str(error), error.exit_code) from None
    log_config = serve_log_config(request_lines=access_log, json_lines=settings.log_format == "json")
    logging.config.dictConfig(log_config)
    first = run_in_transaction(bootstrap)
    if first is not None:
        business_id, issued = first
        announcements.info(
            "Created the business %(name)r with the id %(business_id)s.",
            {"name": FIRST_BUSINESS_NAME, "business_id": str(business_id)},
        )
        announcements.info("Created a token with every scope for it. It is shown only this once:")
        announcements.info("%(token)s", {"token": issued.token})
    base_url = f"{'https' if ssl_certfile else 'http'}://{host}:{port}"

    def announce_serving() -> None:
        announcements.info("Serving on %(url)s (API docs at %(url)s/docs)", {"url": base_url})

    config = uvicorn.Config(
        "clientele.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="clientele.web.protocol:BoundedHeadHttpProtocol",
        log_level="info",
        proxy_headers=True,
        access_log=False,
        log_config=log_config,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        # A worker must import the whole app before it answers uvicorn's health check; on a busy
        # host that took over uvicorn's default 5 s, and it killed and restarted workers forever.
        timeout_worker_healthcheck=60,
    )
    if not run_server(config, listener, announce_serving):
        raise typer.Exit(STARTUP_FAILURE)


@app.command("deliver")
def deliver_command(
    concurrency: Annotated[int, typer.Option(min=1, help="Deliveries sent side by side.")] = deliverer.CONCURRENCY,
) -> None:
    """Send webhooks until stopped (Ctrl-C or SIGTERM), beside the deliverers `clientele serve` runs in
    each worker or instead of them (DELIVER_WEBHOOKS=0 turns those off); any number may run at once."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise fail(str(error)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def until_stopped(_engine: AsyncEngine) -> None:
        stopped = asyncio.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signal_number, stopped.set)
        async with deliverer.delivering(
            database_url=settings.database_url,
            allow_private=settings.webhook_allow_private_networks,
            concurrency=concurrency,
        ):
            typer.echo("Delivering webhooks (Ctrl-C or SIGTERM stops).")
            await stopped.wait()

    run_with_engine(until_stopped)
    typer.echo("Stopped.")


# How often `clientele events tail` asks for new events when it has shown every one so far.
TAIL_POLL_SECONDS = 0.5


@events_app.command("tail")
def events_tail(
    business: Annotated[str, typer.Option(help="The business id.")],
    event_type: Annotated[
        str | None,
        typer.Option(
            "--type", help="Comma-separated event types, as GET /events' filter[type]: customer.* is a family."
        ),
    ] = None,
) -> None:
    """Print the business's events as they happen, from now on, one JSON object per line (each as GET /events
    shows it to a token with every scope), in the order GET /events lists them, until Ctrl-C or SIGTERM."""
    business_id = business_id_or_exit(business)
    try:
        query = parse_list_query(
            {"filter[type]": event_type or "", "per_page": str(MAX_PER_PAGE)},
            events.LIST_SPEC,
            business_id=business_id,
            # No cursor leaves the command, so a key of its own signs the ones the list engine makes.
            signing_key=secrets.token_bytes(32),
            scopes=events.EVERY_SCOPE,
        )
    except BadRequest as error:
        raise fail(f"--type: {error.message}", 2) from None

    async def follow(engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            if not await auth.business_exists(connection=connection, business_id=business_id):
                raise fail(f"No business with id {business}.")
        async with engine.connect() as connection:
            position = await events.last_settled(connection=connection, query=query)
        stopped = asyncio.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signal_number, stopped.set)
        typer.echo(f"Following the events of business {business_id} (Ctrl-C or SIGTERM stops).", err=True)
        away = False
        while not stopped.is_set():
            try:
                async with engine.connect() as connection:
                    shown = await events.readable_settled(
                        connection=connection, query=replace(query, after=position), scopes=events.EVERY_SCOPE
                    )
                    page = await fetch_page(connection=connection, query=shown)
            except (SQLAlchemyError, OSError) as error:
                # Said once per outage: the tail waits it out, polling as before.
                if not away:
                    typer.echo(f"The database is not available ({type(error).__name__}); waiting for it.", err=True)
                away, page = True, None
            else:
                if away:
                    typer.echo("The database is back.", err=True)
                away = False
            if page is not None and page.rows:
                for row in page.rows:
                    typer.echo(orjson.dumps(events.event_payload(row, scopes=events.EVERY_SCOPE)).decode())
                position = [page.rows[-1]._mapping[key.column.name] for key in query.sort]
            if page is None or not page.more:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), TAIL_POLL_SECONDS)

    run_with_engine(follow)


@app.command("migrate")
def migrate_command() -> None:
    """Bring the schema up to date."""
    run_in_transaction()
    typer.echo("The database schema is up to date.")


@business_app.command("create")
def business_create(name: Annotated[str, typer.Argument(help="The business's name.")]) -> None:
    """Create a business; its id is printed alone on the last line."""
    if not name.strip():
        raise fail("The business name must not be empty.")

    async def work(connection: AsyncConnection) -> uuid.UUID:
        return await auth.create_business(connection=connection, name=name.strip())

    business_id = run_in_transaction(work)
    typer.echo(f"Created business {name.strip()!r}.")
    typer.echo(str(business_id))


@business_app.command("list")
def business_list() -> None:
    """List every business, oldest first: id, creation time (UTC) and name, in aligned columns."""

    async def work(connection: AsyncConnection) -> list[dict[str, Any]]:
        return await auth.list_businesses(connection=connection)

    rows = run_in_transaction(work) or []
    # The name goes last: a long or right-to-left one then pushes no other column out of line.
    typer.echo(f"{'id':<36}  {'created_at':<19}  name")
    for row in rows:
        typer.echo(f"{row['id']!s:<36}  {format_timestamp(row['created_at'])}  {row['name']}")


@token_app.command("create")
def token_create(
    business: Annotated[str, typer.Option(help="The business id the token acts for.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes, or 'all'.")],
    name: Annotated[str | None, typer.Option(help="A name to recognise the token by.")] = None,
    expires_days: Annotated[int | None, typer.Option(min=1, help="Days until the token expires.")] = None,
) -> None:
    """Create a token; the token is printed alone on the last line, and only this once."""
    business_id = business_id_or_exit(business)
    wanted = list(ALL_SCOPES) if scopes.strip() == "all" else [s.strip() for s in scopes.split(",") if s.strip()]
    unknown = auth.unknown_scopes(wanted)
    if unknown or not wanted:
        raise fail(f"Unknown scopes: {', '.join(unknown) or '(none given)'}. Known: {', '.join(ALL_SCOPES)}.", 2)

    async def work(connection: AsyncConnection) -> auth.IssuedToken | None:
        if not await auth.business_exists(connection=connection, business_id=business_id):
            return None
        return await auth.create_token(
            connection=connection, business_id=business_id, scopes=wanted, name=name, expires_days=expires_days
        )

    issued = run_in_transaction(work)
    if issued is None:
        raise fail(f"No business with id {business}.")
    typer.echo(f"Created token {issued.id} with scopes: {', '.join(wanted)}. It is shown only this once:")
    typer.echo(issued.token)


@token_app.command("list")
def token_list(business: Annotated[str, typer.Option(help="The business id.")]) -> None:
    """List a business's tokens (never their secrets), one per line, tab-separated."""
    business_id = business_id_or_exit(business)

    async def work(connection: AsyncConnection) -> list[dict[str, Any]]:
        return await auth.list_tokens(connection=connection, business_id=business_id)

    rows = run_in_transaction(work) or []
    typer.echo("id\tname\tscopes\tcreated_at\texpires_at\trevoked_at")
    for row in rows:
        typer.echo(
            "\t".join(
                [
                    str(row["id"]),
                    row["name"] or "-",
                    ",".join(row["scopes"].split()),
                    format_timestamp(row["created_at"]) or "-",
                    format_timestamp(row["expires_at"]) or "-",
                    format_timestamp(row["revoked_at"]) or "-",
                ]
            )
        )


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (from `token list`).")]) -> None:
    """Revoke a token at once."""
    parsed = parse_uuid(token_id)
    if parsed is None:
        raise fail(f"No token with id {token_id}.")

    async def work(connection: AsyncConnection) -> bool:
        return await auth.revoke_token(connection=connection, token_id=parsed)

    if not run_in_transaction(work):
        raise fail(f"No token with id {token_id}.")
    typer.echo(f"Revoked token {token_id}.")


# --- bulk: import, export, seed ------------------------------------------------------------


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


# `clientele import`'s exit status when it ran to the end but rejected rows: apart from 1 (it failed) and
# 2 (a usage mistake), so that a script can tell a file to mend from a run to repeat.
ROWS_REJECTED = 3

BatchSize = Annotated[int, typer.Option(min=1, help="Rows per transaction.")]
Jobs = Annotated[int, typer.Option(min=1, help="Processes that check rows (default: one per CPU).")]


@app.command("purge-idempotency-keys")
def purge_idempotency_keys() -> None:
    """Delete the idempotency keys older than 24 hours, of every business (e.g. daily, from cron)."""
    deleted = run_in_transaction(lambda connection: idempotency.delete_expired_keys(connection=connection))
    typer.echo(f"Deleted {deleted} expired idempotency keys.")


def run_with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Migrate the configured database, then run `work` with its engine; a BulkError or StatementError,
    a setting or database Clientele cannot use, or a schema that cannot be upgraded, ends the command
    with its message."""

    async def main() -> T:
        engine = create_engine(load_settings().database_url)
        try:
            await check_reachable(engine)
            await migrate(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (
        staging.BulkError,
        statements.StatementError,
        SchemaNotUpgradable,
        ConfigurationError,
        DatabaseUnreachable,
    ) as error:
        raise fail(str(error)) from None


@contextmanager
def progress_bar(description: str) -> Iterator[bulk.Progress | None]:
    """A progress bar on the terminal (stderr), and nothing at all when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A CSV file with a header line, or a JSON Lines file."
        ),
    ],
    business: Annotated[str, typer.Option(help="The business id to import into.")],
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="Default: from the file's extension.")
    ] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where rejected rows go. Default: FILE.rejects.jsonl.")] = None,
    batch_size: BatchSize = staging.DEFAULT_BATCH_SIZE,
    jobs: Jobs = staging.DEFAULT_JOBS,
) -> None:
    """Import customers. A row whose phone an active customer already has is skipped; bad rows are
    written to the rejects file with their line number and field errors, and the command then exits
    with status 3 once the others are stored."""
    business_id = business_id_or_exit(business)
    try:
        chosen = bulk.format_of(file, file_format.value if file_format else None)
    except staging.BulkError as error:
        raise fail(str(error), 2) from None
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    started = time.monotonic()
    with progress_bar(f"Importing {file.name}") as progress:
        report = run_with_engine(
            lambda engine: bulk.import_customers(
                engine=engine,
                business_id=business_id,
                path=file,
                file_format=chosen,
                rejects_path=rejects_path,
                batch_size=batch_size,
                jobs=jobs,
                progress=progress,
            )
        )
    deleted = f"{report.deleted} skipped (deleted in the file), " if report.deleted else ""
    openings = (
        f" Recorded {report.opening_entries} imported balances as opening ledger entries."
        if report.opening_entries
        else ""
    )
    typer.echo(
        f"Read {report.rows} rows in {time.monotonic() - started:.1f} s: {report.created} created, "
        f"{report.existing} skipped (an active customer has the phone), {deleted}{report.rejected} rejected."
        f"{openings}"
    )
    if report.rejects_path is not None:
        typer.echo(f"Rejected rows, with their line numbers and errors: {report.rejects_path}", err=True)
    if report.rejected:
        raise typer.Exit(ROWS_REJECTED)


@app.command("export")
def export_command(
    business: Annotated[str, typer.Option(help="The business id to export.")],
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="Default: from --output's extension, else csv.")
    ] = None,
    output: Annotated[Path | None, typer.Option(dir_okay=False, help="The file to write. Default: stdout.")] = None,
    include_deleted: Annotated[bool, typer.Option(help="Include soft-deleted customers.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows fetched per round trip.")] = bulk.EXPORT_BATCH_SIZE,
) -> None:
    """Export every customer of a business with every field, oldest first, as CSV or JSON Lines."""
    business_id = business_id_or_exit(business)
    chosen = file_format.value if file_format else bulk.export_format_of(output)

    def export(sink: IO[bytes], progress: bulk.Progress | None) -> int:
        return run_with_engine(
            lambda engine: bulk.export_customers(
                engine=engine,
                business_id=business_id,
                sink=sink,
                file_format=chosen,
                include_deleted=include_deleted,
                batch_size=batch_size,
                progress=progress,
            )
        )

    with progress_bar("Exporting customers") as progress:
        if output is None:
            export(sys.stdout.buffer, progress)
            sys.stdout.buffer.flush()
            return
        # Written aside and renamed when complete, so that a failed export leaves no partial file.
        partial = output.with_name(output.name + ".partial")
        try:
            sink = partial.open("wb")
        except OSError as error:
            raise fail(f"Cannot write {output}: {error.strerror}.") from None
        try:
            with sink:
                count = export(sink, progress)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    typer.echo(f"Exported {count} customers to {output}.", err=True)


@app.command("seed")
def seed_command(
    business: Annotated[str, typer.Option(help="The business id to fill.")],
    customers: Annotated[int, typer.Option(min=1, help="How many customers to create.")],
    random_seed: Annotated[int | None, typer.Option(help="Makes the data the same on every run.")] = None,
    batch_size: BatchSize = staging.DEFAULT_BATCH_SIZE,
    jobs: Jobs = staging.DEFAULT_JOBS,
) -> None:
    """Fill a business with realistic customers, tags, delivery zones and addresses (for trials and benchmarks)."""
    business_id = business_id_or_exit(business)
    started = time.monotonic()
    with progress_bar("Seeding customers") as progress:
        report = run_with_engine(
            lambda engine: seeding.seed_customers(
                engine=engine,
                business_id=business_id,
                count=customers,
                random_seed=random_seed,
                batch_size=batch_size,
                jobs=jobs,
                progress=progress,
            )
        )
    typer.echo(
        f"Created {report.created} customers, {report.tag_links} tag links and {report.addresses} addresses "
        f"in {time.monotonic() - started:.1f} s ({report.existing} skipped: their phone was taken)."
    )
    if report.rejected:
        raise fail(f"{report.rejected} generated customers broke the API's rules and were left out: a bug in the seed.")


# --- statements ---------------------------------------------------------------------------


class StatementFormat(StrEnum):
    csv = "csv"
    pdf = "pdf"


STATEMENT_FORMAT_BY_SUFFIX = {".csv": StatementFormat.csv, ".pdf": StatementFormat.pdf}


def day_option(option: str, text: str | None) -> date | None:
    """The day an option names as YYYY-MM-DD (alone: fromisoformat also takes 20240131), or a usage error."""
    if text is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise fail(f"{option} must be a real date as YYYY-MM-DD, not {text!r}.", 2)


@app.command("statement")
def statement_command(
    business: Annotated[str, typer.Option(help="The business id.")],
    customer: Annotated[str, typer.Option(help="The customer id (a deleted customer's too).")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day (UTC, YYYY-MM-DD). Default: the first entry.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (UTC, YYYY-MM-DD). Default: today.")] = None,
    file_format: Annotated[
        StatementFormat | None, typer.Option("--format", help="Default: from --output's extension, else csv.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(dir_okay=False, help="The file to write. Default: stdout (csv only).")
    ] = None,
) -> None:
    """Print a customer's house-account statement: the opening balance, each entry of the period
    (charges and payments) with the balance after it, and the closing balance."""
    business_id = business_id_or_exit(business)
    customer_id = parse_uuid(customer)
    if customer_id is None:
        raise fail(f"Not a customer id: {customer}")
    first_day, last_day = day_option("--from", start), day_option("--to", end)
    last_day = last_day or utcnow().date()
    if first_day is not None and first_day > last_day:
        raise fail(f"--from ({first_day}) must not be after --to ({last_day}).", 2)
    chosen = file_format or STATEMENT_FORMAT_BY_SUFFIX.get(output.suffix.lower() if output else "", StatementFormat.csv)
    if chosen is StatementFormat.pdf and output is None:
        raise fail("A PDF statement needs --output FILE.", 2)

    async def load(engine: AsyncEngine) -> statements.Statement:
        async with engine.connect() as connection:
            return await statements.load_statement(
                connection=connection, business_id=business_id, customer_id=customer_id, start=first_day, end=last_day
            )

    statement = run_with_engine(load)
    content = (statements.statement_pdf if chosen is StatementFormat.pdf else statements.statement_csv)(statement)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as error:
        raise fail(f"Cannot write {output}: {error.strerror}.") from None
    typer.echo(f"Wrote the statement of {statement.customer_name} for {statement.period} to {output}.", err=True)
