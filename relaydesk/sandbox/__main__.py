"""`python -m relaydesk.sandbox`: serve in the foreground, as the one-module sandbox did."""

from relaydesk.sandbox.server import main

raise SystemExit(main())
