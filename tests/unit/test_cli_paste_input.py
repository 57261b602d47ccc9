"""`paste-bill` without a database: how the paste is given is checked, and a file that is not text is
refused, before anything connects (DATABASE_URL points where nobody listens). In process, through
`workers.cli.main`, the console command's own error handling."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workers.cli import main

PASTE = ["paste-bill", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-11"]


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setattr(sys, "argv", ["halton-workers", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    captured = capsys.readouterr()
    assert captured.out == ""
    return int(ended.value.code or 0), captured.err


@pytest.mark.parametrize(("given", "says"), [
    (["--text", "$1.00", "--file", "-"], "give the paste with --text or --file (one of them)"),
    ([], "give the paste with --text or --file (one of them)"),
    (["--file", "/nonexistent/statement.txt"], "/nonexistent/statement.txt: no such file"),
    (["--file", "/"], "/: not a file"),
])
def test_the_paste_given_twice_never_or_from_no_file_is_a_usage_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: list[str], says: str) -> None:
    code, err = run(monkeypatch, capsys, *PASTE, *given)
    assert code == 2 and len(err.splitlines()) == 1 and says in err, err


def test_a_paste_file_that_is_not_text_is_bad_input(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    image = tmp_path / "statement.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    code, err = run(monkeypatch, capsys, *PASTE, "--file", str(image))
    assert code == 1
    assert err == (f"error: the pasted bill could not be read: {image} is not UTF-8 text; paste the amount billed, "
                   "like $342.04, or the statement as text\n")
