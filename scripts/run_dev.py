"""`make run`: web, worker, beat and the welcome line of Procfile.dev under honcho, stopped cleanly by Ctrl-C.

On Ctrl-C honcho sends SIGTERM to each process, then SIGKILL to whatever is still running 5 seconds after the first
one stopped. The Celery worker's warm shutdown takes about that long on the embedded default's file-system broker
(it finishes its poll, closes its channels), so it was killed halfway with errors; here the wait is 30 seconds.
"""

import sys

import honcho.manager
from honcho.command import main

honcho.manager.KILL_WAIT = 30

if __name__ == "__main__":
    sys.exit(main(["start", "-f", "Procfile.dev", *sys.argv[1:]]))
