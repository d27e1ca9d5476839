"""``python -m algodiscover.sweep``: the ``sweep`` command on its own (see ``algodiscover.sweep``).

Imports only :func:`algodiscover.sweep.command.main`; the task function the workers run
lives in ``algodiscover.sweep.worker``, never in this ``__main__`` module, so spawned and
Ray workers unpickle it by that module path.
"""

import sys

from algodiscover.sweep.command import main

if __name__ == "__main__":
    sys.exit(main())
