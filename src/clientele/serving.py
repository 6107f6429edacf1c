"""What `clientele serve` adds around uvicorn: its logging (the request log, text or JSON lines), its
port taken before anything else starts, TLS files checked before any worker loads them, and a line
that says the server is serving once it is."""

import copy
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

# Where `clientele serve` tells its operator what it did (the first business and token, the URL),
# as lines of their own on stdout: never with a timestamp in front, so a token stands alone.
announcements = logging.getLogger("clientele.serve")


class ServeError(Exception):
    """A reason `clientele serve` cannot start, in one line, and the exit status it calls for."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# The exit status of a usage mistake, as for any option the command line cannot parse.
USAGE_MISTAKE = 2


class UtcFormatter(logging.Formatter):
    """Timestamps in UTC, ISO 8601 to the millisecond (`2026-12-07T12:30:05.123Z`), whatever the host's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"


class JsonFormatter(UtcFormatter):
    """One JSON object per line: timestamp, level, logger and message, then the record's named
    values (the request log's method, path, status…) as fields of their own, and a traceback,
    if any, as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if isinstance(record.args, Mapping):
            line.update(record.args)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def serve_log_config(*, request_lines: bool, json_lines: bool) -> dict[str, Any]:
    """uvicorn's logging, plus Clientele's loggers: the request log (stdout, one timestamped line per
    request, which replaces uvicorn's access log: its lines hold query strings, with names and
    phones), the announcements (stdout), and errors (stderr). `json_lines` makes every line of
    every logger a JSON object."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    formatters = config["formatters"]
    formatters["requests"] = {"()": UtcFormatter, "fmt": "%(asctime)s %(message)s"}
    formatters["announcements"] = {"()": logging.Formatter, "fmt": "%(message)s"}
    if json_lines:
        for name in formatters:
            formatters[name] = {"()": JsonFormatter}
    config["handlers"]["requests"] = {
        "formatter": "requests",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["handlers"]["announcements"] = {
        "formatter": "announcements",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["clientele"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["clientele.serve"] = {"handlers": ["announcements"], "level": "INFO", "propagate": False}
    config["loggers"]["clientele.requests"] = {
        "handlers": ["requests"],
        "propagate": False,
        "level": "INFO" if request_lines else "WARNING",
    }
    return config


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> None:
    """Both files or neither, readable, and a certificate with its unencrypted key: each worker
    loads them itself, where a mistake would be a traceback per worker (or a password prompt)."""
    if certfile is None and keyfile is None:
        return
    if certfile is None or keyfile is None:
        raise ServeError(
            "--ssl-certfile and --ssl-keyfile go together: give both (HTTPS) or neither (HTTP).", USAGE_MISTAKE
        )
    for option, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if not path.is_file():
            raise ServeError(f"{option} {path}: no such file.", USAGE_MISTAKE)

    def refuse_encrypted_key() -> bytes:
        raise ServeError(
            f"--ssl-keyfile {keyfile} is encrypted: give the key unencrypted (readable only by this user).",
            USAGE_MISTAKE,
        )

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile, password=refuse_encrypted_key)
    except OSError as error:
        # OpenSSL names a reason for some mistakes (KEY_VALUES_MISMATCH), and only its source line for others.
        reason = error.reason if isinstance(error, ssl.SSLError) else error.strerror
        raise ServeError(
            f"--ssl-certfile {certfile} and --ssl-keyfile {keyfile} are not a PEM certificate and its private key"
            + (f" ({reason})." if reason else "."),
            USAGE_MISTAKE,
        ) from None


def bind_listener(host: str, port: int) -> socket.socket:
    """The server's socket, bound but not yet listening (uvicorn listens once it can answer), so that
    a port another process holds is one line before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ServeError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from None
    # uvicorn's workers are processes of their own, which take the socket from this one.
    listener.set_inheritable(True)
    return listener


class AnnouncingServer(uvicorn.Server):
    """uvicorn's single-process server, which calls `announce` once it listens and the app has started."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.announce()


class AnnouncingSupervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which calls `announce` once the first worker serves."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], announce: Callable[[], None]) -> None:
        super().__init__(config, sockets)
        self.announce = announce
        self.announced = False

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        # The supervisor's own loop, every half second: it alone talks to the workers' pipes.
        if self.announced or self.should_exit.is_set():
            return
        if any(process.is_ready(timeout=1) for process in self.processes):
            self.announced = True
            self.announce()


def run_server(config: uvicorn.Config, listener: socket.socket, announce: Callable[[], None]) -> bool:
    """Serve on `listener` with uvicorn, in this process or in `config.workers` worker processes;
    whether it ever served (False: the app or a worker failed to start)."""
    if config.workers > 1:
        supervisor = AnnouncingSupervisor(config, [listener], announce)
        supervisor.run()
        return supervisor.announced
    server = AnnouncingServer(config, announce)
    server.run(sockets=[listener])
    return server.started
