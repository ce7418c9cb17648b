import sys

from components.cli.main import main

sys.exit(main())
