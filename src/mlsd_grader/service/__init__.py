"""The HTTP service behind ``mlsd-grader serve`` (docs/service.md): a JSON API over the Grader, and a
practice page. Importing this package is light; FastAPI and uvicorn are imported by ``service.app`` only."""

from __future__ import annotations

from .settings import ServiceSettings, load_api_keys

__all__ = ["ServiceSettings", "load_api_keys"]
