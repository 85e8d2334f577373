import sys

from sparsim.cli import main

sys.exit(main())
