"""`sing generate --list FILE` and output folders (issue 10, items 8 and 9): a byte-order mark
is not part of the first name, errors say FILE:LINE, a file in the way of --out is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sing.cli import main
from sing.errors import SingError
from sing.utils.atomic import atomic_write_text, make_folder
from sing.utils.textlist import read_entries


def _generate(model: Path, out: Path, *args: str) -> int:
    return main(["generate", "--model", str(model), "--out", str(out), *args])


def test_list_with_byte_order_mark(tiny_model_file: Path, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes("\ufeffflute_synthetic_000-060-025\r\nbrass_acoustic_001-048-127\r\n"
                      .encode("utf-8"))
    assert [(e.text, e.line) for e in read_entries(notes)] == [
        ("flute_synthetic_000-060-025", 1), ("brass_acoustic_001-048-127", 2)]
    assert _generate(tiny_model_file, tmp_path / "out", "--list", str(notes)) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "brass_acoustic_001-048-127.wav", "flute_synthetic_000-060-025.wav"]


@pytest.mark.parametrize(("content", "message"), [
    (b"# notes\nflute_synthetic_000-060-025\n\npiano_acoustic_000-060-100\n",
     "{list}:4: unknown instrument 'piano_acoustic_000'"),
    (b"\xef\xbb\xbfguitar_acoustic_009-010-100\n", "{list}:1: pitch 10 is outside"),
    (b"flute_synthetic_000-060-025\nguitar-60\n", "{list}:2: "),
    (b"flute_synthetic_000-060-025\n\xff\xfe\n", "{list}:2: not a UTF-8 text file of note names"),
    (b"# only a comment\n\n", "{list}: no note names in the list"),
])
def test_list_errors_say_file_and_line(tiny_model_file: Path, tmp_path: Path, capsys, content,
                                       message):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    out = tmp_path / "out"
    assert _generate(tiny_model_file, out, "--list", str(notes)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sing: error: {message.format(list=notes)}"), err
    assert err.count("\n") == 1
    assert not out.exists()


def test_out_under_a_file(tiny_model_file: Path, tmp_path: Path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "sub" / "out"
    assert _generate(tiny_model_file, out, "guitar_acoustic_009-060-100") == 2
    assert capsys.readouterr().err == (
        f"sing: error: {blocker}: is a file, not a folder (needed for {out})\n")


def test_make_folder_and_atomic_writes_name_the_file_in_the_way(tmp_path: Path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(SingError, match=r"f: is a file, not a folder \(needed for .*f/a/b\)"):
        make_folder(blocker / "a" / "b")
    with pytest.raises(SingError, match=r"f: is a file, not a folder \(needed for .*f/a\)"):
        atomic_write_text(blocker / "a" / "x.txt", "text")
    with pytest.raises(SingError, match=r"f: is a file, not a folder$"):
        make_folder(blocker)
    assert make_folder(tmp_path / "new" / "deep").is_dir()
