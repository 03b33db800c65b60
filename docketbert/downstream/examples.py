"""One labelled row of a task file, as the tasks (`docketbert.downstream.tasks`) and the baselines read it."""

from __future__ import annotations

from dataclasses import dataclass, field


class TaskDataError(ValueError):
    """A bad row in a task file; the message names the file, line and what is wrong."""


@dataclass
class Example:
    text: str
    labels: list[str] = field(default_factory=list)  # one label for single-label rows
    spans: list[tuple[int, int]] = field(default_factory=list)  # character offsets [start, end)
    case: str | None = None
