"""MkDocs hooks: the Qiskit page is part of the site only when ``iqm_client_async.qiskit`` exists.

The Qiskit adapter is an optional part of the package; a checkout without it still builds the site
with ``--strict`` (the page is dropped instead of failing on a module that is not there).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.qiskit")

QISKIT_MODULE = "iqm_client_async.qiskit"
QISKIT_PAGE = "qiskit.md"
QISKIT_MARKER = "<!-- qiskit -->"  # where a page mentions the adapter: a link, or "on its way"
QISKIT_PRESENT = (
    "Qiskit users: [`iqm_client_async.qiskit`](qiskit.md) (extra `[qiskit]`) runs Qiskit circuits through "
    "this client."
)
QISKIT_ABSENT = (
    "A Qiskit adapter (`iqm_client_async.qiskit`, extra `[qiskit]`) is on its way; its page appears in the "
    "Guide as soon as the module is part of the package."
)


def qiskit_available() -> bool:
    """Whether the package has its Qiskit subpackage (found, not imported: Qiskit itself may be absent)."""
    try:
        return importlib.util.find_spec(QISKIT_MODULE) is not None
    except ModuleNotFoundError:
        return False


def on_config(config: MkDocsConfig, **kwargs: Any) -> MkDocsConfig:
    if qiskit_available():
        for section in config.nav or []:
            if isinstance(section, dict) and "Guide" in section:
                section["Guide"].append({"Qiskit": QISKIT_PAGE})
                break
    return config


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    if not qiskit_available():
        page = files.get_file_from_path(QISKIT_PAGE)
        if page is not None:
            log.info("%s not found: %s left out of the site", QISKIT_MODULE, QISKIT_PAGE)
            files.remove(page)
    return files


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    if QISKIT_MARKER not in markdown:
        return markdown
    return markdown.replace(QISKIT_MARKER, QISKIT_PRESENT if qiskit_available() else QISKIT_ABSENT)
