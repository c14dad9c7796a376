"""`make run` as a newcomer meets it (issue 13, First run): the catch-up quiet, the demo accounts printed last once
the web answers, and Ctrl-C stopping web, worker and beat cleanly (scripts/run_dev.py, Procfile.dev)."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.conftest import wait_for

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_demo_keeps_the_catch_up_quiet():
    makefile = (BASE_DIR / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "LOG_LEVEL=WARNING $(BIN)/python manage.py seed_demo -v 0" in demo
    assert "LOG_LEVEL=WARNING $(BIN)/python manage.py run_protocol | tail -n 1" in demo
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/run_dev.py" in run


def test_ctrl_c_stops_web_worker_and_beat_cleanly_after_the_demo_accounts_were_printed_last(tmp_path):
    """The real processes on the embedded default (SQLite, the file-system broker) in a directory of their own."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")},
        "INDIGO_VAR_DIR": str(tmp_path / "var"),
        "INDIGO_PORT": str(port),
        "VENV": str(Path(sys.executable).parent.parent),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "indigo.settings",
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, capture_output=True
    )
    assert migrate.returncode == 0, migrate.stderr.decode()
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "scripts/run_dev.py"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        assert wait_for(lambda: "Parent login:" in log_path.read_text(errors="replace"), timeout=90), (
            log_path.read_text(errors="replace")
        )
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends honcho in a terminal
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text(errors="replace")
    # The accounts come after the start-up lines of the web server and of the worker, at the bottom of the screen.
    accounts = output.index("INDIGO is running on")
    assert output.index("Quit the server with") < accounts and output.index("[queues]") < accounts
    assert accounts < output.index("DEMO-ONLY") < output.index("Parent login:") < output.index("SIGINT received")
    for name in ("web", "worker", "beat", "welcome"):
        assert re.search(rf"{name}\.1 stopped \(rc=0\)", output), output
    assert "SIGKILL" not in output and "Traceback" not in output and "ERROR" not in output
    assert f"INDIGO is running on http://127.0.0.1:{port}/" in output
