#!/usr/bin/env bash
# The Standard Webhooks libraries the code samples verify with (model/samples.rs), at the versions they name:
# tests/samples.rs runs this before running the Node and Python samples. The npm package is a devDependency of
# package.json (installed by `make tools`); the PyPI one is installed here, like end2end/serve.sh's aiosmtpd.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f node_modules/standardwebhooks/package.json ] ||
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("standardwebhooks") != "1.3.0")' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check standardwebhooks==1.3.0
