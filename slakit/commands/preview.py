"""Live preview: serve the built site on localhost, rebuild on every change, reload the page.

A watcher polls the agreements, the templates and the schema; each change runs the same
incremental build as `make render`. Pages get a small script that asks the server for the
build number and reloads when it moves. While the agreements have errors, every page shows
the validation messages instead, until the file is fixed.
"""

from __future__ import annotations

import errno
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..errors import SlakitError, UsageError
from ..world.resources import SCHEMA_PATH, TEMPLATES
from .build import BuildFailed, build

RELOAD_JS = """(function () {
  var seen = null;
  function poll() {
    fetch("/__slakit/version", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (v) {
      if (seen !== null && v.version !== seen) { location.reload(); }
      seen = v.version;
    }).catch(function () {}).finally(function () { setTimeout(poll, 700); });
  }
  poll();
})();
"""
_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
# Preview only: pages may also run the reload script and fetch the build number from us.
_PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
)


class Site:
    """The build state shared by the watcher and the request handlers."""

    def __init__(self, paths: list[str], out: Path, templates: Path | None, log: Callable[[str], None] = print):
        self.paths, self.out, self.templates, self.log = paths, out, templates, log
        self.lock = threading.Lock()
        self.version = 0
        self.problems: str | None = None

    def watched(self) -> list[Path]:
        roots = [Path(p) for p in self.paths] + [TEMPLATES, SCHEMA_PATH.parent]
        if self.templates:
            roots.append(self.templates)
        files: list[Path] = []
        for root in roots:
            files += (
                sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root] if root.exists() else []
            )
        return files

    def snapshot(self) -> dict[str, tuple[int, int]]:
        state = {}
        for path in self.watched():
            try:
                stat = path.stat()
                state[str(path)] = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                pass
        return state

    def rebuild(self) -> None:
        from ..output.report import text as report_text

        try:
            result = build(self.paths, self.out, self.templates)
            problems = None
            self.log(f"rebuilt: {len(result.rendered)} rendered, {len(result.unchanged)} unchanged")
        except BuildFailed as failed:
            problems = report_text(failed.report)
            self.log("build failed; the pages show the problems:\n" + problems.rstrip())
        except SlakitError as exc:
            problems = exc.format_message()
            self.log(f"build failed: {problems}")
        except Exception as exc:  # the preview outlives any failure of one rebuild
            problems = f"the build failed unexpectedly ({type(exc).__name__}: {exc}); please report this"
            self.log(problems)
        with self.lock:
            self.problems = problems
            self.version += 1

    def watch(self, stop: threading.Event, interval: float = 0.4) -> None:
        seen = self.snapshot()
        while not stop.wait(interval):
            now = self.snapshot()
            if now != seen:
                seen = now
                self.rebuild()


IDLE_TIMEOUT = 10  # seconds a connection may stay silent before the server closes it


def handler(site: Site, hosts: frozenset[str] = frozenset()) -> type[SimpleHTTPRequestHandler]:
    """Request handlers for the preview. `hosts` are the Host headers accepted (with the
    port); any other is refused, so a web page elsewhere cannot reach the preview through
    a DNS name pointed at 127.0.0.1 (DNS rebinding)."""

    class Handler(SimpleHTTPRequestHandler):
        timeout = IDLE_TIMEOUT  # an idle connection cannot hold a thread forever

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, directory=str(site.out), **kwargs)

        def refused(self) -> bool:
            """Whether to refuse the request: an unknown Host, or a hidden file (the build
            manifest, anything whose name starts with a dot)."""
            host = (self.headers.get("Host") or "").strip().lower()
            if hosts and host not in hosts:
                self.send(b"Unknown host", "text/plain; charset=utf-8", 421)
                return True
            path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
            if any(part.startswith(".") for part in path.split("/") if part):
                self.send(b"Not found", "text/plain; charset=utf-8", 404)
                return True
            return False

        def do_HEAD(self) -> None:
            if not self.refused():
                super().do_HEAD()

        def log_message(self, format: str, *args: Any) -> None:  # keep the terminal for build news
            pass

        def send(self, body: bytes, kind: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", _PREVIEW_CSP)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.refused():
                return
            path = self.path.split("?", 1)[0]
            with site.lock:
                version, problems = site.version, site.problems
            if path == "/__slakit/version":
                self.send(json.dumps({"version": version, "ok": problems is None}).encode(), "application/json")
                return
            if path == "/__slakit/reload.js":
                self.send(RELOAD_JS.encode(), "text/javascript; charset=utf-8")
                return
            if path == "/" or path.endswith(".html"):
                if problems is not None:  # a server-side failure, so 500: tools and tests see it too
                    self.send(error_page(problems).encode(), "text/html; charset=utf-8", 500)
                    return
                target = site.out / ("index.html" if path == "/" else path.lstrip("/"))
                try:
                    resolved = target.resolve()
                    inside = resolved.is_relative_to(site.out.resolve())
                    page = resolved.read_text(encoding="utf-8") if inside else None
                except OSError:
                    page = None
                if page is None:
                    self.send(b"Not found", "text/plain; charset=utf-8", 404)
                    return
                self.send(with_reload(page).encode(), "text/html; charset=utf-8")
                return
            super().do_GET()

    return Handler


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host headers a browser sends for this server: the address it listens on, and the
    loopback names when it listens on loopback or on every address."""
    names = {host.lower(), f"[{host.lower()}]"}
    if host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""):
        names |= {"localhost", "127.0.0.1", "[::1]"}
    return frozenset(f"{name}:{port}" for name in names if name not in ("", "[]"))


def with_reload(page: str) -> str:
    page = _CSP_META.sub("", page, count=1)
    return page.replace("</body>", '<script src="/__slakit/reload.js"></script>\n</body>', 1)


def error_page(problems: str) -> str:
    """The page shown while the build fails, styled like the site (the built-in templates:
    the user's own may be what fails)."""
    from ..output.render import Renderer

    count = sum(1 for line in problems.splitlines() if re.search(r":\d+:\d+: (error|warning)\[", line))
    try:
        renderer = Renderer(None)
        return renderer.template(
            renderer.html_env, "error.html.j2", problems=problems.rstrip(), count=count or 1, style=renderer.style()
        )
    except SlakitError:
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Build failed</title></head><body>'
            f"<h1>The agreements have problems</h1><pre>{html.escape(problems)}</pre>"
            '<script src="/__slakit/reload.js"></script></body></html>'
        )


def serve(
    paths: list[str], out: Path, templates: Path | None, host: str, port: int, log: Callable[[str], None] = print
) -> None:
    """Build, then serve `out` and rebuild on change until interrupted."""
    site = Site(paths, out, templates, log)
    try:  # listen first: a port in use is known at once, before a build that may take a while
        server = ThreadingHTTPServer((host, port), handler(site))
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = (
                f"; another program (perhaps another preview) is using port {port}: stop it, or choose "
                "another port with --port 8080, or --port 0 to pick a free one"
            )
        elif exc.errno == errno.EACCES:
            hint = "; ports below 1024 need administrator rights: use --port 8000, or --port 0 to pick a free one"
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    server.RequestHandlerClass = handler(site, allowed_hosts(host, server.server_address[1]))
    site.rebuild()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        server.server_close()
        raise UsageError(f"cannot create the output folder '{out}': {exc.strerror or exc}") from None
    stop = threading.Event()
    watcher = threading.Thread(target=site.watch, args=(stop,), daemon=True)
    watcher.start()
    log(f"Serving http://{host}:{server.server_address[1]}/ (Ctrl+C to stop); rebuilding when files change")
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        log("stopped")
    finally:
        stop.set()
        server.server_close()
