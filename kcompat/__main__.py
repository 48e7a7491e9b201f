import sys

from kcompat.cli import main

sys.exit(main())
