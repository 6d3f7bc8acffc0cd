"""`python -m gamedyn`: the command line."""

import sys

from gamedyn.cli import main

sys.exit(main())
