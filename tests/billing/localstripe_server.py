"""Run localstripe for the test suite: ``python localstripe_server.py PORT``.

localstripe pickles its whole store to the fixed path /tmp/localstripe.pickle after every
write; parallel runs (xdist workers, other checkouts on the machine) would all write that
one file. Here it starts from scratch and keeps its store in memory only.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from billing.localstripe_dev import localstripe_prepare

localstripe_prepare()

from localstripe.server import start  # noqa: E402 (after the patch above)

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "--port", sys.argv[1], "--from-scratch"]
    start()
