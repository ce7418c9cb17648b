"""``python -m tenantry.llmadapters``: run the adapter sync (see :mod:`tenantry.llmadapters`)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
