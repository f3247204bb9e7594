"""The emulator's task flows: a DashScope video task and a Suno music task, created then polled.

A task is created ``PENDING`` and polled: the first poll says it is still running, the next one
that it is done (with the media URLs), so an app's polling loop runs through every state it must
handle. Task state lives per emulator and survives :meth:`~pytest_anyint.emulator.Emulator.reset`.
"""

from __future__ import annotations

import threading
from typing import Any

from .replies import Reply, Routed, digest, error_reply, json_reply, uuid_of
from .switches import Switches


class Tasks:
    """Every task the emulator created, and how often each was polled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._polls: dict[str, int] = {}  # task id -> polls so far

    def create(self, task_id: str) -> None:
        with self._lock:
            self._polls[task_id] = 0

    def poll(self, task_id: str) -> int | None:
        """How often the task was polled before this poll (counting this one), or None: no such task."""
        with self._lock:
            polls = self._polls.get(task_id)
            if polls is not None:
                self._polls[task_id] = polls + 1
        return polls


def video_create(tasks: Tasks, switches: Switches, call: Routed) -> Reply:
    seed = digest(call.model, call.path, call.body)
    task_id = uuid_of(digest("task", seed))
    tasks.create(task_id)
    answer = {"request_id": uuid_of(seed), "output": {"task_id": task_id, "task_status": "PENDING"}}
    return json_reply(200, switches.apply_drift("media", answer))


def video_task(tasks: Tasks, switches: Switches, call: Routed) -> Reply:
    task_id = call.params["task_id"]
    polls = tasks.poll(task_id)
    if polls is None:
        return error_reply(404, call.family.name, f"Task not found: {task_id}")
    output: dict[str, Any] = {"task_id": task_id, "task_status": "RUNNING" if polls == 0 else "SUCCEEDED"}
    answer: dict[str, Any] = {"request_id": uuid_of(digest("poll", task_id, polls)), "output": output}
    if polls > 0:
        output["video_url"] = f"https://media.emulator.anyint.invalid/video/{task_id}.mp4"
        answer["usage"] = {"video_count": 1, "video_duration": 5}
    return json_reply(200, switches.apply_drift("media", answer))


def music_create(tasks: Tasks, switches: Switches, call: Routed) -> Reply:
    task_id = digest("suno", call.model, call.body)[:32]
    tasks.create(task_id)
    return json_reply(200, switches.apply_drift("music", {"code": 200, "msg": "success", "data": {"taskId": task_id}}))


def music_task(tasks: Tasks, switches: Switches, call: Routed) -> Reply:
    task_id = call.query.get("taskId") or ""
    if not task_id:
        return error_reply(400, "music", "taskId is required")
    polls = tasks.poll(task_id)
    if polls is None:
        return error_reply(404, call.family.name, f"Task not found: {task_id}")
    data: dict[str, Any] = {"taskId": task_id, "status": "PENDING" if polls == 0 else "SUCCESS", "response": None}
    if polls > 0:
        songs = []
        for n in (1, 2):
            song_id = uuid_of(digest("song", task_id, n))
            songs.append(
                {
                    "id": song_id,
                    "audioUrl": f"https://media.emulator.anyint.invalid/audio/{song_id}.mp3",
                    "title": f"Emulated song {n}",
                    "tags": "pop, emulated",
                    "duration": 91.2,
                }
            )
        data["response"] = {"taskId": task_id, "sunoData": songs}
    return json_reply(200, switches.apply_drift("music", {"code": 200, "msg": "success", "data": data}))


__all__ = ["Tasks", "music_create", "music_task", "video_create", "video_task"]
