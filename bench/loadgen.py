"""The load generators: wrk for HTTP, pgbench for the database ceiling; both as plain numbers."""

import http.client
import json
import math
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.processes import BenchError

LUA_SCRIPT = Path(__file__).parent / "lua" / "requests.lua"
WRK_TIMEOUT = "30s"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""

    def line(self) -> str:
        return "\t".join([self.method, self.path, self.body]) if self.body else f"{self.method}\t{self.path}"


@dataclass(frozen=True)
class Measurement:
    """One load run: throughput and latency (milliseconds) as the client saw them."""

    requests: int
    seconds: float
    rps: float
    p50: float
    p95: float
    p99: float
    max: float
    errors: int
    connections: int
    # Where a run expected one status (`expect_status`): the responses with it (the rest are errors).
    expected: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def nearest_rank(ordered: list[float], share: float) -> float:
    """The percentile as the sample at that rank (no interpolation), of values sorted ascending."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timed_get(connection: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int]:
    """One GET on a kept-alive connection: milliseconds until its body was read, and its status."""
    sent = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    return (time.perf_counter() - sent) * 1000, response.status


def run_one_client(*, port: int, path: str, token: str, seconds: float) -> Measurement:
    """One client sending a GET again and again on one kept-alive connection, each request timed as it
    happened; errors are statuses other than 2xx/3xx.

    wrk is not used for this: it corrects its latencies for coordinated omission, adding to each
    request slower than the run's mean interval the samples a client on a fixed schedule would have
    waited through. A client that sends its next request when the last is answered (a point of sale,
    a sync) waits through no such requests, and with one connection one slow request became a tail:
    a first count of 257 ms among ~1,000 requests of 5 ms gave wrk a p99 of 207 ms, where the server
    had logged two requests over 50 ms.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    took: list[float] = []
    errors = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            milliseconds, status = timed_get(connection, path, token)
            took.append(milliseconds)
            errors += not 200 <= status < 400
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    took.sort()
    return Measurement(
        requests=len(took),
        seconds=round(elapsed, 2),
        rps=round(len(took) / elapsed, 1),
        p50=round(nearest_rank(took, 0.50), 3),
        p95=round(nearest_rank(took, 0.95), 3),
        p99=round(nearest_rank(took, 0.99), 3),
        max=round(took[-1], 3),
        errors=errors,
        connections=1,
    )


def run_wrk(
    *,
    wrk: str,
    base_url: str,
    requests: list[Request],
    token: str | None,
    connections: int,
    seconds: float,
    work_dir: Path,
    name: str,
    sequence_start: int = 0,
    expect_status: int | None = None,
) -> Measurement:
    """Drive a server with wrk over a rotation of requests; errors are transport errors and non-2xx/3xx,
    or, with `expect_status`, every response with another status (counted by requests.lua).

    `sequence_start` is where the per-thread counter of templated bodies starts (see requests.lua).
    """
    request_file = work_dir / f"{name}.requests"
    request_file.write_text("\n".join(request.line() for request in requests) + "\n")
    threads = min(2, connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(LUA_SCRIPT),
        base_url,
    ]
    env = {
        "BENCH_REQUESTS": str(request_file),
        "BENCH_TOKEN": token or "",
        "BENCH_SEQ_START": str(sequence_start),
        "BENCH_EXPECT_STATUS": str(expect_status or ""),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    (work_dir / f"{name}.wrk.txt").write_text(result.stdout + result.stderr)
    marker = [line for line in result.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if result.returncode != 0 or not marker:
        raise BenchError(
            f"wrk failed for {name} ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    raw = json.loads(marker[-1].removeprefix("BENCH_RESULT "))
    elapsed = raw["duration_us"] / 1e6
    # wrk's own status errors (above 399) are among the unexpected statuses where one is expected.
    statuses = "unexpected" if expect_status else "status_errors"
    errors = sum(raw[key] for key in ("connect_errors", "read_errors", "write_errors", statuses, "timeouts"))
    return Measurement(
        requests=raw["requests"],
        seconds=round(elapsed, 2),
        rps=round(raw["requests"] / elapsed, 1),
        p50=raw["p50_us"] / 1000,
        p95=raw["p95_us"] / 1000,
        p99=raw["p99_us"] / 1000,
        max=raw["max_us"] / 1000,
        errors=errors,
        connections=connections,
        expected=raw.get("expected"),
    )


# pgbench picks one of its scripts at random per transaction and takes at most 128 of them.
PGBENCH_MAX_SCRIPTS = 128


def run_pgbench(
    *, pgbench: str, dsn_args: list[str], scripts: list[str], clients: int, seconds: float, work_dir: Path, name: str
) -> Measurement:
    """Run SQL scripts (one picked at random per transaction) with prepared statements, like the app's driver.

    Latency percentiles come from pgbench's per-transaction log, taken as the harness's own client
    takes them, so that a request's p95 and its statement's p95 compare like for like.
    """
    run_dir = work_dir / f"{name}.pgbench"
    run_dir.mkdir(exist_ok=True)
    command = [
        pgbench,
        *dsn_args,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(2, clients)),
        "-T",
        str(max(1, round(seconds))),
        "-l",
        "--log-prefix",
        str(run_dir / "log"),
    ]
    for index, script in enumerate(scripts[:PGBENCH_MAX_SCRIPTS]):
        path = run_dir / f"script_{index}.sql"
        path.write_text(script + "\n")
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    (work_dir / f"{name}.pgbench.txt").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise BenchError(f"pgbench failed for {name}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    latencies_us: list[float] = []
    for log in run_dir.glob("log.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                latencies_us.append(float(fields[2]))
        log.unlink()
    transactions = processed(result.stdout)
    elapsed = seconds
    failed = failed_transactions(result.stdout)
    if not latencies_us:
        raise BenchError(f"pgbench logged no transactions for {name}")
    latencies_us.sort()
    return Measurement(
        requests=transactions,
        seconds=elapsed,
        rps=round(tps(result.stdout), 1),
        p50=nearest_rank(latencies_us, 0.50) / 1000,
        p95=nearest_rank(latencies_us, 0.95) / 1000,
        p99=nearest_rank(latencies_us, 0.99) / 1000,
        max=latencies_us[-1] / 1000,
        errors=failed,
        connections=clients,
    )


def processed(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("number of transactions actually processed:"):
            return int(line.split(":")[1].split("/")[0])
    raise BenchError(f"pgbench printed no transaction count:\n{output[-2000:]}")


def failed_transactions(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("number of failed transactions:"):
            return int(line.split(":")[1].split()[0])
    return 0


def tps(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("tps =") and "without initial connection time" in line:
            return float(line.split("=")[1].split()[0])
    raise BenchError(f"pgbench printed no tps:\n{output[-2000:]}")
