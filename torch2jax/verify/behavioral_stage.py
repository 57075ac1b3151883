"""Stage 3, behavioral: training runs the same way on both sides (optimizer steps compared step by step)."""

from __future__ import annotations

NOT_RUN = "not run: optimizer-step comparison arrives with the training-loop translation"


def run(ctx) -> dict:
    """The stage's result for the report (``ok`` None when it was not asked for)."""
    return {"ok": None, "reason": NOT_RUN}
