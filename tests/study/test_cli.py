"""``sparsim study``: help, and bad input as one-line errors (exit 2, nothing written)."""

from __future__ import annotations

from sparsim.cli import main


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_help_names_the_study(capsys):
    try:
        main(["study", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "sparsity-types" in out and "--quick" in out and "--out" in out


def test_unknown_study_is_one_line(capsys, tmp_path):
    assert main(["study", "sparsity-kinds", "--out", str(tmp_path / "o")]) == 2
    err = _error_line(capsys)
    assert "sparsity-kinds" in err and "sparsity-types" in err
    assert not (tmp_path / "o").exists()


def test_unwritable_out_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["study", "sparsity-types", "--quick", "--out", str(blocker / "out")]) == 2
    assert str(blocker) in _error_line(capsys)
    assert main(["study", "sparsity-types", "--quick", "--out", str(blocker)]) == 2
    assert "--out" in _error_line(capsys)


def test_bad_jobs_is_one_line(capsys, tmp_path):
    assert main(["study", "sparsity-types", "--jobs", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--jobs" in _error_line(capsys)
