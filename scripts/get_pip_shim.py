"""Stand-in for ansible-test's get-pip bootstrap script, which it downloads from a host these
machines cannot reach. It bootstraps pip from the interpreter's own ensurepip, then installs
the packages ansible-test asked for (e.g. pip==24.2 setuptools wheel) from the package index."""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip.py options pip install does not know

environ = dict(os.environ)  # ensurepip points PIP_CONFIG_FILE at /dev/null; pip install needs the real config
ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=environ))
