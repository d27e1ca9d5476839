"""``python -m algodiscover``: the same command line as the ``algodiscover`` script."""

import sys

from .cli import main

sys.exit(main())
