"""A TCP proxy a test owns, to take a service away and bring it back without touching the service."""

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType
from typing import Self

from tests.cli.processes import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`.

    `cut()` closes the listening socket and every connection, as a server that went away;
    `restore()` listens on the same port again; `hang()` keeps accepting connections but never
    forwards a byte, as a server that stopped answering; `drop()` lets each new connection make one
    exchange (the client's first message, the server's first answer) and then closes it, as a
    server failing in the middle of the handshake. `cuts` and `connections_severed`
    count the faults injected, for a suite's figures.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.forwarding = True
        self.dropping = False
        self.listener: socket.socket | None = None
        self.connections: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.connections_severed = 0

    def __enter__(self) -> Self:
        self.restore()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop_listening()
        self.close_connections()
        for thread in self.threads:
            thread.join(timeout=5)

    def restore(self) -> None:
        self.stop_listening()
        self.forwarding = True
        self.dropping = False
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        self.spawn(self.accept, listener)

    def hang(self) -> None:
        """From now on, connections are accepted and then left unanswered; open ones are closed."""
        self.forwarding = False
        self.close_connections()

    def drop(self) -> None:
        """From now on, each connection is closed after its first exchange; open ones are closed."""
        self.dropping = True
        self.close_connections()

    def cut(self) -> int:
        """Refuse new connections and close every open one; how many forwarded connections were closed."""
        self.cuts += 1
        self.stop_listening()
        severed = self.close_connections()
        self.connections_severed += severed
        return severed

    def stop_listening(self) -> None:
        if self.listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would not.
            with suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None

    def close_connections(self) -> int:
        """Close every open connection; how many client connections that was."""
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        # Each forwarded connection is a client socket and an upstream one.
        return len(connections) // 2

    def spawn(self, target: Callable[..., None], *args: socket.socket) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.dropping:
                self.spawn(one_exchange_then_close, client, self.target)
                continue
            with self.lock:
                self.connections.add(client)
            if not self.forwarding:
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections.add(upstream)
            self.spawn(pump, client, upstream)
            self.spawn(pump, upstream, client)


def pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_RDWR)


def one_exchange_then_close(client: socket.socket, target: tuple[str, int]) -> None:
    """Forward the client's first message and the server's first answer, then close both sides."""
    with client, suppress(OSError), socket.create_connection(target, timeout=5) as upstream:
        client.settimeout(5)
        upstream.sendall(client.recv(65536))
        client.sendall(upstream.recv(65536))
