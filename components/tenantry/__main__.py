import sys

from tenantry.cli.main import main

sys.exit(main())
