"""Live preview: serve the built site on localhost, rebuild on every change, reload the page.

A watcher polls the agreements, the templates and the schema; each change runs the same
incremental build as `make render`. Pages get a small script that asks the server for the
build number and reloads when it moves. While an agreement has errors, its own page shows
the validation messages instead, until the file is fixed; the other agreements are built
and served as usual. Only a failure of the whole build (a template error) shows on every page.
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

from ..checking.validate import Report
from ..errors import SlakitError, UsageError
from ..world.files import find_agreements
from ..world.load import load_file
from ..world.resources import SCHEMA_PATH, TEMPLATES
from .build import MANIFEST, BuildFailed, build

_PAGE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ID_LINE = re.compile(r"""^id:[ \t]*["']?([a-z0-9]+(?:-[a-z0-9]+)*)["']?[ \t]*(?:#.*)?$""", re.MULTILINE)

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
        self.problems: str | None = None  # the whole build failed: every page shows this
        self.broken: dict[str, str] = {}  # URL path of a broken agreement's page -> its problems
        self.broken_files: list[tuple[str, list[str]]] = []  # each broken file and its pages

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
        """Build; when some agreements have errors, publish the others and remember each
        broken one's page, so that page (and only it) shows its problems."""
        from ..output.report import text as report_text

        problems: str | None = None
        broken: dict[str, str] = {}
        broken_files: list[tuple[str, list[str]]] = []
        paths = self.paths
        while True:
            try:
                result = build(paths, self.out, self.templates)
                self.log(f"rebuilt: {len(result.rendered)} rendered, {len(result.unchanged)} unchanged")
                break
            except BuildFailed as failed:
                bad = [f for f in failed.report.files if not f.ok]
                for file in bad:
                    text = report_text(Report([file]))
                    earlier = [pages for name, pages in self.broken_files if name == file.path]
                    pages = list(dict.fromkeys(self.pages_of(file.path) + [p for ps in earlier for p in ps]))
                    broken.update(dict.fromkeys(pages, text))
                    broken_files.append((file.path, pages))
                    self.log(f"{file.path} has problems; its page shows them:\n" + text.rstrip())
                names = {f.path for f in bad}
                rest = [name for _, name in find_agreements(paths) if name not in names]
                if not rest or len(rest) == len(find_agreements(paths)):
                    problems = report_text(failed.report)
                    break
                paths = rest
            except SlakitError as exc:
                problems = exc.format_message()
                self.log(f"build failed: {problems}")
                break
            except Exception as exc:  # the preview outlives any failure of one rebuild
                problems = f"the build failed unexpectedly ({type(exc).__name__}: {exc}); please report this"
                self.log(problems)
                break
        with self.lock:
            self.problems = problems
            self.broken, self.broken_files = broken, broken_files
            self.version += 1

    def pages_of(self, source: str) -> list[str]:
        """The URL paths of the pages an agreement file publishes: from its id when it still
        has one, and from what the last good build published for it."""
        pages = []
        doc, _ = load_file(source)
        ident = doc.data.get("id") if doc is not None and isinstance(doc.data, dict) else None
        if doc is None:  # it does not parse: the id as written at the top level, else the file's name
            try:
                found = _ID_LINE.search(Path(source).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                found = None
            ident = found.group(1) if found else Path(source).stem
        if isinstance(ident, str) and _PAGE.match(ident):
            pages.append(f"/{ident}.html")
        try:
            manifest = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        agreements = manifest.get("agreements") if isinstance(manifest, dict) else None
        entry = agreements.get(source) if isinstance(agreements, dict) else None
        for output in entry.get("outputs", []) if isinstance(entry, dict) else []:
            if isinstance(output, str) and output.endswith(".html"):
                pages.append("/" + output)
        return list(dict.fromkeys(pages))

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
                version, problems, broken = site.version, site.problems, dict(site.broken)
                broken_files = list(site.broken_files)
            if path == "/__slakit/version":
                ok = problems is None and not broken
                self.send(json.dumps({"version": version, "ok": ok}).encode(), "application/json")
                return
            if path == "/__slakit/reload.js":
                self.send(RELOAD_JS.encode(), "text/javascript; charset=utf-8")
                return
            if path == "/" or path.endswith(".html"):
                if problems is not None:  # a server-side failure, so 500: tools and tests see it too
                    self.send(error_page(problems).encode(), "text/html; charset=utf-8", 500)
                    return
                if path in broken:
                    self.send(error_page(broken[path], one=True).encode(), "text/html; charset=utf-8", 500)
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
                if path in ("/", "/index.html") and broken_files:
                    page = with_notice(page, broken_files)
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


def with_notice(page: str, files: list[tuple[str, list[str]]]) -> str:
    """The index with a note of the agreements left out because they have problems."""
    items = "".join(
        f"<li><code>{html.escape(name)}</code>"
        + "".join(f' (<a href="{html.escape(p)}">its page shows why</a>)' for p in pages[:1])
        + "</li>"
        for name, pages in files
    )
    note = (
        '<aside role="alert" style="border-left:4px solid #a4260b;background:#fdf1ec;padding:.5rem 1rem;'
        'margin:0 0 1rem">Not published while they have problems:<ul>' + items + "</ul></aside>"
    )
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + note, page, count=1)


def error_page(problems: str, one: bool = False) -> str:
    """The page shown while the build fails (or, `one`, a broken agreement's own page),
    styled like the site (the built-in templates: the user's own may be what fails)."""
    from ..output.render import Renderer

    count = sum(1 for line in problems.splitlines() if re.search(r":\d+:\d+: (error|warning)\[", line))
    try:
        renderer = Renderer(None)
        return renderer.template(
            renderer.html_env,
            "error.html.j2",
            problems=problems.rstrip(),
            count=count or 1,
            style=renderer.style(),
            one=one,
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
