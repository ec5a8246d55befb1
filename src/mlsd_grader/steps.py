"""The seven steps of the ML system design framework, with fixed ids, in framework order."""

from __future__ import annotations

from typing import Final

__all__ = ["STEP_IDS", "STEP_TITLES", "ANSWER_STEP", "step_title"]

STEP_IDS: Final[tuple[str, ...]] = (
    "requirements",
    "framing",
    "data",
    "modeling",
    "evaluation",
    "serving",
    "monitoring",
)

STEP_TITLES: Final[dict[str, str]] = {
    "requirements": "Clarifying requirements",
    "framing": "Framing the problem as an ML task",
    "data": "Data preparation",
    "modeling": "Model development",
    "evaluation": "Evaluation",
    "serving": "Deployment and serving",
    "monitoring": "Monitoring and infrastructure",
}

# The single step of a short-answer rubric: its section is the whole answer.
ANSWER_STEP: Final[str] = "answer"


def step_title(step_id: str) -> str:
    """Human title of a step id (``answer`` for short-answer rubrics)."""
    return STEP_TITLES.get(step_id, "Answer")
