"""Task flows that fail: the failed states of the media and music tasks, as answer faults.

A media or music job is created, then polled until it is done. The failure that hurts is not an
HTTP error but a poll that answers 200 with a failed task: Suno's ``CREATE_TASK_FAILED`` or
``GENERATE_AUDIO_FAILED``, DashScope's ``FAILED``, Kling's ``failed``, an OpenAI-style video's
``failed``. ``kind="task-failed"`` answers the test's task polls (:func:`pytest_anyint.families.task_poll`)
with that state, in the task API's own shape and valid against its contract, so only the app's
handling of it is on trial; ``variant=`` picks the state (default: the API's first failure below).
"""

from __future__ import annotations

from typing import Any

from ..envelopes import INJECTED_REQUEST_ID
from ..families import TaskPoll

#: Each task API's failed states, its default one first.
TASK_STATES: dict[str, tuple[str, ...]] = {
    "suno": ("GENERATE_AUDIO_FAILED", "CREATE_TASK_FAILED"),
    "dashscope": ("FAILED", "CANCELED", "UNKNOWN"),
    "kling": ("failed",),
    "openai-video": ("failed",),
}
#: Every variant ``task-failed`` accepts (states are matched without regard to case).
TASK_VARIANTS: tuple[str, ...] = tuple(dict.fromkeys(s.lower() for states in TASK_STATES.values() for s in states))

_MESSAGES = {
    "CREATE_TASK_FAILED": "Task creation failed",
    "GENERATE_AUDIO_FAILED": "Audio generation failed",
    "FAILED": "The task failed: the model could not generate the video.",
    "CANCELED": "The task was canceled.",
    "UNKNOWN": "The task is unknown or has expired.",
    "failed": "Video generation failed",
}


def task_state(api: str, variant: str | None) -> str:
    """The failed state to answer with: the variant when it is one of this API's, else its default."""
    states = TASK_STATES[api]
    if variant is not None:
        for state in states:
            if state.lower() == variant.lower():
                return state
    return states[0]


def failed_task(poll: TaskPoll, variant: str | None) -> dict[str, Any]:
    """The body of a poll that finds the task failed, in the API's own shape."""
    state = task_state(poll.api, variant)
    message = _MESSAGES[state]
    if poll.api == "suno":
        data = {"taskId": poll.task_id, "status": state, "response": None, "errorCode": 500, "errorMessage": message}
        return {"code": 200, "msg": "success", "data": data}
    if poll.api == "dashscope":
        output = {"task_id": poll.task_id, "task_status": state, "code": "InternalError", "message": message}
        return {"request_id": INJECTED_REQUEST_ID, "output": output}
    if poll.api == "kling":
        data = {"task_id": poll.task_id, "task_status": state, "task_status_msg": message}
        return {"code": 0, "message": "SUCCEED", "request_id": INJECTED_REQUEST_ID, "data": data}
    return {"id": poll.task_id, "object": "video", "status": state,
            "error": {"code": "video_generation_failed", "message": message}}


__all__ = ["TASK_STATES", "TASK_VARIANTS", "failed_task", "task_state"]
