"""`python -m vigil` is the `vigil` command."""

from vigil.cli import main

raise SystemExit(main())
