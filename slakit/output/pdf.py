"""PDF: the agreement's HTML page through a paged-media engine (WeasyPrint).

The PDF is made from the same HTML as dist/<id>.html, with templates/pdf.css.j2 on top: the
paper size, a running footer on every page (title, version, a short terms fingerprint,
"Page N of M"), contents with page numbers, bookmarks from the headings. Same input, same
bytes: the only dates in the file are fixed, from SOURCE_DATE_EPOCH or else the agreement.
Nothing is fetched while rendering, whatever a page would ask for.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, NoReturn

from ..errors import UsageError
from ..model.agreement import Agreement
from ..model.dates import parse_date
from ..world.clock import epoch_is_set
from .render import Renderer

PAPERS = {"a4": "A4", "letter": "letter"}


def document_date(agreement: Agreement) -> str:
    """The date the PDF says it was made: SOURCE_DATE_EPOCH when set, else the latest date
    the agreement holds (effective, last review, signatures), never the wall clock."""
    if epoch_is_set():
        epoch = os.environ["SOURCE_DATE_EPOCH"].strip()
        try:
            moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a timestamp (seconds since 1970-01-01)") from None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    dates = [agreement.effective, agreement.review.last_review]
    dates += [parse_date(s.date) for s in agreement.signoff.signatures]
    return max(d for d in dates if d is not None).isoformat()


def _refuse(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"the PDF fetches nothing ({url})")


def to_pdf(page: str, agreement: Agreement, renderer: Renderer, paper: str = "a4") -> bytes:
    """The PDF of an agreement's HTML page on A4 or Letter paper."""
    if paper not in PAPERS:
        raise UsageError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    try:
        from weasyprint import HTML  # imported here: loading it costs half a second
    except ImportError:
        raise UsageError(
            "the PDF needs WeasyPrint, an optional part of slakit: install it where slakit is installed, "
            "with `pip install 'weasyprint>=62,<80'` (or reinstall slakit with its pdf extra, "
            "`pip install 'slakit[pdf] @ git+https://github.com/OWNER/slakit@TAG'`)"
        ) from None
    except OSError as exc:  # WeasyPrint loads Pango when imported
        raise UsageError(
            f"the PDF needs the Pango text library, which could not be loaded ({exc}); "
            "on Debian or Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
        ) from None

    css = renderer.template(renderer.html_env, "pdf.css.j2", paper=PAPERS[paper])
    html = page.replace("</head>", f"<style>\n{css}</style>\n</head>", 1)
    logger = logging.getLogger("weasyprint")
    level, propagate = logger.level, logger.propagate
    # Properties the page uses for screens only (grid gaps, colour schemes) draw warnings.
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        document = HTML(string=html, url_fetcher=_refuse).render()
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
    document.metadata.created = document.metadata.modified = document_date(agreement)
    document.metadata.authors = [p.name for p in agreement.parties]
    return bytes(document.write_pdf())
