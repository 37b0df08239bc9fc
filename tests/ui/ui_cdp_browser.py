"""Headless Chromium driven over the DevTools protocol with the ``websockets`` package (no Playwright).

Just enough for the UI test: navigate, set a cookie, wait for a JavaScript condition, click an
element found by JavaScript (a real mouse event at its centre, so React sees a genuine click),
type text, press keys, and take screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.ui.ui_airflow_stack import stop_process_group

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1366, 950)


class CdpError(RuntimeError):
    """An error answer from the browser, or a condition that never became true."""


class Chromium:
    """One headless Chromium with one page, controlled through that page's DevTools websocket."""

    def __init__(self, *, executable: Path = CHROMIUM) -> None:
        self.executable = executable
        self.profile = Path(tempfile.mkdtemp(prefix="ui-chromium-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: ClientConnection | None = None
        self._ids = itertools.count(1)

    def __enter__(self) -> Chromium:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 20.0) -> None:
        # Port 0: Chromium picks a free port and writes it to DevToolsActivePort (no race on a guessed port).
        self.proc = subprocess.Popen(
            [
                str(self.executable),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-crash-reporter",
                "--disable-breakpad",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise CdpError(f"chromium did not open its DevTools port (exit code {self.proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.loads(resp.read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=10)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1], deviceScaleFactor=1, mobile=False
        )

    def stop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close()
            self.ws = None
        if self.proc is not None:
            stop_process_group(self.proc, grace=5.0)
            self.proc = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ---------------------------------------------------------------------------
    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Call a CDP method and return its result (events that arrive meanwhile are dropped)."""
        assert self.ws is not None, "browser not started"
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"{method}: no answer in {timeout} s")
            message = json.loads(self.ws.recv(timeout=remaining))
            if message.get("id") != call_id:
                continue
            if "error" in message:
                raise CdpError(f"{method}: {message['error']}")
            return dict(message.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"JavaScript error: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    # -- high level -------------------------------------------------------------------------
    def set_cookie(self, url: str, name: str, value: str) -> None:
        self.send("Network.setCookie", url=url, name=name, value=value, path="/")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 20.0, what: str | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except CdpError:
                value = None  # page in the middle of navigating
            if value:
                return value
            time.sleep(0.25)
        raise CdpError(f"timed out after {timeout} s waiting for {what or expression}")

    def wait_for_text(self, text: str, timeout: float = 20.0) -> None:
        self.wait_for(f"document.body && document.body.innerText.includes({json.dumps(text)})", timeout, repr(text))

    def body_text(self) -> str:
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def click(self, element_js: str, timeout: float = 20.0, what: str | None = None) -> None:
        """Click the centre of the element that the JavaScript expression ``element_js`` returns,
        once it is visible and has stopped moving (dialogs and accordions animate)."""
        locate = f"""(() => {{ const el = {element_js};
            if (!el) return null;
            el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect();
            return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null; }})()"""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            box = self.wait_for(locate, max(deadline - time.monotonic(), 0.1), what or element_js)
            if box == previous:
                break
            previous = box
            time.sleep(0.15)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def click_until(self, element_js: str, done_js: str, *, attempts: int = 3, wait: float = 6.0) -> None:
        """Click, and click again if ``done_js`` stays false: a click that lands before React has
        wired the element up (a busy machine) does nothing."""
        for attempt in range(1, attempts + 1):
            self.click(element_js)
            try:
                self.wait_for(f"!!({done_js})", wait, done_js)
                return
            except CdpError:
                if attempt == attempts:
                    raise

    def type_text(self, text: str) -> None:
        self.send("Input.insertText", text=text)

    def press(self, key: str) -> None:
        codes = {"Enter": 13, "Escape": 27, "Tab": 9, "ArrowDown": 40}
        for kind in ("keyDown", "keyUp"):
            event: dict[str, Any] = {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": codes[key]}
            if key == "Enter" and kind == "keyDown":
                event["text"] = "\r"
            self.send("Input.dispatchKeyEvent", **event)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
