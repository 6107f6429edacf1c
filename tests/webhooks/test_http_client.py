"""The deliverer's HTTP client against small servers that behave as receivers do: keeping connections
alive, closing them while idle, answering with a large body, or not speaking HTTP at all."""

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import pytest

from clientele.webhooks.http_client import Connections, Origin, SendError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEADERS = [("host", "receiver.test"), ("content-type", "application/json"), ("content-length", "2")]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(2)
    return head


def answer(status: int, body: bytes = b"", *, close: bool = False) -> bytes:
    headers = f"HTTP/1.1 {status} Status\r\ncontent-length: {len(body)}\r\n"
    if close:
        headers += "connection: close\r\n"
    return headers.encode() + b"\r\n" + body


async def posting(handler: Handler, times: int, pause: float = 0.05) -> tuple[list[int], int]:
    """Serve with `handler`, POST `times` one after the other, `pause` seconds apart; the statuses and the
    connections opened."""
    opened = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        await handler(reader, writer)

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connections = Connections(ssl.create_default_context())
    try:
        statuses = []
        for _ in range(times):
            found = await connections.post(Origin("http", "127.0.0.1", port, "receiver.test"), "/hooks", HEADERS, b"{}")
            statuses.append(found.status_code)
            await asyncio.sleep(pause)
        return statuses, opened
    finally:
        connections.close()
        server.close()


def test_a_connection_kept_alive_carries_the_next_deliveries() -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(answer(204))

    assert asyncio.run(posting(keep_alive, 3)) == ([204, 204, 204], 1)


def test_a_connection_the_receiver_closed_while_idle_is_replaced_without_an_error() -> None:
    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        # Kept alive as far as the answer says, then closed while idle, as servers do after a while.
        writer.write(answer(200))
        await writer.drain()
        writer.close()

    assert asyncio.run(posting(one_then_close, 3)) == ([200, 200, 200], 3)


def test_a_kept_connection_the_receiver_drops_on_the_next_request_is_retried_on_a_new_one() -> None:
    async def one_answer_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(200))
        await writer.drain()
        # The next request on this connection is read and dropped unanswered, as by a server that
        # timed the connection out just as the request came.
        await read_request(reader)
        writer.close()

    assert asyncio.run(posting(one_answer_per_connection, 2, pause=0)) == ([200, 200], 2)


def test_a_receiver_that_asks_to_close_gets_a_new_connection_each_time() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(200, close=True))
        await writer.drain()
        writer.close()

    assert asyncio.run(posting(closing, 2)) == ([200, 200], 2)


def test_a_large_answer_is_not_read_to_its_end_and_its_connection_not_kept() -> None:
    async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(answer(200, b"x" * 1_000_000))

    assert asyncio.run(posting(large, 2)) == ([200, 200], 2)


def test_an_answer_that_is_not_http_is_an_error_that_says_so() -> None:
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        writer.close()

    with pytest.raises(SendError, match=r"not HTTP/1\.1"):
        asyncio.run(posting(not_http, 1))
