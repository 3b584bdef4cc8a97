"""``python -m dirnet ...``: the ``dirnet`` command without the installed console script."""
from dirnet.cli import main

raise SystemExit(main())
