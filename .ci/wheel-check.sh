#!/usr/bin/env bash
# CI: what installs is what runs. Build the wheel, install it in a fresh virtual environment
# outside the checkout, run the demo in an empty folder from that install, serve it, sign in as
# the demo user alice and fetch the intake queue. A wheel that lacks templates, static files,
# the migrations or the shipped definitions fails here; an editable install would not show it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
server=""
finish() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" || true; fi
  rm -rf "$work"
}
trap finish EXIT

# Built from a copy of what the build reads, so that no earlier build/ folder leaks in.
mkdir "$work/source"
cp -a pyproject.toml README.md engine web migrations workflows rules "$work/source/"
find "$work/source" -name __pycache__ -prune -exec rm -rf {} +
python3 -m venv "$work/venv"
"$work/venv/bin/pip" wheel -q --no-deps -w "$work/dist" "$work/source"
"$work/venv/bin/pip" install -q "$work"/dist/casework-*.whl
rm -rf "$work/source"

mkdir "$work/home"
cd "$work/home"  # an empty folder: the demo runs on the definitions inside the wheel
env -u CASEWORK_HOME -u CASEWORK_DATABASE_URL -u CASEWORK_NOW \
  "$work/venv/bin/casework" demo --no-serve --home "$work/home"

port="$("$work/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
env -u CASEWORK_HOME -u CASEWORK_DATABASE_URL -u CASEWORK_NOW -u CASEWORK_SECRET \
  "$work/venv/bin/casework" serve --home "$work/home" --port "$port" --no-worker \
  >"$work/serve.log" 2>&1 &
server=$!

if ! "$work/venv/bin/python" - "$port" <<'PYTHON'; then
"""Sign in as alice (the demo's password) and check that the intake queue lists cases."""
import http.cookiejar
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
jar = http.cookiejar.CookieJar()
browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
deadline = time.monotonic() + 120
while True:
    try:
        with browser.open(f"{base}/login", timeout=10) as page:
            assert page.status == 200, f"/login answered {page.status}"
        break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            sys.exit(f"casework serve did not answer {base}/login within 120 s")
        time.sleep(0.5)
token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
form = urllib.parse.urlencode({"name": "alice", "password": "alice-demo", "next": "/",
                               "_csrf_token": token}).encode()
with browser.open(f"{base}/login", data=form, timeout=30) as page:
    assert page.status == 200, f"signing in answered {page.status}"
with browser.open(f"{base}/queues/intake", timeout=30) as page:
    text = page.read().decode()
    assert page.status == 200, f"/queues/intake answered {page.status}"
rows = text.count('<a href="/cases/')
assert rows > 0, "the intake queue of the demo lists no cases:\n" + text
print(f"wheel check: signed in as alice; /queues/intake lists {rows} case(s)")
PYTHON
  echo "wheel check failed; casework serve said:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
