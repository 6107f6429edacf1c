"""How a deliverer finds where to send: addresses written as such are not looked up, and a name's checked
addresses are used again for a few seconds, then looked up and checked again."""

import asyncio
import socket
from typing import Any

import pytest

from clientele.webhooks import destinations


class FakeDns:
    """socket.getaddrinfo answering from `answers` (host -> address), counting the lookups."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
        self.answers = answers
        self.lookups: list[str] = []
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.answers[host], port))]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolving(resolver: destinations.Resolver, url: str) -> destinations.Destination | str:
    """The destination, or the refusal's message."""
    try:
        return asyncio.run(resolver.resolve(url))
    except destinations.Refused as refused:
        return str(refused)


def test_an_address_written_as_one_is_checked_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDns(monkeypatch, {})

    public = asyncio.run(destinations.resolve("https://93.184.215.14:8443/hook", allow_private=False))
    refused = resolving(destinations.Resolver(allow_private=False), "https://[::1]/hook")

    assert public == destinations.Destination(host="93.184.215.14", port=8443, addresses=("93.184.215.14",))
    assert refused == "The url's host ::1 resolves to ::1, which is not a public address."
    assert dns.lookups == []


def test_an_address_in_a_form_only_the_resolver_reads_is_looked_up_and_checked() -> None:
    found = resolving(destinations.Resolver(allow_private=False), "https://127.1/hook")

    assert found == "The url's host 127.1 resolves to 127.0.0.1, which is not a public address."


def test_a_names_addresses_are_used_again_for_ten_seconds_then_looked_up_and_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns(monkeypatch, {"hooks.example": "93.184.215.14"})
    clock = Clock()
    resolver = destinations.Resolver(allow_private=False, clock=clock)

    first = resolving(resolver, "https://hooks.example/a")
    dns.answers["hooks.example"] = "10.0.0.5"
    clock.now += 9.9
    again = resolving(resolver, "https://hooks.example/b")
    clock.now += 0.1
    later = resolving(resolver, "https://hooks.example/a")

    assert first == again == destinations.Destination(host="hooks.example", port=443, addresses=("93.184.215.14",))
    assert later == "The url's host hooks.example resolves to 10.0.0.5, which is not a public address."
    assert dns.lookups == ["hooks.example", "hooks.example"]


def test_a_refusal_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDns(monkeypatch, {})
    resolver = destinations.Resolver(allow_private=False, clock=Clock())

    missing = resolving(resolver, "https://hooks.example/a")
    dns.answers["hooks.example"] = "93.184.215.14"
    found = resolving(resolver, "https://hooks.example/a")

    assert missing == "The url's host hooks.example could not be resolved."
    assert found == destinations.Destination(host="hooks.example", port=443, addresses=("93.184.215.14",))
    assert dns.lookups == ["hooks.example", "hooks.example"]


def test_each_host_and_port_is_kept_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDns(monkeypatch, {"a.example": "93.184.215.14", "b.example": "93.184.215.15"})
    resolver = destinations.Resolver(allow_private=False, clock=Clock())

    found = [
        resolving(resolver, url)
        for url in ("https://a.example/x", "https://b.example/x", "https://a.example:8443/x", "https://a.example/y")
    ]

    assert [destination.addresses for destination in found if isinstance(destination, destinations.Destination)] == [
        ("93.184.215.14",),
        ("93.184.215.15",),
        ("93.184.215.14",),
        ("93.184.215.14",),
    ]
    assert dns.lookups == ["a.example", "b.example", "a.example"]
