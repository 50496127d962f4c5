"""Drive the real ``oncoclass`` executable, as users and scripts do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from oncoclass.cli import render_matrices
from oncoclass.models import RECIPES

EXE = str(Path(sys.executable).with_name("oncoclass"))


def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [EXE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_version() -> None:
    from oncoclass import __version__

    assert run("--version").stdout.strip() == f"oncoclass {__version__}"


def test_models_lists_every_recipe() -> None:
    out = run("models").stdout
    for name in ("default", "nb", "knn", "lr", "lr-balanced", "svm", "rf", "rf-response", "stack", "vote"):
        assert f"\n{name} " in "\n" + out


@pytest.mark.slow  # three real processes on zipped files (~12 s); zip reading is tested in-process too
def test_train_predict_score_on_zipped_kaggle_files(tmp_path: Path, synth_zipped) -> None:
    model = tmp_path / "model"
    run(
        "train", "-i", synth_zipped["training_variants"], "--text", synth_zipped["training_text"], "-o", model
    )
    out = tmp_path / "p.csv"
    run(
        "predict",
        "-m",
        model,
        "-i",
        synth_zipped["test_variants"],
        "--text",
        synth_zipped["test_text"],
        "-o",
        out,
    )
    frame = pd.read_csv(out)
    # ID, one probability per class, then what each prediction used.
    classes = [f"class{i}" for i in range(1, 10)]
    assert list(frame.columns) == ["ID", *classes, "prediction", "text_source", "evidence_ids"]
    assert (frame["prediction"].astype(str) == frame[classes].idxmax(axis=1).str.removeprefix("class")).all()
    assert frame[classes].sum(axis=1).round(4).eq(1).all()
    sidecar = json.loads(out.with_name("p.csv.json").read_text())
    assert sidecar["model_id"].startswith("default-")
    scored = run("score", "-p", out, "--labels", synth_zipped["test_solution"]).stdout
    assert "log loss" in scored


def test_evaluate_prints_json(synth_files) -> None:
    result = run(
        "evaluate",
        "-i",
        synth_files["training_variants"],
        "--text",
        synth_files["training_text"],
        "-m",
        "lr,nb",
        "--folds",
        "3",
        "--json",
    )
    report = json.loads(result.stdout)  # --json: one JSON document, nothing else on stdout
    shown = render_matrices("lr", report["results"]["lr"])  # what --matrices prints without --json
    assert "confusion" in shown and "precision" in shown and "recall" in shown
    assert set(report["results"]) == {"prior", "lr", "nb"}
    assert report["results"]["lr"]["log_loss"] < report["results"]["prior"]["log_loss"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "-i", "missing.csv", "-o", "m"), "no such file"),
        (("predict", "-m", "no-model", "-i", "x.csv", "-o", "p.csv"), "does not exist"),
        (("evaluate", "-i", "PLACEHOLDER", "-m", "nonsense"), "unknown recipe"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path: Path, synth_files, args, message) -> None:
    args = tuple(str(synth_files["training_variants"]) if a == "PLACEHOLDER" else a for a in args)
    result = subprocess.run([EXE, *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "-i", "x.csv", "-o", "m", "--cv", "500"], "error: --cv: "),
        (["train", "-i", "x.csv", "-o", "m", "--cv", "x"], "error: --cv: "),
        (["train", "-i", "x.csv", "-o", "m", "--set"], "error: Option '--set' requires an argument"),
        (["predict", "-m", "m", "-i", "x.csv", "-o", "p.csv", "--coverage", "2"], "error: --coverage: "),
        (["predict", "-i", "x.csv", "-o", "p.csv"], "error: Missing option '--model'"),
        (["train", "--bogus"], "error: No such option: --bogus"),
    ],
)
def test_the_command_line_refused_in_one_line(cli, args: list[str], line: str) -> None:
    """Typer's own refusals (a value out of range, a missing or unknown option) read as every
    other error does: one line, no box."""
    result = cli(args)
    assert result.returncode == 2 and result.stderr.startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "─" not in result.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["predict", "-m", "m", "-i", "k20.csv", "-i", "one.csv", "-o", "o.csv"],
            "error: --input was given twice (k20.csv, one.csv): give it once.",
        ),
        (["predict", "-m", "A", "--model", "B", "-i", "x.csv"], "error: --model was given twice (A, B): "),
        (["kb", "search", "--kb", "a.db", "--kb", "b.db", "x"], "error: --kb was given twice (a.db, b.db): "),
        (
            ["train", "-i", "x.csv", "-o", "m", "--columns", "a=b", "--columns=c=d"],
            "error: --columns was given",
        ),
    ],
)
def test_an_option_given_twice_is_refused(cli, args: list[str], line: str) -> None:
    """Click keeps an option's last value: the first file given would be dropped without a word."""
    result = cli(args)
    assert result.returncode == 2 and result.stderr.startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_repeatable_option_may_be_repeated(cli, tmp_path: Path) -> None:
    """--set (declared multiple) collects every value: its refusal is about the input, not a repeat."""
    result = cli(["train", "-i", tmp_path / "none.csv", "-o", tmp_path / "m", "--set", "a=1", "--set", "b=2"])
    assert result.returncode == 2 and "twice" not in result.stderr, result.stderr


def test_an_output_refused_is_named_by_the_option_given(cli, tmp_path: Path, synth_files) -> None:
    """The library names the output (its field); the command line says the option the user gave."""
    variants = synth_files["training_variants"]
    refused = cli(["evaluate", "--input", variants, "--folds", "2", "--report", variants])
    assert refused.returncode == 2, refused.stderr
    assert (
        refused.stderr.startswith(f"error: --report: {variants}: is also an input")
        and "--out" not in refused.stderr
    )
    refused = cli(["demo", "--workdir", variants])
    assert refused.returncode == 2 and refused.stderr.startswith("error: --workdir: "), refused.stderr


def test_standard_output_full_or_closed(tmp_path: Path, lr_model: Path) -> None:
    """--out - into a full device is one message (exit 2); into a pipe its reader closed early
    (`| head -1`) ends quietly, as cat does (141, SIGPIPE's status), with no noise at exit."""
    variants = tmp_path / "v.csv"
    variants.write_text("id,gene,variation\n" + "".join(f"{i},BRAF,V600E\n" for i in range(20000)))
    args = [EXE, "predict", "--model", lr_model, "--input", variants, "--out", "-"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(list(map(str, args)), stdout=full, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr
        == "error: --out: standard output: could not be written (no space left on the device).\n"
    )
    piped = subprocess.run(
        ["bash", "-c", '"$@" | head -1; exit "${PIPESTATUS[0]}"', "bash", *map(str, args)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert piped.returncode == 141 and piped.stderr == "", piped.stderr
    assert piped.stdout.startswith("ID,")


@pytest.mark.realdata
@pytest.mark.slow  # the default recipe trained on all of Kaggle's variants: about 35 s
def test_real_kaggle_variants_beat_classic_lr_on_stage1(tmp_path: Path, kaggle_dir: Path) -> None:
    model = tmp_path / "model"
    run("train", "-i", kaggle_dir / "training_variants", "-o", model)
    out = tmp_path / "p.csv"
    run("predict", "-m", model, "-i", kaggle_dir / "test_variants", "-o", out)
    assert len(pd.read_csv(out)) == 5668
    scored = run("score", "-p", out, "--labels", kaggle_dir / "stage1_solution_filtered.csv", "--json")
    result = json.loads(scored.stdout)
    assert result["rows"] == 368
    assert result["log_loss"] <= 1.05


@pytest.mark.realdata
@pytest.mark.slow  # every recipe in 3-fold CV on CIViC: about 4 minutes
def test_real_civic_all_recipes_evaluate_and_default_trains(tmp_path: Path, civic_file: Path) -> None:
    evaluated = run("evaluate", "-i", civic_file, "-m", "all", "--folds", "3", "--json")
    report = json.loads(evaluated.stdout)
    assert len(report["results"]) == len(RECIPES) + 1  # every recipe and the prior
    assert report["results"]["default"]["log_loss"] < report["results"]["prior"]["log_loss"]
    model = tmp_path / "civic-model"
    run("train", "-i", civic_file, "-o", model)
    preds = tmp_path / "civic.csv"
    run("predict", "-m", model, "-i", civic_file, "-o", preds)
    assert "Predictive: Sensitivity/Response" in pd.read_csv(preds).columns


def _stderr_on_a_terminal(*args: str | Path) -> tuple[int, str]:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [EXE, *map(str, args)], stdout=subprocess.DEVNULL, stderr=follower,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=600), b"".join(chunks).decode(errors="replace")


@pytest.mark.slow  # a real process on a pseudo-terminal (~5 s)
def test_progress_bars_on_a_terminal_only(synth_files) -> None:
    args = ("evaluate", "-i", synth_files["training_variants"], "--text", synth_files["training_text"],
            "-m", "nb", "--folds", "3", "--no-matrices")  # fmt: skip
    code, terminal = _stderr_on_a_terminal(*args)
    assert code == 0
    assert "cross-validating" in terminal and "\r" in terminal
    piped = run(*args).stderr
    assert "cross-validating" not in piped and "\r" not in piped


@pytest.mark.slow  # a Dask cluster started by the executable (tests/test_batch.py drives Dask in-process)
def test_predict_on_dask_with_a_local_cluster(tmp_path: Path, synth_files, small_corpus) -> None:
    model = tmp_path / "model"
    run(
        "train",
        "-i",
        synth_files["training_variants"],
        "--text",
        synth_files["training_text"],
        "-m",
        "lr",
        "-o",
        model,
    )
    _, test = small_corpus
    test[["id", "gene", "variation", "text"]].to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "pred.csv"
    result = run(
        "predict",
        "-m",
        model,
        "-i",
        tmp_path / "rows.csv",
        "-o",
        out,
        "--engine",
        "dask",
        "--partitions",
        "2",
    )
    assert f"{len(test)} predictions" in result.stdout
    local = tmp_path / "local.csv"
    run("predict", "-m", model, "-i", tmp_path / "rows.csv", "-o", local)
    assert (
        pd.read_csv(out)
        .sort_values("ID")
        .reset_index(drop=True)
        .equals(pd.read_csv(local).sort_values("ID").reset_index(drop=True))
    )


def test_annotate_a_maf_through_a_pipe_with_the_real_executable(default_model: Path, tmp_path: Path) -> None:
    # A pipeline's use: MAF on standard input, annotated MAF on standard output, the summary on
    # standard error.
    maf = "#version 2.4\nHugo_Symbol\tVariant_Classification\tHGVSp_Short\nBRAF\tMissense_Mutation\tp.V600E\n"
    result = subprocess.run(
        [EXE, "annotate", "-m", str(default_model), "-i", "-", "-o", "-"],
        input=maf, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "#version 2.4" and lines[1].startswith(
        "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\t"
    )
    assert lines[2].startswith("BRAF\tMissense_Mutation\tp.V600E\t") and "1 predicted" in result.stderr


def test_flags_are_shown_as_flags_in_every_help(cli) -> None:
    """A flag takes no value, so its help line shows no type (Typer writes ``<bool>``)."""
    from oncoclass.cli import command

    def names(cmd, prefix):
        yield prefix
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from names(sub, [*prefix, name])

    for path in names(command(), []):
        shown = cli([*path, "--help"])
        assert shown.returncode == 0 and "Usage" in shown.stdout and "<bool>" not in shown.stdout, path


def test_shell_completion(cli, monkeypatch) -> None:
    # The script through Click's variable, not `--show-completion bash`: Typer defines that option
    # by whether it can detect the calling shell, which differs under a test runner's workers.
    monkeypatch.setenv("_ONCOCLASS_COMPLETE", "source_bash")
    script = cli([])
    assert script.returncode == 0 and "_ONCOCLASS_COMPLETE=complete_bash" in script.stdout
    monkeypatch.setenv("_ONCOCLASS_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "oncoclass re")
    monkeypatch.setenv("COMP_CWORD", "1")
    completed = cli([])
    assert completed.stdout.split() == ["report", "review"]


def test_json_is_one_convention_across_commands(cli, tmp_path: Path, lr_model: Path, synth_files) -> None:
    """Every command's --json is a flag with the same help, and its standard output is one JSON
    document and nothing else (notes and "written to" lines go to standard error)."""
    from oncoclass.cli import command

    def commands(cmd, prefix):
        if not getattr(cmd, "commands", None):
            yield prefix, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from commands(sub, [*prefix, name])

    helps = set()
    with_json = []
    for path, cmd in commands(command(), []):
        for param in cmd.params:
            if "--json" in getattr(param, "opts", []):
                assert param.is_flag, path
                helps.add(param.help)
                with_json.append(" ".join(path))
    assert len(helps) <= 2, helps  # one wording (evaluate's says it includes every matrix)
    assert {"evaluate", "score", "explain", "models", "kb search", "kb stats", "review stats"} <= set(
        with_json
    )

    listed = cli(["models", "--json"])
    assert {row["name"] for row in json.loads(listed.stdout)} >= {"default", "fast"}
    report = tmp_path / "r.html"
    reported = cli(["report", "-m", lr_model, "-i", synth_files["training_variants"], "--text",
                    synth_files["training_text"], "-o", report, "--json"])  # fmt: skip
    assert reported.returncode == 0, reported.stderr
    assert json.loads(reported.stdout)["results"] and f"written to {report}" in reported.stderr
