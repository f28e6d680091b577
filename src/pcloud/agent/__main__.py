"""``python3 -m agent --config FILE`` inside a droplet, ``python -m pcloud.agent`` on the control node."""

import sys

try:
    from pcloud.agent.service import main
except ImportError:  # inside a droplet: /opt/pcloud/agent beside consensus.py and health.py
    from agent.service import main  # type: ignore[no-redef]

sys.exit(main())
