from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health", summary="Liveness check (no authentication)",
            responses={422: {"description": "An unknown query parameter, or one that is not text"}})
def health() -> dict:
    return {"status": "ok"}
