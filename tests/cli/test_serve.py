"""`clientele serve` as an operator starts it: HTTPS, the line that says it serves, and configuration
mistakes that end in one line on stderr instead of a traceback."""

import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from sqlalchemy import make_url

from clientele.config import load_settings
from tests.cli.processes import (
    CLIENTELE,
    STARTUP_TIMEOUT_SECONDS,
    Server,
    environment,
    free_port,
    run_clientele,
    serving,
    start,
    stop,
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clientele.db'}"


@pytest.fixture
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(certificate_authority: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that the test's own authority signed, and its key: (certfile, keyfile)."""
    issued = certificate_authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(certfile))
    issued.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """The command ended non-zero with one line on stderr holding `words`, without a traceback or a
    claim to be serving."""
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Serving on" not in result.stdout
    for word in words:
        assert word in result.stderr


# --- HTTPS ----------------------------------------------------------------------------------


def test_serve_with_a_certificate_and_its_key_answers_https(
    database_url: str, tmp_path: Path, tls_files: tuple[Path, Path], certificate_authority: trustme.CA
) -> None:
    certfile, keyfile = tls_files
    trusting = ssl.create_default_context()
    certificate_authority.configure_trust(trusting)

    with serving(database_url, tmp_path, "--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile)) as [server]:
        answer = httpx.get(f"{server.base_url}/healthz", verify=trusting)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base_url.replace('https', 'http', 1)}/healthz")

    assert server.base_url.startswith("https://")
    assert answer.status_code == 200
    assert f"Serving on {server.base_url} " in server.stdout()


@pytest.mark.parametrize("given", ["--ssl-certfile", "--ssl-keyfile"])
def test_serve_refuses_one_tls_file_without_the_other(
    given: str, sqlite_url: str, tls_files: tuple[Path, Path]
) -> None:
    certfile, keyfile = tls_files
    path = certfile if given == "--ssl-certfile" else keyfile

    result = run_clientele(sqlite_url, "serve", "--port", str(free_port()), given, str(path))

    assert_one_line_refusal(result, "--ssl-certfile", "--ssl-keyfile")
    assert result.returncode == 2


def test_serve_refuses_files_that_are_not_a_certificate_and_its_key(sqlite_url: str, tmp_path: Path) -> None:
    text = tmp_path / "not-a-certificate.pem"
    text.write_text("hello\n")

    result = run_clientele(
        sqlite_url, "serve", "--port", str(free_port()), "--ssl-certfile", str(text), "--ssl-keyfile", str(text)
    )

    assert_one_line_refusal(result, str(text))
    assert result.returncode == 2


def test_serve_refuses_an_encrypted_key_instead_of_asking_for_its_password(
    sqlite_url: str, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    certfile, keyfile = tls_files
    key = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted-key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"a passphrase"),
        )
    )

    result = run_clientele(
        sqlite_url,
        "serve",
        "--port",
        str(free_port()),
        "--ssl-certfile",
        str(certfile),
        "--ssl-keyfile",
        str(encrypted),
    )

    assert_one_line_refusal(result, str(encrypted), "encrypted")
    assert result.returncode == 2


def test_serve_refuses_a_missing_certificate_file(
    sqlite_url: str, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    missing = tmp_path / "missing.pem"

    result = run_clientele(
        sqlite_url,
        "serve",
        "--port",
        str(free_port()),
        "--ssl-certfile",
        str(missing),
        "--ssl-keyfile",
        str(tls_files[1]),
    )

    assert_one_line_refusal(result, str(missing))


# --- "Serving on", once it does -------------------------------------------------------------


def announced(server: Server) -> str:
    """The `Serving on …` line, as soon as the server writes it."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        lines = [line for line in server.stdout().splitlines() if line.startswith("Serving on ")]
        if lines:
            return lines[0]
        assert server.process.poll() is None, server.stdout()
        time.sleep(0.01)
    raise AssertionError(f"clientele serve never said it serves:\n{server.stdout()}")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_says_it_serves_once_it_answers(workers: str, database_url: str, tmp_path: Path) -> None:
    server = start(database_url, tmp_path, "--workers", workers)
    try:
        line = announced(server)
        # Asked once, at once: the line promises an answer now, not after a retry.
        answer = httpx.get(f"{server.base_url}/healthz")
    finally:
        stop(server.process)

    assert answer.status_code == 200
    assert line == f"Serving on {server.base_url} (API docs at {server.base_url}/docs)"


# --- configuration mistakes -----------------------------------------------------------------


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["business", "list"]], ids=" ".join)
@pytest.mark.parametrize(
    ("database_url", "words"),
    [
        ("mysql://user:secret@db/clientele", ["DATABASE_URL", "mysql"]),
        ("nonsense", ["DATABASE_URL"]),
        ("postgresql://user:secret@127.0.0.1:1/clientele", ["127.0.0.1:1"]),
    ],
    ids=["another engine", "not a URL", "PostgreSQL unreachable"],
)
def test_a_database_url_clientele_cannot_use_is_one_line_on_stderr(
    command: list[str], database_url: str, words: list[str]
) -> None:
    arguments = [*command, "--port", str(free_port())] if command == ["serve"] else command

    result = run_clientele(database_url, *arguments)

    assert_one_line_refusal(result, *words)
    assert result.returncode == 1
    assert "secret" not in result.stderr


def test_a_database_file_that_cannot_be_opened_is_one_line_on_stderr(tmp_path: Path) -> None:
    result = run_clientele(f"sqlite:///{tmp_path / 'no-such-folder' / 'clientele.db'}", "serve", "--port", "0")

    assert_one_line_refusal(result, "no-such-folder")


def test_a_pool_size_that_is_not_a_number_is_one_line_on_stderr(sqlite_url: str) -> None:
    result = subprocess.run(
        [CLIENTELE, "serve", "--port", str(free_port())],
        env=environment(sqlite_url) | {"DATABASE_POOL_SIZE": "ten"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert_one_line_refusal(result, "DATABASE_POOL_SIZE", "ten")


def test_a_port_another_socket_holds_is_one_line_on_stderr(sqlite_url: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        result = run_clientele(sqlite_url, "serve", "--port", str(port))

    assert_one_line_refusal(result, f"127.0.0.1:{port}", "in use")
    assert result.returncode == 1


def postgres_scheme(url: str) -> str:
    return "postgres://" + url.split("://", 1)[1]


def test_a_postgres_url_is_read_as_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://user:secret@db.example:5433/clientele")

    assert load_settings().database_url == "postgresql://user:secret@db.example:5433/clientele"


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)
def test_serve_on_a_postgres_url_serves(tmp_path: Path) -> None:
    url = make_url(os.environ["TEST_DATABASE_URL"]).render_as_string(hide_password=False)

    with serving(postgres_scheme(url), tmp_path) as [server]:
        ready = httpx.get(f"{server.base_url}/readyz")

    assert ready.status_code == 200
