"""The benchmark harness: `make bench` (or `python -m bench`), PostgreSQL only.

It seeds a bench database, serves Clientele and three references (a bare ASGI app, pgbench,
a common FastAPI + ORM app) on the same machine, drives them with wrk, and writes the
results to bench/results/latest.md and latest.json. See bench/README.md.
"""
