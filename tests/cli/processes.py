"""Running the real `clientele` console script, and `clientele serve` as a server process."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

CLIENTELE = str(Path(sys.executable).parent / "clientele")
COMMAND_TIMEOUT_SECONDS = 120
STARTUP_TIMEOUT_SECONDS = 60


def environment(database_url: str) -> dict[str, str]:
    # The developer's own LOG_FORMAT would change every line the tests read.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "LOG_FORMAT")}
    return env | {"DATABASE_URL": database_url}


def run_clientele(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `clientele` command to completion; the caller checks its exit status."""
    return subprocess.run(
        [CLIENTELE, *args],
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.rstrip("\n").splitlines()[-1]


def create_business(database_url: str, name: str = "CLI business") -> str:
    return last_line(run_clientele(database_url, "business", "create", name))


def create_token(database_url: str, business_id: str, scopes: str = "all") -> str:
    return last_line(run_clientele(database_url, "token", "create", "--business", business_id, "--scopes", scopes))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    output: Path

    def stdout(self) -> str:
        return self.output.read_text()


@contextmanager
def serving(
    database_url: str, tmp_path: Path, *args: str, count: int = 1, settings: dict[str, str] | None = None
) -> Iterator[list[Server]]:
    """`count` processes of `clientele serve`, started together, each on a free port, once each
    answers /healthz; every process group is stopped on the way out, workers included.
    `settings` are environment variables for the servers (`DATABASE_POOL_SIZE`, …)."""
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(start(database_url, tmp_path, *args, settings=settings))
        for server in servers:
            wait_until_healthy(server)
        yield servers
    finally:
        for server in servers:
            stop(server.process)


def start(database_url: str, tmp_path: Path, *args: str, settings: dict[str, str] | None = None) -> Server:
    port = free_port()
    output = tmp_path / f"serve-{port}.out"
    with output.open("wb") as stdout:
        process = subprocess.Popen(
            [CLIENTELE, "serve", "--port", str(port), *args],
            env=environment(database_url) | (settings or {}),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheme = "https" if "--ssl-certfile" in args else "http"
    return Server(f"{scheme}://127.0.0.1:{port}", process, output)


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"clientele serve exited with {server.process.returncode}:\n{server.stdout()}")
        try:
            # Whether it answers, not whom: a test of HTTPS checks the certificate itself.
            if httpx.get(f"{server.base_url}/healthz", timeout=2, verify=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"clientele serve did not answer /healthz:\n{server.stdout()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
    else:
        # The server itself is gone; workers it spawned may not be.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
