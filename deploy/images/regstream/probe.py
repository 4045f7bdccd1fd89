"""Exit 0 when http://127.0.0.1:9100<path> answers 200, else 1: the image's health check.

Gateway (ops port) and worker (metrics port) both serve /healthz and /readyz on 9100 in the
image, so one probe fits both roles; it needs nothing but the Python standard library.
"""

import sys
import urllib.error
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/readyz"
try:
    with urllib.request.urlopen(f"http://127.0.0.1:9100{path}", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except (OSError, urllib.error.URLError) as exc:
    print(f"{path}: {exc}", file=sys.stderr)
    sys.exit(1)
