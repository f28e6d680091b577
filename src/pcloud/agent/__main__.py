"""``python -m pcloud.agent --config FILE``: the health agent in the foreground."""

import sys

from pcloud.agent.service import main

sys.exit(main())
