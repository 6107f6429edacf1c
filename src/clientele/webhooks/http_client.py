"""The deliverer's HTTP/1.1 client: a POST to an address the deliverer has checked, naming the URL's
host in `Host`, in TLS's SNI and for the certificate, over connections kept alive per destination.

Built on h11, the HTTP/1.1 state machine uvicorn and httpx run on. httpx itself cost 0.6 to 2.4 ms of
CPU per POST on this project's 2-core bench (its pool and request models), more than a delivery's whole
budget at 1,000 a second; the same request framed with h11 costs about 0.05 ms (docs/decisions.md,
"Webhooks").
"""

import asyncio
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass

import h11

READ_BYTES = 64 * 1024
# Receivers answer with a few bytes; the body is read and dropped, and past this the connection is
# closed instead of reading on.
MAX_BODY_BYTES = 64 * 1024
# Servers close idle connections after a few seconds (uvicorn after 5): one idle longer is not reused.
IDLE_SECONDS = 4.0


class SendError(Exception):
    """Why a POST got no answer, in one sentence."""


class ConnectFailed(SendError):
    """The connection could not be made (refused, unreachable, or TLS refused)."""


@dataclass(frozen=True)
class Origin:
    """Where a request goes: the checked address and port, and the URL's host and scheme."""

    scheme: str
    address: str
    port: int
    host: str


@dataclass(frozen=True)
class Answer:
    status_code: int
    # Header names in lower case (as h11 gives them), values as sent.
    headers: dict[str, str]


class Stale(Exception):
    """A kept-alive connection the server had closed: the request goes again on a new one."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, origin: Origin, tls: ssl.SSLContext) -> "Connection":
        secure = origin.scheme == "https"
        try:
            reader, writer = await asyncio.open_connection(
                origin.address,
                origin.port,
                ssl=tls if secure else None,
                server_hostname=origin.host if secure else None,
            )
        except ssl.SSLError as error:
            raise ConnectFailed(f"TLS with {origin.host} failed: {error}") from None
        except OSError as error:
            raise ConnectFailed(
                f"Could not connect to {origin.address} port {origin.port}: {error.strerror or error}."
            ) from None
        return cls(reader, writer)

    def reusable(self) -> bool:
        return not self.reader.at_eof() and time.monotonic() - self.idle_since < IDLE_SECONDS

    def close(self) -> None:
        self.writer.close()

    async def post(self, target: str, headers: list[tuple[str, str]], body: bytes, *, reused: bool) -> Answer:
        """Send the request and read its answer, the body dropped (up to MAX_BODY_BYTES); Stale where a
        reused connection turns out to be closed before any answer."""
        protocol = self.protocol
        request = protocol.send(h11.Request(method="POST", target=target, headers=headers))
        self.writer.write(request + protocol.send(h11.Data(data=body)) + protocol.send(h11.EndOfMessage()))
        answer: Answer | None = None
        read = 0
        try:
            await self.writer.drain()
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    chunk = await self.reader.read(READ_BYTES)
                    if not chunk and reused and answer is None:
                        raise Stale
                    protocol.receive_data(chunk)
                elif isinstance(event, h11.Response):
                    answer = Answer(
                        event.status_code, {name.decode(): value.decode("latin-1") for name, value in event.headers}
                    )
                elif isinstance(event, h11.Data):
                    read += len(event.data)
                    if read > MAX_BODY_BYTES:
                        break
                elif isinstance(event, h11.EndOfMessage):
                    break
        except (ConnectionResetError, BrokenPipeError):
            if reused and answer is None:
                raise Stale from None
            raise SendError("The receiver closed the connection without answering.") from None
        except h11.RemoteProtocolError as error:
            raise SendError(f"The answer was not HTTP/1.1: {error}.") from None
        if answer is None:
            raise SendError("The receiver closed the connection without answering.")
        return answer

    def ready_again(self) -> bool:
        """Whether the exchange ended cleanly and the server keeps the connection open; if so, it is reset
        for the next request."""
        if self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE:
            self.protocol.start_next_cycle()
            self.idle_since = time.monotonic()
            return True
        return False


class Connections:
    """Connections kept alive per origin, each carrying one request at a time."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.tls = tls
        self.idle: defaultdict[Origin, list[Connection]] = defaultdict(list)

    async def post(self, origin: Origin, target: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """POST to the origin; ConnectFailed when no connection could be made, SendError when it answered
        with something else than an HTTP answer. Cancelling it (a timeout) closes the connection."""
        connection = self.kept(origin)
        if connection is not None:
            try:
                return await self.exchange(origin, connection, target, headers, body, reused=True)
            except Stale:
                pass
        connection = await Connection.open(origin, self.tls)
        return await self.exchange(origin, connection, target, headers, body, reused=False)

    def kept(self, origin: Origin) -> Connection | None:
        idle = self.idle[origin]
        while idle:
            connection = idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        return None

    async def exchange(
        self,
        origin: Origin,
        connection: Connection,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        reused: bool,
    ) -> Answer:
        try:
            answer = await connection.post(target, headers, body, reused=reused)
        except BaseException:
            connection.close()
            raise
        if connection.ready_again():
            self.idle[origin].append(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        for idle in self.idle.values():
            for connection in idle:
                connection.close()
        self.idle.clear()
