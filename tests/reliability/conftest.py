"""Private services for fault tests: a redis-server and a PostgreSQL cluster of the test's own, on free ports,
which the test may kill and restart (the machine's shared services are never touched).

A missing binary skips the test on a developer's machine and fails it in CI (INDIGO_REQUIRE_SERVICES=1).
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --- Redis ------------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of the test's own. Appends every write to its journal before answering, so what it held
    before a kill is there again after the restart (as on a production Redis with persistence)."""

    binary: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if not wait_for(lambda: self.process.poll() is None and self.ping(), timeout=10):
            raise RuntimeError(f"redis-server did not start: {(self.workdir / 'redis.log').read_text()[-2000:]}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=2)

    def kill(self) -> None:
        """SIGKILL: the server vanishes as in a crash; open connections see a reset, new ones are refused."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        assert wait_for(lambda: not _answers(self.port), timeout=5)


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    require("redis-server", binary is not None, "the redis-server binary is not on PATH")
    server = PrivateRedis(binary=binary, workdir=tmp_path)
    server.start()
    yield server
    server.kill()


# --- PostgreSQL -------------------------------------------------------------------------------------------


POSTGRES_BINARIES = ("initdb", "pg_ctl", "createdb")


def postgres_bindir() -> str | None:
    """The directory of the server's binaries (Debian keeps them off PATH, under /usr/lib/postgresql/<v>/bin)."""
    found = [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]
    for candidate in filter(None, found):
        bindir = Path(candidate).resolve().parent
        if all(os.access(bindir / name, os.X_OK) for name in POSTGRES_BINARIES):
            return str(bindir)
    return None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own in a temporary directory (run as the `postgres` OS user when the
    test runs as root, since PostgreSQL refuses to run as root)."""

    bindir: str
    datadir: Path
    port: int = field(default_factory=free_port)

    @property
    def as_user(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, f"{self.bindir}/pg_ctl", "-D", str(self.datadir / "data"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def init(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                f"{self.bindir}/initdb",
                "-D",
                str(self.datadir / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.datadir} "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off -c max_connections=60"
        )
        self.pg_ctl("-o", options, "-l", str(self.datadir / "postgres.log"), "-w", "-t", "60", "start")

    def restart(self, mode: str) -> None:
        """Stop (``immediate``: every backend killed mid-transaction, crash recovery at start) and start again."""
        self.pg_ctl("-m", mode, "-l", str(self.datadir / "postgres.log"), "-w", "-t", "60", "restart")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def log(self) -> str:
        path = self.datadir / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def private_postgres():
    bindir = postgres_bindir()
    require("PostgreSQL server binaries", bindir is not None, "initdb, pg_ctl and createdb are not installed")
    if os.geteuid() == 0:
        require("runuser", shutil.which("runuser") is not None, "runuser is needed to run PostgreSQL as root")
    datadir = Path(tempfile.mkdtemp(prefix="indigo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    server = PrivatePostgres(bindir=bindir, datadir=datadir)
    server.init()
    server.start()
    yield server
    server.stop("immediate")
    shutil.rmtree(datadir, ignore_errors=True)


def wait_until_listening(port: int, timeout: float = 30.0) -> bool:
    return bool(wait_for(lambda: _answers(port), timeout=timeout))
