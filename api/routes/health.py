from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health", summary="Liveness check (no authentication)")
def health() -> dict:
    return {"status": "ok"}
