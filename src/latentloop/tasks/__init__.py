"""Puzzle tasks: pure puzzle logic (parsing, solving, generation, encoding, augmentation), no torch.

`base.py` holds the `Task` protocol and the registry; each task module registers its class.
"""

from latentloop.tasks.base import Task, companion, register, registered, task_for

__all__ = ["Task", "companion", "register", "registered", "task_for"]
