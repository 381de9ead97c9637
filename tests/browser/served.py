"""casework served the way an operator serves it, and Debian's Chromium to look at it: for
the browser tests (tests/browser/conftest.py) and the guide's screenshots
(tests/browser/screenshots.py).

The server is a real `casework serve` subprocess over a home prepared with `casework demo
--no-serve` (the shipped workflows and tables, the CDNOW sample customers, the demo users and
complaints), on a free loopback port; Playwright drives /usr/bin/chromium through
`executable_path` and never downloads a browser of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Headless in a container as root, and quiet: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1200, "height": 800}
STARTUP_SECONDS = 60.0


def casework_command() -> list[str]:
    """The `casework` console script of the running Python (the project's venv)."""
    script = Path(sys.executable).parent / "casework"
    if script.exists():
        return [str(script)]
    found = shutil.which("casework")
    if found is None:
        raise RuntimeError("no `casework` command: install the project (pip install -e .)")
    return [found]


def _environment() -> dict[str, str]:
    """This environment without CASEWORK_* settings: the home and clock come from flags."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}


def run_casework(home: Path, *args: str, now: str | None = None) -> str:
    """`casework ARGS --home HOME [--now NOW]`: its output, or an error that shows it."""
    command = [*casework_command(), *args, "--home", str(home)]
    if now is not None:
        command += ["--now", now]
    done = subprocess.run(command, env=_environment(), capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`casework {' '.join(args)}` failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare_home(home: Path, now: str | None = None) -> None:
    """A demo casework in `home`: the shipped workflows/ and rules/, then `casework demo`."""
    home.mkdir(parents=True, exist_ok=True)
    for folder in ("workflows", "rules"):
        shutil.copytree(ROOT / folder, home / folder, dirs_exist_ok=True)
    run_casework(home, "demo", "--no-serve", now=now)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def served(home: Path, now: str | None = None) -> Iterator[str]:
    """`casework serve` over `home` on a free port until the block ends; yields its base URL."""
    port = free_port()
    command = [*casework_command(), "serve", "--port", str(port), "--home", str(home)]
    if now is not None:
        command += ["--now", now]
    url = f"http://127.0.0.1:{port}"
    log_path = home / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=_environment(), stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            _wait_until_healthy(server, url, log_path)
            yield url
        finally:
            _stop(server)


def _wait_until_healthy(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(url):
        if server.poll() is not None:
            raise RuntimeError(f"`casework serve` exited with {server.returncode}:\n"
                               f"{log_path.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"`casework serve` did not answer {url}/healthz within "
                               f"{STARTUP_SECONDS:.0f} s:\n{log_path.read_text()}")
        time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # what Ctrl-C does: uvicorn shuts down cleanly
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)


def sign_in(page: Page, name: str, password: str) -> None:
    """Sign in on the page the site sends an anonymous visitor to."""
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


PASTE = ("(element, text) => { const data = new DataTransfer(); "
         "data.setData('text/plain', text); element.dispatchEvent(new ClipboardEvent('paste', "
         "{clipboardData: data, bubbles: true, cancelable: true})); }")


def write_source(page: Page, text: str) -> None:
    """Put `text` in the page's YAML editor as pasting it over everything would: into
    CodeMirror where it enhanced the textarea (the textarea, hidden, follows it), else into
    the plain textarea. (A paste event, as Ctrl+V sends: CodeMirror takes it itself, where
    Chromium's own editing of a replaced selection adds style attributes the CSP refuses.)"""
    source = page.locator("#source")
    page.wait_for_load_state("load")  # the deferred editor script has run, or will not
    if source.get_attribute("data-editor"):  # it enhances this one: wait until it has
        expect(source).to_have_attribute("data-enhanced", "true")
    editor = page.locator(".cm-content")
    if editor.count():
        editor.click()
        page.keyboard.press("Control+A")
        editor.evaluate(PASTE, text)
    else:
        source.fill(text)
    expect(source).to_have_value(text)


VIOLATIONS = ("document.addEventListener('securitypolicyviolation', e => console.error("
              "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))")


def watched(page: Page, tolerated: tuple[str, ...] = ()) -> list[str]:
    """The console errors, page errors and Content-Security-Policy violations the page reports
    from now on, as they come; an error whose text contains one of `tolerated` (a status the
    test asks for on purpose, which Chromium logs as a failed resource) is not one."""
    errors: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(t in message.text for t in tolerated):
            errors.append(f"{page.url}: {message.text}")

    page.on("console", seen)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.add_init_script(VIOLATIONS)
    return errors
