"""Render: a validated agreement -> Markdown -> HTML page, and the index of all agreements.

Templates are looked up first in the user's folder (--templates), then in templates/.
The Markdown environment escapes every value by default (finalize), so text from YAML
cannot change the document's structure; the HTML environment autoescapes.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import re
import traceback
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import FunctionType, MethodType
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.runtime

from ..errors import InputError
from ..model.agreement import Agreement
from ..model.schema import index
from ..world.resources import TEMPLATES
from . import present, wording
from .markdown import Heading, MdText, clean_text, code, escaped, for_github, for_github_and_html, inline
from .present import natural_key

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True)
class Section:
    number: int  # 0 for an appendix, which is not numbered
    title: str
    anchor: str
    template: str
    commitments: tuple[dict[str, Any], ...] = ()


def sections(data: dict[str, Any]) -> list[Section]:
    """The agreement's numbered sections, in reading order, leaving out the empty ones."""
    plan: list[tuple[str, str, str, tuple[dict[str, Any], ...]]] = [
        ("Parties and stakeholders", "parties", "parties", ())
    ]
    if data.get("definitions"):
        plan.append(("Definitions", "definitions", "definitions", ()))
    if data.get("goals"):
        plan.append(("Company goals", "goals", "goals", ()))
    if (data.get("goals") or {}).get("funnel") and (data.get("goals") or {}).get("revenue"):
        plan.append(("How the figures are derived", "funnel", "funnel", ()))
    for party in data["parties"]:
        owed = tuple(c for c in data["commitments"] if c["party"] == party["id"])
        if owed:
            plan.append((f"{party['name']} commitments", f"commitments-{party['id']}", "commitments", owed))
    if data.get("communication") or data.get("meetings"):
        plan.append(("Communication and meetings", "communication", "communication", ()))
    if data.get("conflict_resolution"):
        plan.append(("Conflict resolution", "conflict-resolution", "conflict", ()))
    if data.get("rewards"):
        plan.append(("Rewards", "rewards", "rewards", ()))
    if data.get("escalation") or data.get("penalties"):
        title = "Escalation" if not data.get("penalties") else "Escalation and penalties"
        plan.append((title, "escalation", "escalation", ()))
    plan.append(("Term and review", "term", "term", ()))
    plan.append(("Sign-off", "sign-off", "signoff", ()))
    numbered = [Section(i, title, anchor, template, owed) for i, (title, anchor, template, owed) in enumerate(plan, 1)]
    return numbered + [Section(0, "Appendix: terms digest", "terms-digest", "digest")]


def _anchor(ident: str) -> MdText:
    if not _SLUG.match(ident):
        raise ValueError(f"not a valid anchor: {ident!r}")
    return MdText("{#" + ident + "}")


def _csp_hash(script: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(str(script).encode()).digest()).decode()


def _join_cells(values: Iterable[Any], sep: str) -> MdText:
    return MdText(sep.join(inline(v) for v in values))


class TemplateError(InputError):
    """A template stopped while rendering (an undefined name, a bad filter argument): a bug in
    the template, or data it cannot take, such as a reference that does not resolve."""


class Fields(dict[str, Any]):
    """A mapping of the document in which a field the schema allows but the file omits reads
    as None, while a name the schema does not know stays undefined (a template mistake)."""

    __slots__ = ()
    allowed: frozenset[str] = frozenset()  # each place in the schema has a subclass (_fields_class)

    def __missing__(self, key: str) -> None:
        if key in self.allowed:
            return None
        raise KeyError(key)


# Attribute names a document mapping answers as an attribute (its methods), not as a field.
_MAPPING_ATTRIBUTES: dict[type, frozenset[str]] = {dict: frozenset(dir(dict)), Fields: frozenset(dir(Fields))}


class _Context(jinja2.runtime.Context):
    """Jinja's context, with a function or method that takes no context or environment
    (`agreement.banner()`, `anchor(...)`: every call a page makes) called at once. Jinja asks
    each callable, on every call, whether it wants one, by failing to find an attribute
    twice; the answer is kept per function instead."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        func = __obj.__func__ if kind is MethodType else __obj if kind is FunctionType else None
        if func is None or func not in _PLAIN_CALLABLES:
            if func is not None and not hasattr(func, "jinja_pass_arg"):
                _PLAIN_CALLABLES.add(func)
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


# Functions (and methods' functions) known to take no Jinja context or environment.
_PLAIN_CALLABLES: set[Any] = set()


class _Environment(jinja2.Environment):
    """Jinja, with `data.title` read from a document mapping without first failing to find
    an attribute `title` (Jinja tries the attribute first, and the AttributeError it raises
    and catches, hundreds of times a page, cost more than the rest of the lookup). The
    result is the same: a method name (`items`) is still the method."""

    context_class = _Context

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: dict[tuple[str, str | None], jinja2.Template] = {}

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """Jinja's, with each template kept by name: a page includes a dozen, and a build never
        reloads one (auto_reload is off), so the lookup skips Jinja's locked LRU cache."""
        if globals is not None or not isinstance(name, str) or self.auto_reload:
            return super().get_template(name, parent, globals)
        known = self._loaded.get((name, parent))
        if known is None:
            known = self._loaded[name, parent] = super().get_template(name, parent)
        return known

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one dict, not Jinja's ChainMap over the environment's: each
        render and each include copies them, a dict in one call, a ChainMap key by key in
        Python. The Renderer sets every global before it loads a template."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        methods = _MAPPING_ATTRIBUTES.get(type(obj))
        if methods is None or attribute in methods:  # Jinja's own lookup, without a call more
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass
            try:
                return obj[attribute]
            except (TypeError, LookupError, AttributeError):
                return self.undefined(obj=obj, name=attribute)
        try:
            return obj[attribute]
        except KeyError:
            return self.undefined(obj=obj, name=attribute)


def view(value: Any, path: tuple[str, ...] = ()) -> Any:
    """The document prepared for templates: every mapping a `Fields` aware of its schema."""
    shape = _schema_shape()
    for part in path:
        shape = shape.children.get(part, _NOWHERE)
    return _view(value, shape)


@lru_cache(maxsize=1)
def _allowed_fields() -> dict[tuple[str, ...], frozenset[str]]:
    return {path: frozenset(node.get("properties", {})) for path, node in index().fields.items()}


@cache
def _fields_class(allowed: frozenset[str]) -> type[Fields]:
    """The Fields of mappings that allow these names: a class of its own, so a mapping is made
    in one call, with no attribute to set."""
    if not allowed:
        return Fields
    cls = type("Fields", (Fields,), {"__slots__": (), "allowed": allowed, "__doc__": Fields.__doc__})
    _MAPPING_ATTRIBUTES[cls] = _MAPPING_ATTRIBUTES[Fields]
    return cls


class _Shape:
    """Where a value sits in the schema: the Fields class of a mapping there, and the shape of
    each field ("*" for a list's items), without a path to build and hash for each value."""

    __slots__ = ("children", "fields")

    def __init__(self) -> None:
        self.fields: type[Fields] = Fields
        self.children: dict[Any, _Shape] = {}


_NOWHERE = _Shape()  # outside the schema: no field allowed, nothing below


@lru_cache(maxsize=1)
def _schema_shape() -> _Shape:
    root = _Shape()
    for path, allowed in _allowed_fields().items():
        node = root
        for part in path:
            node = node.children.setdefault(part, _Shape())
        node.fields = _fields_class(allowed)
    return root


def _view(value: Any, shape: _Shape) -> Any:
    # Most values are leaves: they are cleaned or kept right here, without a call of their
    # own; a page has a few hundred of them.
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        item = shape.children.get("*", _NOWHERE)
        return [
            clean_text(v) if isinstance(v, str) else _view(v, item) if isinstance(v, (dict, list)) else v for v in value
        ]
    if not isinstance(value, dict):
        return value
    children = shape.children
    return shape.fields(
        {
            k: clean_text(v)
            if isinstance(v, str)
            else _view(v, children.get(k, _NOWHERE))
            if isinstance(v, (dict, list))
            else v
            for k, v in value.items()
        }
    )


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Templates compiled once, not on every run (compiling the agreement's templates took
    longer than rendering one): Jinja's own per-user folder in the temporary directory,
    each entry checked against its template's source. A folder that cannot be read or
    written only costs time."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


@lru_cache(maxsize=1)
def _compiled_templates() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no private temporary folder to be had
        return None


class Renderer:
    """Jinja environments for one build; `templates` is searched before the built-in ones."""

    def __init__(self, templates: Path | None = None):
        search = [str(templates)] if templates else []
        search.append(str(TEMPLATES))
        loader = jinja2.FileSystemLoader(search)
        self.search = search
        self._style: MdText | None = None
        self.markdown_env = _Environment(
            loader=loader,
            bytecode_cache=_compiled_templates(),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            finalize=escaped,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # one build, one set of templates: no stat of each file per page
        )
        self.html_env = _Environment(
            loader=loader,
            bytecode_cache=_compiled_templates(),
            undefined=jinja2.StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        for env in (self.markdown_env, self.html_env):
            env.filters.update(present.FILTERS)
            env.filters.update({"cell": inline, "join_cells": _join_cells, "csp_hash": _csp_hash, "clean": clean_text})
            env.globals["anchor"] = _anchor
            env.globals["funnel_rates"] = present.funnel_rates
            env.globals["funnel_runs"] = present.funnel_runs
            env.globals["undertaking"] = wording.undertaking
            env.globals["hashes"] = lambda level: MdText("#" * max(1, min(int(level), 6)))
        self.markdown_env.filters["code"] = code  # Markdown only: in HTML, MdText would skip escaping

    def template(self, env: jinja2.Environment, name: str, **context: Any) -> str:
        try:
            return env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"{exc.filename or name}:{exc.lineno}: error[template]: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            where = _template_line(exc)  # the template that includes the missing one, if any
            missing = f"template {exc.name!r} not found in {', '.join(self.search)}"
            raise InputError(f"{where}: error[template]: {missing}" if where else missing) from None
        except UnicodeDecodeError as exc:  # a template file that is not UTF-8: say which
            raise InputError(
                f"{_undecodable_template(exc, self.search) or name}: error[template]: the file is not UTF-8 text"
            ) from None
        except Exception as exc:  # a template bug (undefined name, bad filter argument): say where
            where = _template_line(exc) or name
            message = str(exc).replace(f"'{Fields.__module__}.Fields object'", "the agreement's field")
            message = message.replace(f"'{Agreement.__module__}.Agreement object'", "the agreement")
            raise TemplateError(f"{where}: error[template]: {type(exc).__name__}: {message}") from None

    def context(self, data: dict[str, Any], agreement: Agreement | None = None) -> dict[str, Any]:
        """What the agreement templates see: the typed agreement (figures derived there) and
        `data`, its fields with text made safe for a page."""
        agreement = agreement or Agreement.from_data(data)
        data = view(data)
        return {
            "agreement": agreement,
            "data": data,
            "sections": sections(data),
            "party_names": {p["id"]: p["name"] for p in data["parties"]},
            "stakeholder_names": {s["id"]: s["name"] for s in data.get("stakeholders") or []},
            "calendars": {c["id"]: c for c in data.get("calendars", [])},
            "definition_names": {
                d["id"]: d["term"] + (f" ({d['abbreviation']})" if d.get("abbreviation") else "")
                for d in data.get("definitions", [])
            },
            "meeting_titles": {m["id"]: m["title"] for m in data.get("meetings", [])},
            "commitment_titles": {c["id"]: c["title"] for c in data["commitments"]},
        }

    def body(self, data: dict[str, Any], agreement: Agreement | None = None) -> str:
        """The numbered sections as Markdown (the page's body, and what the redline compares)."""
        return tidy(self.template(self.markdown_env, "body.md.j2", **self.context(data, agreement)))

    def agreement(self, data: dict[str, Any], source: str, agreement: Agreement | None = None) -> tuple[str, str]:
        """The agreement's Markdown file and its standalone HTML page."""
        context = self.context(data, agreement)
        body = tidy(self.template(self.markdown_env, "body.md.j2", **context))
        # The title block is tidied on its own: the body already is, and is long.
        head = tidy(self.template(self.markdown_env, "agreement.md.j2", body=MdText(_BODY), **context))
        github, html, headings = for_github_and_html(body)
        if head.count(_BODY) == head.count(_BODY + "\n") == 1:
            markdown = head.replace(_BODY + "\n", github)
        else:  # a template of one's own that does something else with the body
            whole = self.template(self.markdown_env, "agreement.md.j2", body=MdText(body), **context)
            markdown = for_github(tidy(whole))
        page = self.template(
            self.html_env,
            "agreement.html.j2",
            body=MdText(html),
            toc=toc(headings),
            source=source,
            style=self.style(),
            **context,
        )
        return markdown, page

    def index(
        self,
        entries: list[dict[str, Any]],
        as_of: dt.date,
        has_changelog: bool = False,
        has_pdf: bool = False,
        has_scorecard: bool = False,
    ) -> tuple[str, str]:
        """The index of all agreements, as Markdown and HTML (linking each PDF when there is one,
        and the scorecard when `make render` published one):
        in force first, then by title as people count ("unit 2" before "unit 10"), with
        counts by status and kind."""
        entries = sorted(entries, key=lambda e: (e["status"] == "retired", natural_key(e["title"]), e["id"]))
        statuses = [s for s in ("active", "draft", "retired") if any(e["status"] == s for e in entries)]
        kinds = sorted({e["kind"] for e in entries})
        context = {
            "entries": entries,
            "as_of": as_of,
            "has_changelog": has_changelog,
            "has_pdf": has_pdf,
            "has_scorecard": has_scorecard,
            "by_status": [(s, sum(e["status"] == s for e in entries)) for s in statuses],
            "by_kind": [(k, sum(e["kind"] == k for e in entries)) for k in kinds],
        }
        markdown = tidy(self.template(self.markdown_env, "index.md.j2", **context))
        page = self.template(self.html_env, "index.html.j2", style=self.style(), **context)
        return markdown, page

    def load(self, *names: str) -> None:
        """Load templates (and the style) ahead of their first use, as a build does while
        its workers run; a template that fails here is left for its use to report."""
        for name in names:
            env = self.markdown_env if name.endswith(".md.j2") else self.html_env
            with contextlib.suppress(Exception):
                env.get_template(name)
        with contextlib.suppress(Exception):
            self.style()

    def style(self) -> MdText:
        if self._style is None:  # the same for every page of a build
            self._style = MdText(self.template(self.html_env, "style.css.j2"))
        return self._style


_BODY = "\ufdd1body\ufdd1"  # where the body goes (a noncharacter: no file text has one)


def _template_line(exc: BaseException) -> str | None:
    """file:line of the template being run when `exc` was raised (None: none was)."""
    frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename.endswith(".j2")), None)
    return f"{frame.filename}:{frame.lineno}" if frame else None


def _undecodable_template(exc: UnicodeDecodeError, search: list[str]) -> str | None:
    """The template file whose bytes are `exc.object`, looked for in the search folders."""
    for folder in search:
        for path in sorted(Path(folder).rglob("*.j2")):
            try:
                if path.read_bytes() == exc.object:
                    return str(path)
            except OSError:
                continue
    return None


# Three line breaks or more, written so that the search starts from a plain character (ten
# times as fast on a page as "\n{3,}", the same matches).
_BLANK_LINES = re.compile(r"\n\n\n+")


def tidy(markdown: str) -> str:
    """At most one blank line in a row, no trailing spaces, one final newline."""
    lines = [line.rstrip() for line in markdown.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def toc(headings: list[Heading]) -> list[dict[str, Any]]:
    """Sections (h2) with their subsections (h3) for the page's table of contents."""
    entries: list[dict[str, Any]] = []
    for heading in headings:
        if heading.level == 2:
            entries.append({"anchor": heading.anchor, "text": heading.text, "children": []})
        elif heading.level == 3 and entries:
            entries[-1]["children"].append({"anchor": heading.anchor, "text": heading.text})
    return entries


def index_entry(agreement: Agreement) -> dict[str, Any]:
    """What the index shows about one agreement (also kept in the build cache)."""
    review = agreement.review.next_review
    return {
        "id": agreement.id,
        "title": clean_text(agreement.title),
        "kind": agreement.kind,
        "status": agreement.status,
        "version": clean_text(agreement.version),
        "effective": agreement.effective.isoformat(),
        "next_review": review.isoformat() if review else None,
        "last_review": agreement.review.last_review.isoformat() if agreement.review.last_review else None,
        "signoff": agreement.signoff_summary(),
    }
