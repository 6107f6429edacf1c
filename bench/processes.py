"""The processes a run starts (servers, wrk, pgbench), stopped for sure when the run ends."""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_SECONDS = 10


class BenchError(RuntimeError):
    """A run cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_tool(command: str, package: str) -> str:
    """The path of `command`, installing its Debian package first when it is missing."""
    found = shutil.which(command)
    if found:
        return found
    print(f"{command} is missing: installing the Debian package {package}", flush=True)
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchError(f"`{' '.join(step)}` failed:\n{result.stderr[-2000:]}")
    found = shutil.which(command)
    if not found:
        raise BenchError(f"{package} is installed but {command} is not on PATH")
    return found


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group a child leads, then SIGKILL what is left after a grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


@dataclass
class Server:
    """An HTTP server we started, in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes: the children of the supervisor that serve requests."""
        return [pid for pid in children(self.process.pid) if "resource_tracker" not in command_line(pid)]


@contextmanager
def serving(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    port: int,
    log_dir: Path,
    ready_path: str = "/healthz",
    timeout: float = 90,
) -> Iterator[Server]:
    """Start a server, wait until `ready_path` answers 200, and stop it (and its workers) on exit."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name=name, process=process, port=port, log=log)
    try:
        wait_until_ready(server, ready_path, timeout)
        yield server
    finally:
        stop_group(process)


def wait_until_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.process.returncode}; see {server.log}:\n"
                + server.log.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"{server.name} did not answer {path} within {timeout:.0f} s; see {server.log}")


def children(pid: int) -> list[int]:
    return sorted(child for child, (parent, _, _) in process_table().items() if parent == pid)


def process_tree(pid: int) -> list[int]:
    """The process and every process below it, from one reading of /proc."""
    by_parent: dict[int, list[int]] = {}
    for child, (parent, _, _) in process_table().items():
        by_parent.setdefault(parent, []).append(child)
    pending, found = [pid], []
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(by_parent.get(current, []))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak since exec) of a process in MB; empty if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        name: int(rest.split()[0]) / 1024
        for name, _, rest in (line.partition(":") for line in lines)
        if name in ("VmRSS", "VmHWM")
    }


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB (None if it is gone)."""
    return memory_mb(pid).get("VmRSS")


class Repeating:
    """Calls `action` every `interval` seconds on a daemon thread, from `start()` until `stop()`."""

    def __init__(self, interval: float, action: Callable[[], None]):
        self._interval = interval
        self._action = action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._action()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class RssSampler:
    """Samples VmRSS of some processes in the background: the peak and the last value of each."""

    pids: list[int]
    interval: float = 0.25
    peak: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    _repeating: Repeating | None = None

    def sample(self) -> None:
        for pid in self.pids:
            value = rss_mb(pid)
            if value is not None:
                self.last[pid] = value
                self.peak[pid] = max(value, self.peak.get(pid, 0.0))

    def __enter__(self) -> "RssSampler":
        self.sample()
        self._repeating = Repeating(self.interval, self.sample)
        self._repeating.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._repeating is not None:
            self._repeating.stop()
        self.sample()


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_table() -> dict[int, tuple[int, str, int]]:
    """pid → (parent pid, command name, CPU ticks used so far) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        # After the name: state, ppid, …; utime and stime are the 12th and 13th of these.
        # The name may hold spaces and parentheses, hence the split after its last ")".
        table[int(entry.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
    return table


@dataclass
class MachineWatch:
    """How much CPU other work on the machine takes while a run measures, phase by phase.

    Every second it adds up the CPU ticks of the processes that are neither this harness and its
    children (servers, wrk, pgbench) nor PostgreSQL backends of the bench database (their process
    title names it). A process that lives less than a second escapes it, so the figure is a floor.
    """

    database: str
    interval: float = 1.0
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    _current: str | None = None
    _started: float = 0.0
    _ticks: int = 0
    _previous: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _repeating: Repeating | None = None

    def others(self) -> dict[int, int]:
        table = process_table()
        ours = {os.getpid()}
        changed = True
        while changed:
            grown = {pid for pid, (parent, _, _) in table.items() if parent in ours} - ours
            ours |= grown
            changed = bool(grown)
        return {
            pid: ticks
            for pid, (_, name, ticks) in table.items()
            if pid not in ours and not (name == "postgres" and f" {self.database} " in command_line(pid))
        }

    def _sample(self) -> None:
        with self._lock:
            current = self.others()
            used = sum(ticks - self._previous[pid] for pid, ticks in current.items() if pid in self._previous)
            self._previous = current
            self._ticks += max(0, used)

    def mark(self, phase: str | None) -> None:
        """End the phase being measured (if any) and start `phase`."""
        self._sample()
        with self._lock:
            now = time.monotonic()
            if self._current is not None:
                seconds = now - self._started
                capacity = seconds * TICKS_PER_SECOND * (os.cpu_count() or 1)
                self.phases[self._current] = {
                    "seconds": round(seconds, 1),
                    "others_cpu_share": round(self._ticks / capacity, 3),
                }
            self._current, self._started, self._ticks = phase, now, 0

    def __enter__(self) -> "MachineWatch":
        self._previous = self.others()
        self._repeating = Repeating(self.interval, self._sample)
        self._repeating.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._repeating is not None:
            self._repeating.stop()
        self.mark(None)


def wait_for_quiet(database: str, *, share: float, timeout: float, window: float = 10.0) -> float | None:
    """Wait until other work takes less than `share` of the CPU over a window; its last share
    (None if the machine never got that quiet within `timeout`)."""
    deadline = time.monotonic() + timeout
    with MachineWatch(database) as watch:
        while True:
            watch.mark("window")
            time.sleep(window)
            watch.mark(None)
            measured = watch.phases["window"]["others_cpu_share"]
            if measured < share:
                return measured
            if time.monotonic() > deadline:
                return None
            print(f"Other work takes {measured:.0%} of the CPU; waiting for < {share:.0%}…", flush=True)
