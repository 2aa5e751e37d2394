"""latentloop: latent recursive reasoning (HRM, TRM, SRM) as presets of one engine."""

__version__ = "0.1.0"
__all__ = [  # "__version__" and `latentloop.api.__all__` (a test keeps the two in step)
    "ArcAnswer",
    "Run",
    "Solution",
    "__version__",
    "evaluate_run",
    "held_out_accuracy",
    "import_reference_run",
    "load_pretrained",
    "load_reference_checkpoint",
    "load_run",
    "rollout",
    "solve_arc",
    "solve_puzzles",
    "solve_split",
    "solve_sudoku",
    "solve_tokens",
    "task_of",
]


def __getattr__(name: str):
    """The API lives in `latentloop.api` and is imported on first use (importing latentloop stays cheap)."""
    import importlib

    api = importlib.import_module("latentloop.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'latentloop' has no attribute {name!r}")
