"""latentloop: latent recursive reasoning (HRM, TRM, SRM) as presets of one engine."""

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "evaluate_run",
    "import_reference_run",
    "load_reference_checkpoint",
    "load_run",
    "rollout",
    "solve_arc",
    "solve_split",
    "solve_sudoku",
    "solve_tokens",
    "task_of",
]


def __getattr__(name: str):
    if name in __all__[1:]:
        from latentloop import api

        return getattr(api, name)
    raise AttributeError(f"module 'latentloop' has no attribute {name!r}")
