"""Entry point of the component package: ``pulumi package add`` runs this folder with the
Python language host (``python components/ <engine address>``); this folder is then the
first entry of ``sys.path``, so ``tenantry`` is imported from here. See
:mod:`tenantry.component_package`."""

from tenantry.component_package import main

raise SystemExit(main())
