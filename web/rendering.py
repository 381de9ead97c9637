"""Templates: the full page by default, only the named block when HTMX asks for it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from engine.kernel.specs import WorkflowSpec
from engine.workflows.diagram import mermaid
from engine.workflows.drawing import svg, too_large
from web.headers import style_nonce

TEMPLATES = Path(__file__).parent / "templates"


def page(request: Request[Any, Any, Any], template: str, block: str | None = None,
         status_code: int = 200, **context: Any) -> Template:
    """`template` in full, or just `block` of it for an HTMX request that is not a boost."""
    htmx = getattr(request, "htmx", None)
    if block is not None and htmx and not htmx.boosted:
        return HTMXBlockTemplate(template_name=template, block_name=block, context=context,
                                 status_code=status_code)
    return Template(template_name=template, context=context, status_code=status_code)


def span(amount: timedelta) -> str:
    """A duration the way a desk reads it: 2d 4h, 3h 20m, 45m."""
    minutes = int(abs(amount).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def form_key() -> str:
    """A fresh key for one rendered form: submitting the form twice applies it once
    (engine.cases.submissions)."""
    return secrets.token_urlsafe(16)
def filesize(size: int) -> str:
    """A file's size the way people read it: 812 bytes, 14 KB, 2.3 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def workflow_svg(spec: WorkflowSpec, current: str | None = None) -> Markup:
    """The workflow's diagram for _workflow_diagram.html: SVG whose every text the drawing
    escaped, so it goes into the page as markup ("" for a workflow too large to draw)."""
    return Markup(svg(spec, current))


def _configure(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters["span"] = span
    env.filters["when"] = when
    env.globals["form_key"] = form_key
    env.filters["filesize"] = filesize
    env.filters["mermaid"] = mermaid  # _workflow_diagram.html draws a WorkflowSpec with it
    env.globals["workflow_svg"] = workflow_svg
    env.globals["diagram_too_large"] = too_large
    env.globals["style_nonce"] = style_nonce
    env.trim_blocks = True
    env.lstrip_blocks = True
    # templates are files of the installed package, read once per process: checking each one's
    # modification time on every page (and the page it extends) is a stat per template per view
    env.auto_reload = False


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    # autoescape is on for .html: every value a user typed is rendered as text
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine,
                          engine_callback=_configure)
