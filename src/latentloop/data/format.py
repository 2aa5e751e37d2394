"""The on-disk dataset layout, compatible with the HRM/TRM reference builders.

A dataset directory holds ``identifiers.json`` (embedding id -> name, 0 = ``"<blank>"``) and one
directory per split (``train``, ``test``) with ``dataset.json`` and, for the set ``all``:

* ``all__inputs.npy``, ``all__labels.npy``: uint8 [N_examples, seq_len] token ids.
* ``all__puzzle_identifiers.npy``: int32 [N_puzzles], embedding id of each puzzle.
* ``all__puzzle_indices.npy``: int32 [N_puzzles + 1], CSR offsets: puzzle p owns examples
  [pi[p], pi[p+1]).
* ``all__group_indices.npy``: int32 [N_groups + 1], CSR offsets into puzzles; a group is an original
  puzzle and its augmentations.
* optional extra per-puzzle arrays, e.g. ``all__ratings.npy`` float32 [N_puzzles].

Labels are stored with ``ignore_label_id`` (0 = PAD) where no loss applies; the loader maps them to
`IGNORE_LABEL_ID`.
"""

from __future__ import annotations

import importlib.metadata
import json
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

    ``total_puzzles`` is TRM's addition; it may be absent in HRM-built files and is then filled in
    by `read_split`. ``task`` and ``provenance`` are latentloop additions, ignored by the references.
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
    if meta.total_groups != groups.shape[0] - 1:
        raise DatasetError(f"{where}: total_groups is {meta.total_groups} but there are {groups.shape[0] - 1}")
    if meta.total_puzzles is not None and meta.total_puzzles != n_puzzles:
        raise DatasetError(f"{where}: total_puzzles is {meta.total_puzzles} but there are {n_puzzles}")
    for name, extra in arrays.items():
        if name not in REQUIRED_ARRAYS and (extra.ndim < 1 or extra.shape[0] != n_puzzles):
            raise DatasetError(f"{where}: extra array '{name}' has shape {extra.shape}; expected [{n_puzzles}]")


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
    split_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        if name in _DTYPES:
            arr = arr.astype(_DTYPES[name])
        np.save(split_dir / f"{metadata.sets[0]}__{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    metadata.to_json(split_dir / "dataset.json")
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
    if meta.total_puzzles is None:
        meta.total_puzzles = int(arrays["puzzle_identifiers"].shape[0])
    extras = {k: v for k, v in arrays.items() if k not in REQUIRED_ARRAYS}
    return Split(meta, *(arrays[name] for name in REQUIRED_ARRAYS), extras=extras)


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
