"""ARC tasks: parsing, invertible augmentations, the 30x30 EOS token framing, cropping and scoring.

A task is `{"train": [{"input": GRID, "output": GRID}, ...], "test": [{"input": GRID, ...}, ...]}`,
a grid a list of 1..30 rows of 1..30 integers in 0..9, all rows equally long.

Augmentation (HRM/TRM): a `Recipe` is one of the 8 dihedral transforms D_k of the square plus a
colour permutation pi with pi(0) = 0 (black stays black),

    augment(g) = D_k(pi[g]),        invert(g') = pi^-1[D_k^-1(g')],

numbered as the references do: k = 0 identity, 1/2/3 = rotation by 90/180/270 degrees
(counter-clockwise, `np.rot90`), 4 = left-right flip, 5 = up-down flip, 6 = transpose,
7 = left-right flip of the 90-degree rotation (the anti-transpose); D^-1 = D_[0,3,2,1,4,5,6,7][k].
Its text form is TRM's `"{task_id}|||t{k}|||{pi(0)..pi(9)}"` (ten digits); an original task is
named by its bare id (identity recipe). `parse_puzzle_name` also reads HRM's `"{id}_t{k}_{digits}"`.

Token framing (seq_len 900 = 30 x 30 row-major, vocab 12): PAD = 0, EOS = 1, colour c -> c + 2
(2..11). A grid of h x w placed at offset (r0, c0) fills rows r0..r0+h-1, columns c0..c0+w-1;
EOS is drawn on row r0+h across columns c0..c0+w-1 and on column c0+w across rows r0..r0+h-1,
each only when it falls inside the canvas; the corner cell (r0+h, c0+w) stays PAD, as in HRM/TRM.

`crop` is the references' evaluation crop: the largest-area rectangle anchored at the top-left
cell that holds only colour tokens (scan rows downward, the usable width shrinks to the first
non-colour cell of each row; ties keep the shorter rectangle). It returns None when the top-left
cell holds no colour. For a well-formed grid at offset (0, 0) it returns exactly that grid.
`ArcTask.decode` differs only in where it starts: at the first row and column holding a colour,
so that translated training examples decode as well (identical to `crop` at offset (0, 0)).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from latentloop.errors import PuzzleError
from latentloop.tasks.base import TaskDefaults, register
from latentloop.tasks.grid import NUM_DIHEDRAL, check_dihedral, dihedral, inverse_dihedral

MAX_SIDE = 30
SEQ_LEN = MAX_SIDE * MAX_SIDE
VOCAB_SIZE = 12
PAD, EOS, COLOUR_OFFSET = 0, 1, 2
NUM_COLOURS = 10
NAME_SEPARATOR = "|||"
_TRM_NAME = re.compile(r"^(?P<task>.+)\|\|\|t(?P<k>[0-7])\|\|\|(?P<perm>\d{10})$")
_HRM_NAME = re.compile(r"^(?P<task>.+)_t(?P<k>[0-7])_(?P<perm>\d{10})$")


# ----------------------------------------------------------------------------------------------
# Parsing


def parse_grid(obj: Any, where: str = "grid") -> np.ndarray:
    """A validated grid as int8 [h, w]."""
    if not isinstance(obj, list) or not obj:
        raise PuzzleError(f"{where}: expected a non-empty list of rows")
    if len(obj) > MAX_SIDE:
        raise PuzzleError(f"{where}: {len(obj)} rows; ARC grids have at most {MAX_SIDE}")
    width = None
    for r, row in enumerate(obj):
        if not isinstance(row, list) or not row:
            raise PuzzleError(f"{where}: row {r} is not a non-empty list")
        if width is None:
            width = len(row)
        if len(row) != width:
            raise PuzzleError(f"{where}: row {r} has {len(row)} cells, row 0 has {width} (ragged grid)")
        if not all(type(v) is int and 0 <= v <= 9 for v in row):  # bool is no int here
            c, v = next((c, v) for c, v in enumerate(row) if type(v) is not int or not 0 <= v <= 9)
            raise PuzzleError(f"{where}: cell ({r}, {c}) is {v!r}; colours are integers 0..9")
    if width > MAX_SIDE:
        raise PuzzleError(f"{where}: {width} columns; ARC grids have at most {MAX_SIDE}")
    return np.array(obj, dtype=np.int8)


def parse_task(source: str | bytes | dict, name: str = "task") -> dict[str, list[dict[str, np.ndarray]]]:
    """Parse an ARC task (JSON text or an already-loaded dict) into validated numpy grids."""
    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PuzzleError(f"{name}: not valid JSON ({e})") from None
    if not isinstance(source, dict):
        raise PuzzleError(f"{name}: expected an object with 'train' and 'test'")
    out: dict[str, list[dict[str, np.ndarray]]] = {}
    for split in ("train", "test"):
        pairs = source.get(split)
        if not isinstance(pairs, list) or not pairs:
            raise PuzzleError(f"{name}: '{split}' must be a non-empty list of pairs")
        parsed = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, dict) or "input" not in pair:
                raise PuzzleError(f"{name}: {split}[{i}] needs an 'input' grid")
            if split == "train" and "output" not in pair:
                raise PuzzleError(f"{name}: {split}[{i}] needs an 'output' grid")
            item = {"input": parse_grid(pair["input"], f"{name}: {split}[{i}].input")}
            if "output" in pair:
                item["output"] = parse_grid(pair["output"], f"{name}: {split}[{i}].output")
            parsed.append(item)
        out[split] = parsed
    return out


def is_grid(grid: Any) -> bool:
    """Whether ``grid`` is a 2-D integer array of 1..30 x 1..30 cells with colours 0..9."""
    g = np.asarray(grid)
    return (
        g.ndim == 2
        and np.issubdtype(g.dtype, np.integer)
        and 1 <= g.shape[0] <= MAX_SIDE
        and 1 <= g.shape[1] <= MAX_SIDE
        and int(g.min()) >= 0
        and int(g.max()) < NUM_COLOURS
    )


def render(grid: np.ndarray) -> str:
    """A grid as text: one line of digits per row."""
    return "\n".join("".join(str(int(v)) for v in row) for row in np.asarray(grid))


def parse(text: str) -> np.ndarray:
    """A grid from text: a JSON grid, a JSON task (its first test input) or `render`'s digit rows."""
    if not isinstance(text, str):
        raise PuzzleError(f"ARC grid must be text, got {type(text).__name__}")
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise PuzzleError(f"ARC grid: not valid JSON ({e})") from None
        if isinstance(obj, dict):
            return parse_task(obj)["test"][0]["input"]
        return parse_grid(obj)
    rows = [line.strip() for line in stripped.splitlines()]
    for r, row in enumerate(rows):
        if not row or not row.isdigit() or not row.isascii():
            raise PuzzleError(f"ARC grid: row {r} is {row!r}; expected digits 0..9")
    return parse_grid([[int(ch) for ch in row] for row in rows])


# ----------------------------------------------------------------------------------------------
# Augmentation


def random_colour_map(rng: np.random.Generator) -> tuple[int, ...]:
    """A random permutation pi of the colours 0..9 with pi(0) = 0."""
    return (0, *(int(c) for c in rng.permutation(np.arange(1, NUM_COLOURS))))


@dataclass(frozen=True)
class Recipe:
    """One invertible ARC augmentation: the colour map ``colours`` (colours[c] = new colour of c,
    colours[0] = 0), then the dihedral transform ``k``."""

    k: int = 0
    colours: tuple[int, ...] = tuple(range(NUM_COLOURS))

    def __post_init__(self) -> None:
        colours = tuple(int(c) for c in self.colours)
        if sorted(colours) != list(range(NUM_COLOURS)) or colours[0] != 0:
            raise PuzzleError(f"colour map {self.colours!r} must permute 0..9 and keep 0")
        object.__setattr__(self, "k", check_dihedral(self.k))
        object.__setattr__(self, "colours", colours)

    @cached_property
    def _lut(self) -> np.ndarray:
        return np.asarray(self.colours, dtype=np.int8)

    @cached_property
    def _inverse_lut(self) -> np.ndarray:
        return np.argsort(self._lut).astype(np.int8)

    @property
    def is_identity(self) -> bool:
        """Whether the recipe changes nothing."""
        return self == IDENTITY

    def apply(self, grid: np.ndarray) -> np.ndarray:
        """D_k(pi[grid]), as a new int8 array."""
        return self._lut[dihedral(grid, self.k)]

    def invert(self, grid: np.ndarray) -> np.ndarray:
        """pi^-1[D_k^-1(grid)], as a new int8 array; ``invert(apply(g)) == g``."""
        return self._inverse_lut[inverse_dihedral(grid, self.k)]

    def text(self) -> str:
        """The recipe part of a puzzle name: ``t{k}|||{ten digits}``."""
        return f"t{self.k}{NAME_SEPARATOR}{''.join(map(str, self.colours))}"


IDENTITY = Recipe()


def random_recipe(rng: np.random.Generator) -> Recipe:
    """A dihedral transform uniform over 0..7 and a random colour map that keeps 0."""
    return Recipe(int(rng.integers(NUM_DIHEDRAL)), random_colour_map(rng))


def puzzle_name(task_id: str, recipe: Recipe = IDENTITY) -> str:
    """The identifier name of a task variant: the bare id for the original, else TRM's form."""
    if NAME_SEPARATOR in task_id:
        raise PuzzleError(f"task id {task_id!r} must not contain {NAME_SEPARATOR!r}")
    return task_id if recipe.is_identity else f"{task_id}{NAME_SEPARATOR}{recipe.text()}"


def parse_puzzle_name(name: str) -> tuple[str, Recipe]:
    """(task_id, Recipe) of a puzzle name written by `puzzle_name` (or by HRM or TRM)."""
    match = _TRM_NAME.match(name) or _HRM_NAME.match(name)
    if match is None:
        if NAME_SEPARATOR in name:
            raise PuzzleError(f"puzzle name {name!r} is not of the form 'ID|||tK|||DDDDDDDDDD'")
        return name, IDENTITY
    return match["task"], Recipe(int(match["k"]), tuple(int(c) for c in match["perm"]))


# ----------------------------------------------------------------------------------------------
# Token framing


def draw_grid(canvas: np.ndarray, grid: np.ndarray, offset: tuple[int, int] = (0, 0)) -> None:
    """Draws a grid and its EOS frame on a PAD-filled uint8 canvas [30, 30] (unchecked; see `encode_grid`)."""
    (h, w), (r0, c0) = grid.shape, offset
    canvas[r0 : r0 + h, c0 : c0 + w] = grid + COLOUR_OFFSET
    if r0 + h < MAX_SIDE:
        canvas[r0 + h, c0 : c0 + w] = EOS
    if c0 + w < MAX_SIDE:
        canvas[r0 : r0 + h, c0 + w] = EOS


def encode_grid(grid: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Tokens of a grid placed at ``offset`` = (r0, c0) on the 30x30 canvas: uint8 [900].

    Raises:
        PuzzleError: Not a valid grid, or the grid does not fit at that offset.
    """
    g = np.asarray(grid)
    if not is_grid(g):
        raise PuzzleError(f"not an ARC grid: shape {g.shape}, dtype {g.dtype}; need 1..30 x 1..30 colours 0..9")
    (h, w), (r0, c0) = g.shape, offset
    if r0 < 0 or c0 < 0 or r0 + h > MAX_SIDE or c0 + w > MAX_SIDE:
        raise PuzzleError(f"a {h}x{w} grid does not fit on the 30x30 canvas at offset {offset}")
    canvas = np.zeros((MAX_SIDE, MAX_SIDE), dtype=np.uint8)
    draw_grid(canvas, g, offset)
    return canvas.reshape(SEQ_LEN)


def _colour_mask(canvases: np.ndarray) -> np.ndarray:
    """bool [N, 30, 30]: which cells of int canvases [N, 30, 30] hold a colour token."""
    return (canvases >= COLOUR_OFFSET) & (canvases < COLOUR_OFFSET + NUM_COLOURS)


def as_canvases(tokens: np.ndarray) -> np.ndarray:
    """Token sequences [..., 900] as canvases [N, 30, 30] (a view where possible, dtype kept)."""
    t = np.asarray(tokens)
    if t.shape[-1:] != (SEQ_LEN,) or not np.issubdtype(t.dtype, np.integer):
        raise PuzzleError(f"ARC token sequences are integers [..., {SEQ_LEN}], got {t.dtype} {t.shape}")
    return t.reshape(-1, MAX_SIDE, MAX_SIDE)


def crop_shapes(canvases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights and widths [N] of the top-left crop of each canvas [N, 30, 30]; (0, 0) = no grid."""
    colour = _colour_mask(canvases)
    row_width = np.where(colour.all(axis=2), MAX_SIDE, np.argmin(colour, axis=2))  # first non-colour cell
    width = np.minimum.accumulate(row_width, axis=1)  # a rectangle of r + 1 rows is this wide
    area = width * np.arange(1, MAX_SIDE + 1)
    best = np.argmax(area, axis=1)  # the first maximum: the shorter rectangle on ties
    rows = np.arange(len(best))
    valid = area[rows, best] > 0
    return np.where(valid, best + 1, 0), np.where(valid, width[rows, best], 0)


def crop(tokens: np.ndarray) -> np.ndarray | None:
    """The grid int8 [h, w] in a (possibly garbled) token sequence [900] at offset (0, 0); None if none."""
    t = np.asarray(tokens)
    if t.shape != (SEQ_LEN,) or not np.issubdtype(t.dtype, np.integer):
        return None
    canvas = t.reshape(1, MAX_SIDE, MAX_SIDE)
    (h,), (w,) = crop_shapes(canvas)
    if h == 0:
        return None
    return (canvas[0, :h, :w] - COLOUR_OFFSET).astype(np.int8)


def grid_origins(canvases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row, first column) [N] holding a colour token in each canvas [N, 30, 30]; 0 if none."""
    colour = _colour_mask(canvases)
    return colour.any(axis=2).argmax(axis=1), colour.any(axis=1).argmax(axis=1)


def shift_canvases(canvases: np.ndarray, r0: np.ndarray, c0: np.ndarray) -> np.ndarray:
    """Canvases [N, 30, 30] moved up by r0 [N] and left by c0 [N] cells; vacated cells become PAD."""
    rows = np.arange(MAX_SIDE)[None, :] + np.asarray(r0)[:, None]
    cols = np.arange(MAX_SIDE)[None, :] + np.asarray(c0)[:, None]
    inside = (rows < MAX_SIDE)[:, :, None] & (cols < MAX_SIDE)[:, None, :]
    moved = np.take_along_axis(canvases, np.minimum(rows, MAX_SIDE - 1)[:, :, None], axis=1)
    moved = np.take_along_axis(moved, np.minimum(cols, MAX_SIDE - 1)[:, None, :], axis=2)
    return np.where(inside, moved, PAD).astype(canvases.dtype)


# ----------------------------------------------------------------------------------------------
# The Task


@register
@dataclass(frozen=True)
class ArcTask(TaskDefaults):
    """The ARC `Task`: one grid per token sequence on the 30x30 EOS-framed canvas.

    `verify` can only check that an answer is a well-formed grid: ARC correctness needs the target
    output, which `score` compares against.
    """

    name: str = "arc"
    seq_len: int = SEQ_LEN
    vocab_size: int = VOCAB_SIZE
    builder: ClassVar[str] = "latentloop.data.build_arc"
    view: ClassVar[str] = "latentloop.viz.arc"
    evaluation: ClassVar[str] = "latentloop.evaluate.arc"

    @classmethod
    def from_metadata(cls, info: dict, seq_len: int, vocab_size: int | None) -> ArcTask:
        """One canvas size for every ARC dataset."""
        return cls()

    @classmethod
    def recognise(cls, seq_len: int, vocab_size: int | None, root: Path | None) -> ArcTask | None:
        """A reference-built ARC dataset: the 30x30 canvas, vocabulary 12 and (when the dataset directory is known)
        its `identifiers.json`. Scoring it also needs the `test_puzzles.json` that TRM's builder writes."""
        if seq_len != SEQ_LEN or vocab_size != VOCAB_SIZE:
            return None
        if root is not None and not (root / "identifiers.json").is_file():
            return None
        return cls()

    def parse(self, text: str) -> np.ndarray:
        """See `parse`."""
        return parse(text)

    def render(self, grid: np.ndarray) -> str:
        """See `render`."""
        return render(grid)

    def encode(self, grid: np.ndarray) -> np.ndarray:
        """Tokens of a grid at offset (0, 0); see `encode_grid`."""
        return encode_grid(grid)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """The grid of a token sequence [900] wherever it sits on the canvas; an empty 0x0 array if none.

        The crop starts at the first row and the first column holding a colour, so translated
        training examples decode too; for a grid at offset (0, 0) this is exactly `crop`.
        """
        t = np.asarray(tokens)
        if t.shape != (SEQ_LEN,) or not np.issubdtype(t.dtype, np.integer):
            return np.zeros((0, 0), dtype=np.int8)
        canvas = t.reshape(1, MAX_SIDE, MAX_SIDE)
        grid = crop(shift_canvases(canvas, *grid_origins(canvas)).reshape(SEQ_LEN))
        return np.zeros((0, 0), dtype=np.int8) if grid is None else grid

    def verify(self, puzzle: np.ndarray, answer: np.ndarray) -> bool:
        """Whether ``answer`` is a well-formed grid (1..30 x 1..30, colours 0..9); see the class note."""
        return is_grid(answer)

    def verdict(self, puzzle: np.ndarray, answer: np.ndarray) -> list[str]:
        """Whether a grid came out (ARC correctness needs the target)."""
        return [f"a {answer.shape[0]}x{answer.shape[1]} grid" if is_grid(answer) else "no valid grid"]

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """bool [N]: ``crop(prediction) == crop(label)``, both cropped at the label grid's offset.

        At offset (0, 0) (the test split) this is the references' exact-match; a translated training
        label is compared at its own offset. A label without a grid never matches.
        """
        preds, labs = as_canvases(predictions), as_canvases(labels)
        if preds.shape != labs.shape:
            raise PuzzleError(f"predictions have shape {np.shape(predictions)}, labels {np.shape(labels)}")
        r0, c0 = grid_origins(labs)
        if r0.any() or c0.any():
            preds, labs = shift_canvases(preds, r0, c0), shift_canvases(labs, r0, c0)
        (ph, pw), (lh, lw) = crop_shapes(preds), crop_shapes(labs)
        cells = np.arange(MAX_SIDE)
        inside = (cells[None, :, None] < lh[:, None, None]) & (cells[None, None, :] < lw[:, None, None])
        same = ((preds == labs) | ~inside).all(axis=(1, 2))
        return (lh > 0) & (ph == lh) & (pw == lw) & same
