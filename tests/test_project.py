"""Project-level invariants: the CLI, its help and the README agree; no hard-wired devices."""

from __future__ import annotations

import re
from pathlib import Path

from latentloop.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def verbs() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return list(sub.choices)


def test_readme_shows_every_verb_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    for verb in verbs():
        assert f"latentloop {verb}" in readme, verb


def test_help_lists_every_verb() -> None:
    text = build_parser().format_help()
    for verb in verbs():
        assert verb in text


def test_no_device_strings_outside_the_device_module() -> None:
    """Devices are configuration: only train/distributed.py may name one."""
    pattern = re.compile(r"""["']cuda(:\d+)?["']|\.cuda\(""")
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src").rglob("*.py")
        if p.name != "distributed.py" and pattern.search(p.read_text())
    ]
    assert not offenders, offenders


def test_the_package_exports_the_api() -> None:
    import latentloop
    from latentloop import api

    assert set(latentloop.__all__) - {"__version__"} == set(api.__all__)
    for name in api.__all__:
        assert getattr(latentloop, name) is getattr(api, name)
