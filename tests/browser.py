"""A small Chrome DevTools Protocol (CDP) client for headless Chromium, for the browser tests.

No third-party dependency: Chromium is started with ``--remote-debugging-pipe``, which makes
it read CDP commands from file descriptor 3 and write responses and events to file
descriptor 4, each message being one JSON object followed by a NUL byte.

    with Browser() as browser:
        with browser.open(Path("dist/index.html").as_uri()) as page:
            assert page.console_errors == []
            title = page.evaluate("document.title")
            pdf = page.print_pdf(paper="A4")

How it works:

* ``Browser`` launches Chromium with a fresh profile in a temporary folder, in a process group
  of its own, and moves the two pipe ends onto fds 3 and 4 in the child.
* A daemon thread reads fd 4, splits it on NUL bytes and decodes each message. Responses
  (they carry the ``id`` of their command) are handed to the waiting ``send`` call; events are
  appended to the ``Page`` whose CDP session they belong to.
* ``Browser.open`` creates a blank tab, attaches to it with a flattened session, enables the
  Runtime, Log, Network and Page domains and only then navigates, so nothing the page does
  while loading is missed. It returns once ``Page.loadEventFired`` has arrived. Dialogs
  (alert, confirm, prompt) are dismissed at once and recorded, so they cannot block a page.
* Every wait is bounded by a timeout (``BrowserError`` when it runs out), the thread notices
  when Chromium exits, and leaving the ``with`` block always kills the whole process group and
  removes the profile folder, so a broken browser fails the tests instead of hanging them.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 30.0

# Paper sizes for Page.printToPDF, in inches (CDP's unit).
PAPER = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0), "Legal": (8.5, 14.0), "A3": (11.69, 16.54)}

FLAGS = (
    "--headless",
    "--no-sandbox",  # root in containers; the pages under test are our own files
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
# With `offline`, every host name fails to resolve: a request to the network is still seen
# (Network.requestWillBeSent) but never leaves the machine.
OFFLINE_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND"


class BrowserError(RuntimeError):
    """Chromium failed to start, exited, answered with an error or did not answer in time."""


class JavaScriptError(BrowserError):
    """An expression given to ``Page.evaluate`` threw."""


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM if set, else `chromium` or `chromium-browser` on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _high_fd(fd: int) -> int:
    """A close-on-exec duplicate of `fd` numbered 10 or above, then `fd` closed.

    Keeps our pipe ends away from 3 and 4, so moving them there in the child cannot clobber one
    with the other.
    """
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Browser:
    """One headless Chromium process, driven over CDP. Use it as a context manager."""

    def __init__(
        self,
        binary: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        offline: bool = True,
        extra_flags: tuple[str, ...] = (),
        window_size: tuple[int, int] = (1280, 1024),
    ) -> None:
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("no chromium binary found (apt-get install chromium)")
        self.timeout = timeout
        self.flags = [*FLAGS, f"--window-size={window_size[0]},{window_size[1]}", *extra_flags]
        if offline:
            self.flags.append(OFFLINE_FLAG)
        self.version: dict[str, Any] = {}
        self._proc: subprocess.Popen | None = None
        self._profile: str | None = None
        self._log = None
        self._write_fd: int | None = None
        self._read_fd: int | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._pending: set[int] = set()  # ids of commands someone is waiting for
        self._responses: dict[int, dict] = {}
        self._sessions: dict[str, Page] = {}
        self._closed_reason: str | None = None  # set once fd 4 reaches end of file

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Launch Chromium and check that it answers (Browser.getVersion)."""
        try:
            self._launch()
            self.version = self.send("Browser.getVersion")
        except BaseException:
            self.close()
            raise

    def _launch(self) -> None:
        self._profile = tempfile.mkdtemp(prefix="slakit-chromium-")
        self._log = open(Path(self._profile) / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        child_in, child_out = _high_fd(to_child_r), _high_fd(from_child_w)
        self._write_fd, self._read_fd = _high_fd(to_child_w), _high_fd(from_child_r)
        os.set_blocking(self._write_fd, False)  # writes wait in select(), with the command's timeout

        def move_pipes_to_3_and_4() -> None:  # runs in the child, between fork and exec
            os.dup2(child_in, 3)  # dup2 leaves the copies inheritable: they survive exec
            os.dup2(child_out, 4)

        try:
            # close_fds=False: subprocess would otherwise close 3 and 4 after preexec_fn, and
            # pass_fds cannot renumber. Python's own descriptors are close-on-exec (PEP 446),
            # so only stdin/stdout/stderr and fds 3 and 4 reach Chromium.
            self._proc = subprocess.Popen(
                [self.binary, *self.flags, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                close_fds=False,
                preexec_fn=move_pipes_to_3_and_4,
                start_new_session=True,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self._reader = threading.Thread(target=self._read_loop, name="chromium-cdp-reader", daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Ask Chromium to quit, then kill its process group whatever happened. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None and self._closed_reason is None:
                try:
                    self.send("Browser.close", timeout=5)
                except BrowserError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # renderers and helpers are in its group
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with self._write_lock:
            fd, self._write_fd = self._write_fd, None
            if fd is not None:
                os.close(fd)
        if self._reader is not None:
            self._reader.join(timeout=5)  # Chromium is gone: fd 4 is at end of file
            self._reader = None
        fd, self._read_fd = self._read_fd, None
        if fd is not None:
            os.close(fd)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines Chromium wrote to stdout/stderr (for error messages)."""
        if not self._profile:
            return ""
        try:
            text = (Path(self._profile) / "chromium.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- protocol ---------------------------------------------------------------------------

    def send(
        self, method: str, params: dict | None = None, *, session_id: str | None = None, timeout: float | None = None
    ) -> dict:
        """Send one CDP command and wait for its result; raises BrowserError on error or timeout."""
        with self._cond:
            if self._closed_reason:
                raise BrowserError(f"{method}: {self._closed_reason}")
            self._next_id += 1
            msg_id = self._next_id
            self._pending.add(msg_id)
        try:
            return self._send(msg_id, method, params, session_id, timeout)
        finally:
            with self._cond:  # a late answer to a command given up on is dropped
                self._pending.discard(msg_id)
                self._responses.pop(msg_id, None)

    def _send(
        self, msg_id: int, method: str, params: dict | None, session_id: str | None, timeout: float | None
    ) -> dict:
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._write_lock:
            if self._write_fd is None:
                raise BrowserError(f"{method}: the browser is closed")
            try:
                view = memoryview(data)
                while view:
                    left = deadline - time.monotonic()
                    if left <= 0 or not select.select([], [self._write_fd], [], left)[1]:
                        raise BrowserError(
                            f"{method}: chromium did not read the command within {timeout or self.timeout:g} s"
                        )
                    try:
                        view = view[os.write(self._write_fd, view) :]
                    except BlockingIOError:
                        pass
            except OSError as e:
                code = self._proc.poll() if self._proc else None
                status = f"chromium exited with code {code}" if code is not None else "chromium stopped reading"
                raise BrowserError(f"{method}: {status} ({e})\n{self.log_tail()}") from e
        with self._cond:
            while msg_id not in self._responses:
                if self._closed_reason:
                    raise BrowserError(f"{method}: {self._closed_reason}\n{self.log_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"{method}: no answer from chromium within {timeout or self.timeout:g} s")
                self._cond.wait(left)
            response = self._responses.pop(msg_id)
        if "error" in response:
            err = response["error"]
            raise BrowserError(f"{method}: {err.get('message')} {err.get('data', '')}".strip())
        return response.get("result", {})

    def _read_loop(self) -> None:
        buffer = b""
        reason = "chromium exited"
        try:
            while True:
                fd = self._read_fd
                if fd is None:
                    reason = "the browser is closed"
                    break
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    if raw:
                        self._dispatch(json.loads(raw))
        except (OSError, ValueError) as e:
            reason = f"lost the connection to chromium ({e})"
        with self._cond:
            self._closed_reason = reason
            self._cond.notify_all()

    def _dispatch(self, message: dict) -> None:
        with self._cond:
            if "id" in message:
                if message["id"] in self._pending:
                    self._responses[message["id"]] = message
            else:
                page = self._sessions.get(message.get("sessionId", ""))
                if page is not None:
                    page._record(message["method"], message.get("params", {}))
            self._cond.notify_all()
        # Never let a page block on alert()/confirm()/prompt(); answered from the reader
        # thread without waiting for the result (waiting here would deadlock the reader).
        if message.get("method") == "Page.javascriptDialogOpening":
            self._send_no_wait("Page.handleJavaScriptDialog", {"accept": False}, message.get("sessionId"))

    def _send_no_wait(self, method: str, params: dict, session_id: str | None) -> None:
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        message = {"id": msg_id, "method": method, "params": params, "sessionId": session_id}
        with self._write_lock:
            if self._write_fd is not None:
                try:  # under PIPE_BUF bytes, so written whole or not at all
                    os.write(self._write_fd, json.dumps(message).encode() + b"\0")
                except OSError:
                    pass

    # -- pages ------------------------------------------------------------------------------

    def open(self, url: str, *, timeout: float | None = None) -> Page:
        """A new tab showing `url`, returned once its load event has fired."""
        target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        page = Page(self, target_id, session_id)
        with self._cond:
            self._sessions[session_id] = page
        try:
            page.navigate(url, timeout=timeout)
        except BaseException:
            page.close()
            raise
        return page


class Page:
    """One tab, attached through its own CDP session. Everything it reports while loading and
    afterwards is recorded in the lists below (appended by the reader thread)."""

    def __init__(self, browser: Browser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.events: list[tuple[str, dict]] = []
        self.console: list[dict] = []  # {"type", "text", "url", "line"} from Runtime.consoleAPICalled
        self.exceptions: list[dict] = []  # {"text", "url", "line"} from Runtime.exceptionThrown
        self.log_entries: list[dict] = []  # Log.entryAdded entries ({"level", "source", "text", "url"})
        self.requests: list[str] = []  # every URL from Network.requestWillBeSent, in order
        self.failed_requests: list[dict] = []  # {"url", "error"} from Network.loadingFailed
        self.dialogs: list[dict] = []  # alert()/confirm()/prompt(), dismissed automatically
        self._request_urls: dict[str, str] = {}
        self._closed = False
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, params: dict | None = None, *, timeout: float | None = None) -> dict:
        return self.browser.send(method, params, session_id=self.session_id, timeout=timeout)

    # -- what the page reported -------------------------------------------------------------

    @property
    def console_errors(self) -> list[dict]:
        return [m for m in self.console if m["type"] in ("error", "assert")]

    @property
    def log_errors(self) -> list[dict]:
        return [e for e in self.log_entries if e["level"] == "error"]

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, error-level log entries, failed requests and
        dialogs, one readable line each (empty when the page loaded cleanly)."""
        return (
            [f"console.{m['type']}: {m['text']} ({m['url']}:{m['line']})" for m in self.console_errors]
            + [f"uncaught exception: {e['text']} ({e['url']}:{e['line']})" for e in self.exceptions]
            + [f"log {e['source']} error: {e['text']} ({e['url']})" for e in self.log_errors]
            + [f"request failed: {r['url']} ({r['error']})" for r in self.failed_requests]
            + [f"dialog {d['type']}: {d['message']}" for d in self.dialogs]
        )

    def _record(self, method: str, params: dict) -> None:
        # Called by the reader thread with the browser's condition held: keep it quick.
        self.events.append((method, params))
        if method == "Runtime.consoleAPICalled":
            frame = ((params.get("stackTrace") or {}).get("callFrames") or [{}])[0]
            self.console.append(
                {
                    "type": params.get("type", ""),
                    "text": " ".join(_remote_object_text(a) for a in params.get("args", [])),
                    "url": frame.get("url", ""),
                    "line": frame.get("lineNumber", 0) + 1,
                }
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception") or {}
            self.exceptions.append(
                {
                    "text": exc.get("description") or details.get("text", ""),
                    "url": details.get("url", ""),
                    "line": details.get("lineNumber", 0) + 1,
                }
            )
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log_entries.append(
                {
                    "level": entry.get("level", ""),
                    "source": entry.get("source", ""),
                    "text": entry.get("text", ""),
                    "url": entry.get("url", ""),
                }
            )
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            self._request_urls[params.get("requestId", "")] = url
            self.requests.append(url)
        elif method == "Network.loadingFailed":
            if not params.get("canceled"):
                self.failed_requests.append(
                    {
                        "url": self._request_urls.get(params.get("requestId", ""), "?"),
                        "error": params.get("errorText", ""),
                    }
                )
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append({"type": params.get("type", ""), "message": params.get("message", "")})

    def wait_for_event(
        self,
        method: str,
        *,
        after: int = 0,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float | None = None,
    ) -> dict:
        """The params of the first `method` event recorded at index `after` or later in
        `self.events` that satisfies `predicate`; BrowserError after `timeout` seconds."""
        return self.events[self._wait_index(method, after, predicate, timeout)][1]

    def _wait_index(
        self, method: str, after: int, predicate: Callable[[dict], bool] | None, timeout: float | None
    ) -> int:
        timeout = self.browser.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        cond = self.browser._cond
        with cond:
            index = after
            while True:
                while index < len(self.events):
                    name, params = self.events[index]
                    if name == method and (predicate is None or predicate(params)):
                        return index
                    index += 1
                if self.browser._closed_reason:
                    raise BrowserError(f"waiting for {method}: {self.browser._closed_reason}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"no {method} event within {timeout:g} s")
                cond.wait(left)

    # -- commands ---------------------------------------------------------------------------

    def navigate(self, url: str, *, timeout: float | None = None) -> None:
        """Load `url` and wait for its load event (bounded by `timeout`)."""
        timeout = self.browser.timeout if timeout is None else timeout
        with self.browser._cond:
            mark = len(self.events)
        result = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        frame_id, loader_id = result.get("frameId"), result.get("loaderId")
        # Page.loadEventFired carries no frame or loader id, so first wait for the main frame
        # to commit this navigation (Page.frameNavigated with our loader id): a load event
        # after that one belongs to this URL, not to the blank page the tab started with.
        start = time.monotonic()

        def is_ours(params: dict) -> bool:
            frame = params.get("frame", {})
            return (
                not frame.get("parentId")
                and frame.get("id") == frame_id
                and (loader_id is None or frame.get("loaderId") == loader_id)
            )

        committed = self._wait_index("Page.frameNavigated", mark, is_ours, timeout)
        self._wait_index("Page.loadEventFired", committed, None, max(0.1, timeout - (time.monotonic() - start)))

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Any:
        """Evaluate JavaScript in the page and return its value as JSON data (promises awaited).

        `undefined` comes back as None; use `typeof x` to tell it from null.
        """
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True, "userGesture": False},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text", "")
            raise JavaScriptError(f"{expression!r} threw: {text}")
        return result.get("result", {}).get("value")

    def print_pdf(
        self,
        *,
        paper: str | None = "A4",
        width: float | None = None,
        height: float | None = None,
        landscape: bool = False,
        print_background: bool = True,
        timeout: float | None = None,
        **options: Any,
    ) -> bytes:
        """The page printed to PDF. `paper` is a name from PAPER, or pass `width` and `height`
        in inches; other Page.printToPDF options (margins, scale, pageRanges...) as keywords."""
        if width is None or height is None:
            width, height = PAPER[paper or "A4"]
        params = {
            "paperWidth": width,
            "paperHeight": height,
            "landscape": landscape,
            "printBackground": print_background,
            **options,
        }
        data = self.send("Page.printToPDF", params, timeout=timeout)["data"]
        return base64.b64decode(data)

    def screenshot(
        self, path: str | os.PathLike | None = None, *, full_page: bool = False, timeout: float | None = None
    ) -> bytes:
        """A PNG of the viewport (or of the whole page); written to `path` when given."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        png = base64.b64decode(self.send("Page.captureScreenshot", params, timeout=timeout)["data"])
        if path is not None:
            Path(path).write_bytes(png)
        return png

    def close(self) -> None:
        """Close the tab. Idempotent; quiet if the browser is already gone."""
        if self._closed:
            return
        self._closed = True
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target_id}, timeout=5)
        except BrowserError:
            pass
        with self.browser._cond:
            self.browser._sessions.pop(self.session_id, None)


def _remote_object_text(obj: dict) -> str:
    """A console argument (a CDP RemoteObject) as text, roughly as DevTools shows it."""
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    if obj.get("unserializableValue"):
        return obj["unserializableValue"]
    return obj.get("description") or obj.get("type", "")


def pdf_page_count(pdf: bytes) -> int:
    """Number of page objects in a PDF: `/Type /Page` dictionaries, not counting `/Type /Pages`.

    Chromium (Skia) writes page dictionaries uncompressed; if none are found this falls back
    to the largest `/Count` of a page tree node.
    """
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))
    if pages:
        return pages
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf, re.S)]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf, re.S)]
    return max(counts, default=0)
