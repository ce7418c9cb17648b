"""``python -m tenantry.llmgateway``: run the gateway (see :mod:`tenantry.llmgateway`)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
