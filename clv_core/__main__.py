import sys

from clv_core.cli import main

sys.exit(main())
