"""The on-disk dataset layout, compatible with the HRM/TRM reference builders.

A dataset directory holds ``identifiers.json`` (embedding id -> name, 0 = ``"<blank>"``) and one
directory per split (``train``, ``test``) with ``dataset.json`` and, for the set ``all``:

* ``all__inputs.npy``, ``all__labels.npy``: [N_examples, seq_len] token ids; uint8 as we write them.
  The readers take any integer dtype: the references' Sudoku builder writes int64 when it augments
  (its digit map is int64), uint8 otherwise.
* ``all__puzzle_identifiers.npy``: int32 [N_puzzles], embedding id of each puzzle.
* ``all__puzzle_indices.npy``: int32 [N_puzzles + 1], CSR offsets: puzzle p owns examples
  [pi[p], pi[p+1]).
* ``all__group_indices.npy``: int32 [N_groups + 1], CSR offsets into puzzles; a group is an original
  puzzle and its augmentations.
* optional extra per-puzzle arrays, e.g. ``all__ratings.npy`` float32 [N_puzzles].

``dataset.json`` counts: ``total_groups`` = N_groups and ``mean_puzzle_examples`` = N_examples /
N_puzzles in every reference builder. ``total_puzzles`` (TRM only; HRM omits it) is the weight of
``mean_puzzle_examples`` when TRM's loader merges datasets, i.e. a puzzle count, and TRM's ARC builder
writes N_puzzles; its Sudoku and maze builders write N_groups instead. So a file may hold either;
`read_split` reports N_puzzles, and we always write N_puzzles.

Labels are stored with ``ignore_label_id`` (0 = PAD) where no loss applies; the loader maps them to
`IGNORE_LABEL_ID`.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from latentloop.errors import DatasetError

PAD_ID = 0
IGNORE_LABEL_ID = -100
BLANK_PUZZLE_ID = 0

REQUIRED_ARRAYS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
_DTYPES = {
    "inputs": np.uint8,
    "labels": np.uint8,
    "puzzle_identifiers": np.int32,
    "puzzle_indices": np.int32,
    "group_indices": np.int32,
}
_INT_FIELDS = (
    "seq_len",
    "vocab_size",
    "pad_id",
    "blank_identifier_id",
    "num_puzzle_identifiers",
    "total_groups",
)


@dataclass
class DatasetMetadata:
    """Contents of a split's ``dataset.json`` (the references' ``PuzzleDatasetMetadata``).

    ``total_puzzles`` is TRM's addition (see the module docstring); `read_split` sets it to the
    number of puzzles whatever the file holds. ``task`` and ``provenance`` are latentloop additions,
    ignored by the references.
    """

    seq_len: int
    vocab_size: int
    pad_id: int
    ignore_label_id: int | None
    blank_identifier_id: int
    num_puzzle_identifiers: int
    total_groups: int
    mean_puzzle_examples: float
    total_puzzles: int | None = None
    sets: list[str] = field(default_factory=lambda: ["all"])
    task: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None

    def to_json(self, path: str | Path) -> None:
        """Writes the metadata as indented JSON with sorted keys (byte-stable)."""
        data = {k: v for k, v in asdict(self).items() if v is not None or k == "ignore_label_id"}
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | Path) -> DatasetMetadata:
        """Reads and validates ``dataset.json``.

        Raises:
            DatasetError: Unreadable file, invalid JSON, or a missing or mistyped field.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasetError(f"{path} is missing") from None
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"cannot read {path}: {e}") from None
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{path} must hold a JSON object, got {type(data).__name__}")
        return cls(**_validated_fields(data, path))


def _validated_fields(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Checks the fields of a metadata dict; returns the known ones."""

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    for name in (*_INT_FIELDS, "ignore_label_id", "mean_puzzle_examples", "sets"):
        if name not in data:
            raise DatasetError(f"{path} is missing the required field '{name}'")
    checks = {name: is_int for name in _INT_FIELDS}
    checks["ignore_label_id"] = lambda v: v is None or is_int(v)
    checks["total_puzzles"] = lambda v: v is None or is_int(v)
    checks["mean_puzzle_examples"] = lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    checks["sets"] = lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(s, str) for s in v)
    checks["task"] = lambda v: v is None or isinstance(v, dict)
    checks["provenance"] = lambda v: v is None or isinstance(v, dict)
    for name, ok in checks.items():
        if name in data and not ok(data[name]):
            raise DatasetError(f"{path}: field '{name}' has an invalid value {data[name]!r}")
    known = {f.name for f in fields(DatasetMetadata)}
    return {k: v for k, v in data.items() if k in known}


@dataclass
class Split:
    """One split (train or test) of a dataset.

    Attributes:
        metadata: The split's ``dataset.json``.
        inputs: uint8 [N, seq_len] input tokens.
        labels: uint8 [N, seq_len] label tokens, as stored (``ignore_label_id`` not yet mapped).
        puzzle_identifiers: int32 [P].
        puzzle_indices: int32 [P + 1].
        group_indices: int32 [G + 1].
        extras: Optional per-puzzle arrays by name, e.g. ``{"ratings": float32 [P]}``.
    """

    metadata: DatasetMetadata
    inputs: np.ndarray
    labels: np.ndarray
    puzzle_identifiers: np.ndarray
    puzzle_indices: np.ndarray
    group_indices: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None  # the split's directory, when read from disk

    def task(self):
        """The task of this split's dataset (`latentloop.tasks.task_for`: named in dataset.json, else recognised)."""
        from latentloop.tasks import task_for

        root = self.path.parent if self.path is not None else None
        return task_for(self.metadata.task, self.metadata.seq_len, self.metadata.vocab_size, root=root)

    @property
    def example_puzzles(self) -> np.ndarray:
        """The puzzle index of every example, int64 [N]."""
        counts = np.diff(self.puzzle_indices)
        return np.repeat(np.arange(len(counts)), counts)

    @property
    def num_examples(self) -> int:
        """N."""
        return int(self.inputs.shape[0])

    @property
    def num_puzzles(self) -> int:
        """P."""
        return int(self.puzzle_identifiers.shape[0])

    @property
    def num_groups(self) -> int:
        """G."""
        return int(self.group_indices.shape[0]) - 1


def _check_offsets(name: str, offsets: np.ndarray, count: int, end: int, where: str) -> None:
    """Checks CSR offsets: int [count + 1], starting at 0, non-decreasing, ending at ``end``."""
    if offsets.ndim != 1 or offsets.shape[0] != count + 1:
        raise DatasetError(f"{where}: {name} has shape {offsets.shape}; expected ({count + 1},)")
    if offsets[0] != 0 or offsets[-1] != end or (np.diff(offsets) < 0).any():
        raise DatasetError(
            f"{where}: {name} must rise from 0 to {end} without decreasing; got first {offsets[0]}, last {offsets[-1]}"
        )


def _check_arrays(arrays: Mapping[str, np.ndarray], meta: DatasetMetadata, where: str) -> None:
    """Checks shapes, dtypes and CSR consistency of a split's arrays against its metadata."""
    for name in REQUIRED_ARRAYS:
        if name not in arrays:
            raise DatasetError(f"{where}: array '{name}' is missing")
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise DatasetError(f"{where}: {name} must hold integers, got dtype {arrays[name].dtype}")
    inputs, labels = arrays["inputs"], arrays["labels"]
    if inputs.ndim != 2 or inputs.shape[1] != meta.seq_len:
        raise DatasetError(f"{where}: inputs have shape {inputs.shape}; expected [N, {meta.seq_len}]")
    if labels.shape != inputs.shape:
        raise DatasetError(f"{where}: labels have shape {labels.shape}; inputs have {inputs.shape}")
    for name, tokens in (("inputs", inputs), ("labels", labels)):
        if tokens.size and (tokens.min() < 0 or tokens.max() >= meta.vocab_size):
            raise DatasetError(f"{where}: {name} hold token ids outside 0..{meta.vocab_size - 1}")
    ids = arrays["puzzle_identifiers"]
    if ids.ndim != 1:
        raise DatasetError(f"{where}: puzzle_identifiers have shape {ids.shape}; expected [P]")
    if ids.size and (ids.min() < 0 or ids.max() >= meta.num_puzzle_identifiers):
        raise DatasetError(
            f"{where}: puzzle_identifiers lie outside 0..{meta.num_puzzle_identifiers - 1} (num_puzzle_identifiers)"
        )
    n_puzzles = ids.shape[0]
    _check_offsets("puzzle_indices", arrays["puzzle_indices"], n_puzzles, inputs.shape[0], where)
    groups = arrays["group_indices"]
    if groups.ndim != 1:
        raise DatasetError(f"{where}: group_indices have shape {groups.shape}; expected [G + 1]")
    _check_offsets("group_indices", groups, groups.shape[0] - 1, n_puzzles, where)
    n_groups = groups.shape[0] - 1
    if meta.total_groups != n_groups:
        raise DatasetError(f"{where}: total_groups is {meta.total_groups} but there are {n_groups}")
    if meta.total_puzzles not in (None, n_puzzles, n_groups):
        raise DatasetError(
            f"{where}: total_puzzles is {meta.total_puzzles} but there are {n_puzzles} puzzles in {n_groups} groups "
            "(the reference builders write one of the two)"
        )
    mean = inputs.shape[0] / n_puzzles if n_puzzles else None
    if mean is not None and not math.isclose(meta.mean_puzzle_examples, mean, rel_tol=1e-6):
        raise DatasetError(
            f"{where}: mean_puzzle_examples is {meta.mean_puzzle_examples} but there are "
            f"{inputs.shape[0]} examples in {n_puzzles} puzzles ({mean:.6g} per puzzle)"
        )
    for name, extra in arrays.items():
        if name not in REQUIRED_ARRAYS and (extra.ndim < 1 or extra.shape[0] != n_puzzles):
            raise DatasetError(f"{where}: extra array '{name}' has shape {extra.shape}; expected [{n_puzzles}]")


class _NpyRows:
    """A uint8 [rows, width] ``.npy`` file written by appending row chunks (no memory map)."""

    def __init__(self, path: Path, rows: int, width: int) -> None:
        self.path, self.rows, self.width, self.written = path, rows, width, 0
        self.file = path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
        np.lib.format.write_array_header_1_0(self.file, {**header, "shape": (rows, width)})

    def append(self, chunk: np.ndarray, where: str) -> None:
        if chunk.ndim != 2 or chunk.shape[1] != self.width:
            raise DatasetError(f"{where}: {self.path.stem} chunk has shape {chunk.shape}; expected [n, {self.width}]")
        if self.written + chunk.shape[0] > self.rows:
            raise DatasetError(f"{where}: more than the {self.rows} planned rows for {self.path.name}")
        if chunk.size and (chunk.min() < 0 or chunk.max() > 255):
            raise DatasetError(f"{where}: {self.path.stem} hold token ids outside 0..255")
        self.file.write(np.ascontiguousarray(chunk, dtype=np.uint8).tobytes())
        self.written += chunk.shape[0]

    def close(self) -> None:
        self.file.close()


class SplitWriter:
    """Writes one split whose token rows arrive in chunks, so memory stays bounded by a chunk.

    ``inputs`` and ``labels`` go to uint8 ``.npy`` files as they come; `finish` writes the index
    and extra arrays and ``dataset.json``, then reads the split back with `read_split`, so a split
    that a reader would refuse is never left looking complete. Use it as a context manager:
    ``with SplitWriter(dir, rows, seq_len) as w: w.append(x, y); ...; w.finish(arrays, meta)``.
    """

    def __init__(self, split_dir: str | Path, rows: int, seq_len: int, set_name: str = "all") -> None:
        """Creates ``split_dir`` and the two token files of ``rows`` x ``seq_len``."""
        self.split_dir, self.set_name = Path(split_dir), set_name
        self.split_dir.mkdir(parents=True, exist_ok=True)
        self._rows = {
            name: _NpyRows(self.split_dir / f"{set_name}__{name}.npy", rows, seq_len) for name in ("inputs", "labels")
        }

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for rows in self._rows.values():
            rows.close()

    def append(self, inputs: np.ndarray, labels: np.ndarray) -> None:
        """Appends token rows: int [n, seq_len] each, values 0..255."""
        shapes = np.shape(inputs), np.shape(labels)
        if shapes[0] != shapes[1]:
            raise DatasetError(f"{self.split_dir}: a chunk of inputs {shapes[0]} with labels {shapes[1]}")
        self._rows["inputs"].append(np.asarray(inputs), str(self.split_dir))
        self._rows["labels"].append(np.asarray(labels), str(self.split_dir))

    def finish(self, arrays: Mapping[str, np.ndarray], metadata: DatasetMetadata) -> Split:
        """Writes the other arrays and ``dataset.json`` and returns the split as `read_split` reads it.

        Args:
            arrays: ``puzzle_identifiers``, ``puzzle_indices``, ``group_indices`` (cast to int32) and
                optional extra per-puzzle arrays (written as they are).
            metadata: The split's metadata; ``total_puzzles`` is filled in when None.

        Raises:
            DatasetError: Fewer rows than planned, or arrays inconsistent with each other or the metadata.
        """
        for rows in self._rows.values():
            rows.close()
            if rows.written != rows.rows:
                raise DatasetError(f"{self.split_dir}: {rows.path.name} got {rows.written} rows, planned {rows.rows}")
        if metadata.sets != [self.set_name]:
            raise DatasetError(f"{self.split_dir}: a split is written as the single set {self.set_name!r}")
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            if name in _DTYPES:
                arr = arr.astype(_DTYPES[name])
            np.save(self.split_dir / f"{self.set_name}__{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        if metadata.total_puzzles is None and "puzzle_identifiers" in arrays:
            metadata.total_puzzles = int(np.shape(arrays["puzzle_identifiers"])[0])
        metadata.to_json(self.split_dir / "dataset.json")
        return read_split(self.split_dir)


def write_split(split_dir: str | Path, arrays: Mapping[str, np.ndarray], metadata: DatasetMetadata) -> Path:
    """Writes one split: ``{set}__{name}.npy`` per array and ``dataset.json``.

    Args:
        split_dir: Directory to create (parents included).
        arrays: The five required arrays (see module docstring), cast to the reference dtypes, plus
            optional extra per-puzzle arrays written as they are.
        metadata: Metadata; its single set name (``"all"``) prefixes the file names.

    Returns:
        The split directory.

    Raises:
        DatasetError: Arrays inconsistent with each other or with the metadata.
    """
    split_dir = Path(split_dir)
    if len(metadata.sets) != 1:
        raise DatasetError(f"{split_dir}: a split is written as a single set, got sets {metadata.sets}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    _check_arrays(arrays, metadata, str(split_dir))
    inputs, labels = arrays.pop("inputs"), arrays.pop("labels")
    with SplitWriter(split_dir, inputs.shape[0], metadata.seq_len, metadata.sets[0]) as writer:
        writer.append(inputs, labels)
        writer.finish(arrays, metadata)
    return split_dir


def _load(path: Path, mmap: bool) -> np.ndarray:
    """Loads one ``.npy`` file, turning every read/format problem into a DatasetError."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing")
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DatasetError(f"{path} is corrupt or truncated ({e})") from None
    if not isinstance(arr, np.ndarray):
        raise DatasetError(f"{path} does not hold a single array")
    return arr


def read_split(split_dir: str | Path, mmap: bool = True) -> Split:
    """Reads and validates one split written by `write_split` or by the reference builders.

    Args:
        split_dir: The split directory (holding ``dataset.json``).
        mmap: Memory-map the arrays read-only instead of loading them.

    Raises:
        DatasetError: Missing files, corrupt arrays, wrong shapes or inconsistent CSR indices.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise DatasetError(f"dataset split directory {split_dir} does not exist")
    meta = DatasetMetadata.from_json(split_dir / "dataset.json")
    if len(meta.sets) != 1:
        raise DatasetError(f"{split_dir}: only single-set splits are supported, dataset.json lists {meta.sets}")
    prefix = f"{meta.sets[0]}__"
    arrays = {name: _load(split_dir / f"{prefix}{name}.npy", mmap) for name in REQUIRED_ARRAYS}
    for path in sorted(split_dir.glob(f"{prefix}*.npy")):
        name = path.name[len(prefix) : -len(".npy")]
        if name not in arrays:
            arrays[name] = _load(path, mmap)
    _check_arrays(arrays, meta, str(split_dir))
    meta.total_puzzles = int(arrays["puzzle_identifiers"].shape[0])
    extras = {k: v for k, v in arrays.items() if k not in REQUIRED_ARRAYS}
    return Split(meta, *(arrays[name] for name in REQUIRED_ARRAYS), extras=extras, path=split_dir)


def write_identifiers(root: str | Path, names: list[str]) -> None:
    """Writes ``identifiers.json`` (embedding id -> name; names[0] must be ``"<blank>"``)."""
    if not names or names[0] != "<blank>":
        raise DatasetError(f"identifiers must start with '<blank>', got {names[:1]}")
    Path(root, "identifiers.json").write_text(json.dumps(names) + "\n", encoding="utf-8")


def read_identifiers(root: str | Path) -> list[str]:
    """Reads ``identifiers.json`` from a dataset root."""
    path = Path(root, "identifiers.json")
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatasetError(f"{path} must hold a JSON list of names")
    return names


def _is_replaceable(path: Path) -> bool:
    """Whether an existing path may be replaced: an empty directory or a dataset directory."""
    if not path.is_dir():
        return False
    if not any(path.iterdir()):
        return True
    return (path / "identifiers.json").is_file() or any(path.glob("*/dataset.json"))


def write_dataset_atomically(out_dir: str | Path, build_fn: Callable[[Path], None]) -> Path:
    """Builds a dataset in a temporary sibling directory, then renames it into place.

    An interrupted or failed build leaves ``out_dir`` untouched. An existing ``out_dir`` is replaced
    only after the new dataset is complete, and only if it is empty or already a dataset.

    Args:
        out_dir: Final dataset directory.
        build_fn: Called with the temporary directory; writes the whole dataset into it.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        DatasetError: ``out_dir`` exists and is neither empty nor a dataset directory.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not _is_replaceable(out_dir):
        raise DatasetError(f"refusing to replace {out_dir}: it exists and is not a dataset directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        build_fn(tmp)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def package_version(name: str = "latentloop") -> str:
    """The installed version of a package, for provenance records ("unknown" when not installed)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def subset_split(split: Split, groups: np.ndarray, first_puzzle_only: bool = False) -> tuple[dict, DatasetMetadata]:
    """The arrays and metadata of the given groups of a split (each group's first puzzle only, if asked)."""
    gi, pi = split.group_indices, split.puzzle_indices
    puzzles = [np.arange(gi[g], gi[g] + 1 if first_puzzle_only else gi[g + 1]) for g in groups]
    sizes = [len(p) for p in puzzles]
    puzzles = np.concatenate([np.zeros(0, np.int64), *puzzles])
    rows = np.concatenate([np.zeros(0, np.int64), *(np.arange(pi[p], pi[p + 1]) for p in puzzles)])
    arrays = {
        "inputs": np.asarray(split.inputs[rows]),
        "labels": np.asarray(split.labels[rows]),
        "puzzle_identifiers": split.puzzle_identifiers[puzzles],
        "puzzle_indices": np.concatenate([[0], np.cumsum(pi[puzzles + 1] - pi[puzzles])]),
        "group_indices": np.concatenate([[0], np.cumsum(sizes)]),
        **{k: np.asarray(v)[puzzles] for k, v in split.extras.items()},
    }
    meta = DatasetMetadata(
        **{
            **asdict(split.metadata),
            "total_groups": len(groups),
            "total_puzzles": len(puzzles),
            "mean_puzzle_examples": len(rows) / max(len(puzzles), 1),
        }
    )
    return arrays, meta


def carve_validation(dataset_dir: str | Path, out_dir: str | Path, n_val: int, seed: int = 0) -> Path:
    """A dataset whose test split is a validation split carved out of `dataset_dir`'s training data.

    `n_val` training groups, drawn with `seed`, leave train; the original (first) puzzle of each becomes
    the new dataset's test split, so hyper-parameters can be chosen without looking at the real test split.
    Built once: an existing `out_dir` is returned as it is.
    """
    out_dir = Path(out_dir)
    if (out_dir / "test" / "dataset.json").is_file():
        return out_dir
    train = read_split(Path(dataset_dir) / "train")
    if not 0 < n_val < train.num_groups:
        raise DatasetError(
            f"a validation split of {n_val} groups needs a training split with more ({train.num_groups})"
        )
    chosen = np.sort(np.random.default_rng(seed).choice(train.num_groups, n_val, replace=False))
    rest = np.setdiff1d(np.arange(train.num_groups), chosen)

    def build(root: Path) -> None:
        for name, groups, first in (("train", rest, False), ("test", chosen, True)):
            arrays, meta = subset_split(train, groups, first)
            meta.provenance = {
                **(meta.provenance or {}),
                "validation_of": str(dataset_dir),
                "seed": seed,
                "validation_groups": int(n_val),
            }
            write_split(root / name, arrays, meta)
        names = Path(dataset_dir, "identifiers.json")
        if names.is_file():
            write_identifiers(root, read_identifiers(dataset_dir))

    return write_dataset_atomically(out_dir, build)
