"""compiler/emit.py at the functions: the exact text of each rendering, what a rebuild owns, replaces and removes,
and what it leaves when writing fails. The build's own tests (test_cli.py, test_atomic_output.py) run it in a
subprocess; these pin each promise of the module where a wrong byte or a wrong file would otherwise go unseen."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import emit

DATA = {"b": [1, {"é": "ü"}], "a": None}


def test_render_json_is_sorted_two_space_indented_utf8_with_a_final_newline():
    assert emit.render_json(DATA) == '{\n  "a": null,\n  "b": [\n    1,\n    {\n      "é": "ü"\n    }\n  ]\n}\n'


def test_render_template_is_sorted_one_space_indented_without_padding_after_colons():
    # a value that fits its line within TEMPLATE_WIDTH stays on it; a wider one takes a line per member
    assert emit.render_template(DATA) == '{"a":null,"b":[1,{"é":"ü"}]}\n'
    wide = {"b": ["x" * 60, {"é": "y" * 60}], "a": None}
    expected = '{\n "a":null,\n "b":[\n  "' + "x" * 60 + '",\n  {"é":"' + "y" * 60 + '"}\n ]\n}\n'
    assert emit.render_template(wide) == expected


def test_render_compact_is_one_sorted_line_without_padding():
    assert emit.render_compact(DATA) == '{"a":null,"b":[1,{"é":"ü"}]}\n'


def test_manifest_lists_every_file_and_itself_sorted():
    assert json.loads(emit.manifest({"z.json": "", "a.json": ""})) == {
        "doNotEdit": True, "files": ["a.json", "manifest.json", "z.json"], "generatedBy": "python -m compiler build"}
    assert emit.manifest({"a.json": ""}) == emit.render_json(json.loads(emit.manifest({"a.json": ""})))


def write_manifest(folder, files) -> None:
    (folder / emit.MANIFEST).write_text(json.dumps({"files": files}))


def test_owned_is_what_the_manifest_lists_minus_paths_and_hidden_names(tmp_path):
    write_manifest(tmp_path, ["a.json", "sub/b.json", ".hidden", 7, None, "manifest.json"])
    assert emit.owned(tmp_path) == {"a.json", "manifest.json"}


@pytest.mark.parametrize("text", ["not json", "[]", '{"file": ["a.json"]}', '{"files": 3}', '{"files": "ab"}',
                                  '{"files": null}'])
def test_a_broken_manifest_owns_nothing_and_does_not_crash(tmp_path, text):
    """A hand-edited manifest must never make a rebuild delete files it does not list (a string is not a list of
    its characters) nor crash the build."""
    (tmp_path / emit.MANIFEST).write_text(text)
    assert emit.owned(tmp_path) == set()


def test_owned_without_a_manifest_is_empty(tmp_path):
    assert emit.owned(tmp_path / "missing") == set()


def test_read_text_of_a_missing_or_undecodable_file_is_none(tmp_path):
    (tmp_path / "latin1").write_bytes(b"caf\xe9")
    (tmp_path / "utf8").write_bytes("café".encode())
    assert emit.read_text(tmp_path / "missing") is None
    assert emit.read_text(tmp_path / "latin1") is None
    assert emit.read_text(tmp_path / "utf8") == "café"


def test_stale_files_are_the_different_the_missing_and_the_owned_no_longer_produced_in_order(tmp_path):
    for name, text in {"b.json": "same\n", "a.json": "old\n", "gone.json": "x", "old.json": "x", "mine.txt": "x"}.items():
        (tmp_path / name).write_text(text)
    write_manifest(tmp_path, ["a.json", "b.json", "old.json", "gone.json", "manifest.json"])
    files = {"b.json": "same\n", "a.json": "new\n", "c.json": "added\n", "manifest.json": "{}\n"}
    assert emit.stale_files(tmp_path, files) == ["a.json", "c.json", "manifest.json", "gone.json", "old.json"]


def test_write_outputs_replaces_adds_and_removes_owned_files_only(tmp_path):
    out = tmp_path / "deep" / "generated"
    first = {"a.json": "1\n", "b.json": "2\n"}
    first[emit.MANIFEST] = emit.manifest(first)
    assert emit.write_outputs(out, first) == ["a.json", "b.json", "manifest.json"]
    (out / "notes.txt").write_text("mine")
    second = {"a.json": "1\n", "c.json": "3 é\n"}
    second[emit.MANIFEST] = emit.manifest(second)
    assert emit.write_outputs(out, second) == ["c.json", "manifest.json", "b.json"]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "c.json", "manifest.json", "notes.txt"]
    assert (out / "c.json").read_bytes() == "3 é\n".encode()
    assert emit.write_outputs(out, second) == []


def test_written_files_are_readable_by_everyone_not_only_the_owner(tmp_path):
    """mkstemp creates 0600 files: generated/ must be 0644 like any file in a checkout (CI, other users)."""
    emit.write_outputs(tmp_path, {"a.json": "{}\n"})
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


def test_files_are_staged_as_hidden_part_files_beside_their_target_then_renamed(tmp_path, monkeypatch):
    """Staged beside the target (one file system, so the rename is atomic) under a hidden name that no manifest
    can own, and renamed only once every file is on disk."""
    renames = []
    real_replace = os.replace

    def replace(source, target):
        renames.append((os.path.basename(source), os.path.dirname(source), os.path.basename(target),
                        sorted(p.name for p in tmp_path.iterdir())))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    emit.write_outputs(tmp_path, {"a.json": "1\n", "b.json": "2\n"})
    assert [(target, folder) for _, folder, target, _ in renames] == [("a.json", str(tmp_path)), ("b.json", str(tmp_path))]
    for source, _, _, listing in renames:
        assert source.startswith(".tmp-") and source.endswith(".part")
    assert len([name for name in renames[0][3] if name.endswith(".part")]) == 2, "both staged before any rename"


def test_a_write_failing_midway_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text("old a\n")
    real_stage, calls = emit._stage, []

    def stage(out_dir, text):
        calls.append(text)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_stage(out_dir, text)

    monkeypatch.setattr(emit, "_stage", stage)
    with pytest.raises(OSError, match="No space"):
        emit.write_outputs(tmp_path, {"a.json": "new a\n", "b.json": "b\n", "c.json": "c\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert (tmp_path / "a.json").read_text() == "old a\n"


def test_an_interrupted_write_cleans_up_its_staged_files_too(tmp_path, monkeypatch):
    """Not only OSError: Ctrl-C (KeyboardInterrupt) while staging leaves no .part files behind either."""
    real_stage, calls = emit._stage, []

    def stage(out_dir, text):
        calls.append(text)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_stage(out_dir, text)

    monkeypatch.setattr(emit, "_stage", stage)
    with pytest.raises(KeyboardInterrupt):
        emit.write_outputs(tmp_path, {"a.json": "a\n", "b.json": "b\n"})
    assert list(tmp_path.iterdir()) == []


def test_a_listed_file_already_deleted_by_hand_does_not_stop_the_rebuild(tmp_path):
    write_manifest(tmp_path, ["manifest.json", "gone.json"])
    files = {"a.json": "{}\n"}
    files[emit.MANIFEST] = emit.manifest(files)
    assert emit.write_outputs(tmp_path, files) == ["a.json", "manifest.json", "gone.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "manifest.json"]


ROOT = Path(__file__).parents[2]
IN_AN_ASCII_LOCALE = r"""
import json, locale, sys
from pathlib import Path
from compiler import emit
assert locale.getpreferredencoding(False) != "utf-8", locale.getpreferredencoding(False)
out = Path(sys.argv[1])
emit.write_outputs(out, {"a.json": "d\u00e9j\u00e0 \u00fc\n"})
(out / emit.MANIFEST).write_bytes('{"files": ["a.json"], "note": "\u00e9dit\u00e9 \u00e0 la main"}'.encode())
print(json.dumps([emit.read_text(out / "a.json"), sorted(emit.owned(out))]))
"""


def test_generated_files_are_utf8_whatever_the_locale(tmp_path):
    """A user whose locale is C (ASCII) still gets UTF-8 files, and they and the manifest are read back as UTF-8."""
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", IN_AN_ASCII_LOCALE, str(tmp_path)], env=env, capture_output=True,
                            text=True, encoding="utf-8", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["déjà ü\n", ["a.json"]]
    assert (tmp_path / "a.json").read_bytes() == "déjà ü\n".encode()


def test_a_whole_template_of_exactly_100_columns_stays_on_one_line():
    data = {"k": "v" * (emit.TEMPLATE_WIDTH - len('{"k":""}'))}
    assert emit.render_template(data) == json.dumps(data, separators=(",", ":")) + "\n"
    assert emit.render_template({"k": "v" * (emit.TEMPLATE_WIDTH + 1 - len('{"k":""}'))}).count("\n") == 3
