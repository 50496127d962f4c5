"""The ``oncoclass`` command: parse options, call one library function, render its result.

Errors the user can fix (:class:`oncoclass.errors.OncoclassError`) are printed once, as one line,
with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from oncoclass import api
from oncoclass.config import EvaluateConfig, InputSpec, TrainConfig, parse_columns
from oncoclass.errors import OncoclassError
from oncoclass.persist import load_bundle

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Classify cancer gene variants from the clinical literature, with calibrated probabilities.",
    pretty_exceptions_enable=False,
)
STATE = {"debug": False}

InputOpt = Annotated[
    Path,
    typer.Option(
        "--input",
        "-i",
        help="Variants/evidence file: Kaggle, CIViC TSV, CSV, TSV, JSONL or Parquet (plain, .zip or .7z).",
    ),
]
TextOpt = Annotated[Path | None, typer.Option("--text", help="Kaggle text file (ID||Text) matching --input.")]
LabelsOpt = Annotated[
    Path | None, typer.Option("--labels", help="Kaggle solution file (ID,class1..) giving labels.")
]
FormatOpt = Annotated[str, typer.Option("--format", help="auto, kaggle, civic, csv, tsv, jsonl or parquet.")]
ColumnsOpt = Annotated[
    str | None, typer.Option("--columns", help="Column mapping, e.g. gene=Hugo_Symbol,label=Class.")
]


def err(message: str) -> None:
    typer.echo(message, err=True)


def _spec(input: Path, text: Path | None, labels: Path | None, fmt: str, columns: str | None) -> InputSpec:
    return InputSpec(
        path=str(input),
        text=None if text is None else str(text),
        labels=None if labels is None else str(labels),
        format=fmt,
        columns=parse_columns(columns),
    )


def _notes(notes: list[str]) -> None:
    for note in notes:
        err(f"note: {note}")


def _fmt_matrix(title: str, labels: list[str], matrix: list[list[float]], integer: bool) -> list[str]:
    width = max(6, *(len(lab) for lab in labels)) + 1
    lines = [title, " " * width + "".join(f"{lab[: width - 1]:>{width}}" for lab in labels)]
    for lab, row in zip(labels, matrix, strict=True):
        cells = "".join(f"{int(v):>{width}d}" if integer else f"{v:>{width}.2f}" for v in row)
        lines.append(f"{lab[: width - 1]:<{width}}{cells}")
    return lines


def render_scores(rows: dict[str, dict[str, Any]]) -> str:
    header = f"{'recipe':<14}{'log loss':>10}{'accuracy':>10}{'macro-F1':>10}{'miscl. %':>10}{'ECE':>8}"
    lines = [header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(
            f"{name:<14}{m['log_loss']:>10.4f}{m['accuracy']:>10.4f}{m['macro_f1']:>10.4f}"
            f"{m['misclassified_pct']:>10.2f}{m['ece']:>8.4f}"
        )
    return "\n".join(lines)


def render_matrices(name: str, m: dict[str, Any]) -> str:
    labels = m["labels"]
    short = [str(i + 1) for i in range(len(labels))] if max(len(lab) for lab in labels) > 8 else labels
    lines = [f"\n== {name} =="]
    if short is not labels:
        lines += [f"  {s}: {lab}" for s, lab in zip(short, labels, strict=True)]
    lines += _fmt_matrix("confusion (rows: true, columns: predicted)", short, m["confusion"], True)
    lines += _fmt_matrix("precision (columns sum to 1)", short, m["precision_matrix"], False)
    lines += _fmt_matrix("recall (rows sum to 1)", short, m["recall_matrix"], False)
    return "\n".join(lines)


class _Counter:
    """Progress ticks on stderr only when it is a terminal, so CI logs stay clean."""

    def __init__(self, total: int, desc: str) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    def __call__(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    STATE["debug"] = debug


@app.command()
def train(
    input: InputOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    text: TextOpt = None,
    labels: LabelsOpt = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Recipe name (see `oncoclass models`).")
    ] = "default",
    cv: Annotated[
        int, typer.Option("--cv", help="Also record N-fold CV metrics in the model (0: skip).")
    ] = 0,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
) -> None:
    """Train a recipe and save the model folder (skops model, metadata, config, model card)."""
    config = TrainConfig(input=_spec(input, text, labels, fmt, columns), recipe=model, cv_folds=cv)
    result = api.train(config, out_dir=out)
    _notes(result.notes)
    meta = result.metadata
    typer.echo(
        f"trained {meta['recipe']} on {meta['training']['rows']} rows "
        f"({len(meta['labels'])} labels) in {meta['training']['fit_seconds']} s"
    )
    if meta.get("cv"):
        cv_m = meta["cv"]
        typer.echo(f"{cv}-fold CV: log loss {cv_m['log_loss']:.4f}, accuracy {cv_m['accuracy']:.4f}")
    typer.echo(f"model {meta['model_id']} saved to {result.path}")


@app.command()
def predict(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder from `oncoclass train`.")],
    input: InputOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Predictions CSV to write.")],
    text: TextOpt = None,
    labels: LabelsOpt = None,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
) -> None:
    """Write class probabilities: ID then one column per class (Kaggle: class1..class9)."""
    bundle = load_bundle(model)
    predictions, notes = api.predict(bundle, _spec(input, text, labels, fmt, columns))
    api.write_predictions(predictions, out, bundle)
    _notes(notes)
    typer.echo(f"{len(predictions)} predictions by model {bundle.model_id} written to {out}")


@app.command()
def evaluate(
    input: InputOpt,
    text: TextOpt = None,
    labels: LabelsOpt = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Recipe name(s), comma-separated, or 'all'.")
    ] = "default",
    folds: Annotated[int, typer.Option("--folds", help="Number of CV folds.")] = 5,
    group_by: Annotated[
        str, typer.Option("--group-by", help="none, gene or citation: keep a group in one fold.")
    ] = "none",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every metric and matrix as JSON.")
    ] = None,
    matrices: Annotated[bool, typer.Option("--matrices/--no-matrices", help="Print the matrices.")] = True,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the fold split.")] = 0,
) -> None:
    """Stratified k-fold CV of one or more recipes, beside the class prior."""
    from oncoclass.models import RECIPES

    names = tuple(RECIPES) if model == "all" else tuple(n.strip() for n in model.split(",") if n.strip())
    config = EvaluateConfig(
        input=_spec(input, text, labels, fmt, columns),
        recipes=names,
        folds=folds,
        group_by=group_by,
        seed=seed,
    )
    counter = _Counter(len(names) * folds, "cross-validating")
    try:
        report = api.evaluate(config, progress=counter)
    finally:
        counter.close()
    _notes(report["data"]["notes"])
    data = report["data"]
    typer.echo(
        f"{data['rows']} labelled rows, {len(data['labels'])} labels, {folds}-fold CV (groups: {group_by})"
    )
    typer.echo(render_scores(report["results"]))
    if matrices:
        for name in names:
            typer.echo(render_matrices(name, report["results"][name]))
    if json_out is not None:
        api.write_json(json_out, report)
        typer.echo(f"metrics written to {json_out}")


@app.command()
def score(
    predictions: Annotated[
        Path, typer.Option("--predictions", "-p", help="CSV written by `oncoclass predict`.")
    ],
    truth: Annotated[Path, typer.Option("--labels", help="Solution file or labelled table.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON.")] = None,
) -> None:
    """Score a predictions file against known labels (e.g. Kaggle's stage-1 solution)."""
    result = api.score(predictions, truth)
    typer.echo(f"{result['rows']} labelled rows scored ({result['unscored_rows']} without a label skipped)")
    typer.echo(render_scores({"predictions": result}))
    if json_out is not None:
        api.write_json(json_out, result)


@app.command()
def models() -> None:
    """List the recipes."""
    from oncoclass.models import RECIPES

    for recipe in RECIPES.values():
        typer.echo(f"{recipe.name:<13} {recipe.description}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the corpus into.")],
    rows: Annotated[int, typer.Option(help="Training rows.")] = 600,
    test_rows: Annotated[int, typer.Option(help="Test rows.")] = 150,
    doc_chars: Annotated[int, typer.Option(help="Characters per document.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    zipped: Annotated[
        bool, typer.Option("--zip", help="Write each file as a .zip, as Kaggle ships.")
    ] = False,
) -> None:
    """Write a SYNTHETIC corpus in Kaggle's file format (for demos, tests, benchmarks)."""
    from oncoclass.data.synth import SynthSpec, write_corpus

    paths = write_corpus(
        out, SynthSpec(rows=rows, test_rows=test_rows, doc_chars=doc_chars, seed=seed), zipped=zipped
    )
    for key, path in paths.items():
        typer.echo(f"{key:<18} {path}")


@app.command("fetch-civic")
def fetch_civic(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the download (default: the cache).")
    ] = None,
) -> None:
    """Download CIViC's nightly evidence export (needs internet) into the local cache."""
    from oncoclass.data.civic import download_civic

    typer.echo(f"saved {download_civic(out)}")


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", help="Folder for the demo's files.")] = Path(
        "demo-output"
    ),
) -> None:
    """Offline end-to-end run on the embedded synthetic corpus: evaluate, train, predict, score."""
    from oncoclass.data.synth import SynthSpec, write_corpus

    started = time.perf_counter()
    paths = write_corpus(workdir / "corpus", SynthSpec())
    typer.echo(f"synthetic corpus (not real data) written to {workdir / 'corpus'}")
    spec = InputSpec(path=str(paths["training_variants"]), text=str(paths["training_text"]))
    config = EvaluateConfig(input=spec, recipes=("default", "lr", "nb"), folds=5)
    report = api.evaluate(config)
    typer.echo("5-fold CV on the training file:")
    typer.echo(render_scores(report["results"]))
    api.write_json(workdir / "evaluation.json", report)
    result = api.train(TrainConfig(input=spec), out_dir=workdir / "model")
    bundle = load_bundle(result.path)
    predictions, _ = api.predict(
        bundle, InputSpec(path=str(paths["test_variants"]), text=str(paths["test_text"]))
    )
    out = api.write_predictions(predictions, workdir / "predictions.csv", bundle)
    scored = api.score(out, paths["test_solution"])
    typer.echo(f"held-out test set ({scored['rows']} rows), model {bundle.model_id}:")
    typer.echo(render_scores({"default": scored}))
    typer.echo(f"model: {result.path}  predictions: {out}  ({time.perf_counter() - started:.0f} s)")


def main() -> None:
    warnings.filterwarnings("ignore", category=UserWarning)
    try:
        # Standalone mode lets Typer render usage errors itself and exit with its own status.
        app()
    except OncoclassError as exc:
        if STATE["debug"]:
            traceback.print_exc()
        err(f"error: {exc.render()}")
        sys.exit(exc.exit_code)
    except Exception as exc:
        if STATE["debug"]:
            traceback.print_exc()
        err(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)")
        sys.exit(1)
