"""``python -m posebench`` runs the command line."""

import sys

from posebench.cli.main import main

sys.exit(main())
