"""The HTTP routes, one module per resource; each route parses, calls the engine, returns."""
from fastapi import Depends, FastAPI

from . import audit, desk, dossiers, enforcement, events, health, letters, newcomers, sweep, worklist
from .common import no_unknown_query


ROUTERS = tuple(module.router for module in (health, newcomers, events, dossiers, letters, worklist, enforcement,
                                                sweep, audit, desk))


def include_all(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(no_unknown_query)])
