import sys

from partlift.cli.main import main

sys.exit(main())
