"""``python -m energimon …`` is the ``energimon`` command."""

import sys

from energimon.app.cli import main

sys.exit(main())
