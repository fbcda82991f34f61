import sys

from ironarchive_schema.cli.main import main

sys.exit(main())
