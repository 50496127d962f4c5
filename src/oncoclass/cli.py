"""The ``oncoclass`` command: parse options, call one library function, render its result.

Errors the user can fix (:class:`oncoclass.errors.OncoclassError`) are printed once, as one line,
with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
import traceback
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from oncoclass import api
from oncoclass.config import (
    MAX_N_JOBS,
    EvaluateConfig,
    InputSpec,
    TrainConfig,
    parse_columns,
    parse_overrides,
)
from oncoclass.errors import ConfigError, OncoclassError, shortened
from oncoclass.output import (
    REPORT_SUFFIXES,
    Interrupted,
    check_output,
    cleanup_on_signals,
    is_stdout,
    named_format,
    to_json,
    write_json,
)
from oncoclass.persist import load_bundle

app = typer.Typer(
    add_completion=True,
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

SkipUnknownOpt = Annotated[
    bool,
    typer.Option(
        "--skip-unknown-labels", help="Leave out rows whose label the model does not predict (with a note)."
    ),
]
#: Every command that reports a result takes --json: the result as one JSON document on standard
#: output, and nothing else there (notes, progress and "written to" lines go to standard error), so
#: `oncoclass … --json | jq` always works. Values follow output.jsonable (NaN is null).
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print the result as one JSON document on standard output (messages go to stderr)."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a recipe parameter, step__param=value (repeatable; `oncoclass models --params "
        "NAME` lists them), e.g. --set with_text__estimator__features__text__tfidf__min_df=3.",
    ),
]
NJobsOpt = Annotated[
    int | None,
    typer.Option(
        "--n-jobs", min=1, max=MAX_N_JOBS, help="Fold fits run side by side (default: the recipe's)."
    ),
]
ModelDirOpt = Annotated[Path, typer.Option("--model", "-m", help="Model folder from `oncoclass train`.")]
TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        help="What to predict of a CIViC export: significance (type and significance), evidence_type, "
        "evidence_level or evidence_direction.",
    ),
]
KbOpt = Annotated[
    str | None,
    typer.Option(
        "--kb",
        help="Evidence store: an SQLite file or postgresql://user:password@host/db "
        "(default: $ONCOCLASS_KB, else ~/.local/share/oncoclass/kb.sqlite).",
    ),
]
UseKbOpt = Annotated[
    str | None,
    typer.Option(
        "--kb",
        help="Evidence store to retrieve each variant's evidence from (SQLite file or PostgreSQL URL).",
    ),
]

#: The Dask options, one definition for every command that has an engine (predict, annotate).
EngineOpt = Annotated[str, typer.Option("--engine", help="local (one process) or dask (partitions).")]
SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", help="Dask scheduler address; default: a local cluster.")
]
PartitionsOpt = Annotated[
    int | None, typer.Option("--partitions", min=1, max=100_000, help="Dask partitions.")
]


def err(message: str) -> None:
    typer.echo(message, err=True)


def say(message: str, as_json: bool) -> None:
    """A line for the person at the terminal: standard output, or standard error under --json."""
    typer.echo(message, err=as_json)


def _done(message: str, out: Path | str) -> None:
    """``message`` + where the output went; on stderr when the output itself is standard output."""
    if is_stdout(out):
        err(f"{message} standard output")
    else:
        typer.echo(f"{message} {out}")


def _spec(
    input: Path,
    text: Path | None,
    labels: Path | None,
    fmt: str,
    columns: str | None,
    target: str = "significance",
) -> InputSpec:
    return InputSpec(
        path=str(input),
        text=None if text is None else str(text),
        labels=None if labels is None else str(labels),
        format=fmt,
        columns=parse_columns(columns),
        target=target,
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
    sets = any("set_coverage" in m for m in rows.values())
    header = f"{'recipe':<14}{'log loss':>10}{'accuracy':>10}{'macro-F1':>10}{'miscl. %':>10}{'ECE':>8}"
    header += f"{'90% set holds':>15}{'set size':>10}" if sets else ""
    lines = [header, "-" * len(header)]
    for name, m in rows.items():
        line = (
            f"{name:<14}{m['log_loss']:>10.4f}{m['accuracy']:>10.4f}{m['macro_f1']:>10.4f}"
            f"{m['misclassified_pct']:>10.2f}{m['ece']:>8.4f}"
        )
        if sets and "set_coverage" in m:
            line += f"{m['set_coverage']:>15.1%}{m['set_size']:>10.2f}"
        lines.append(line)
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


class _Bar:
    """A progress bar on stderr only when it is a terminal, so CI logs stay free of carriage returns."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, total: int, desc: str) -> None:
        self.close()
        if sys.stderr.isatty():
            from tqdm import tqdm

            # A terminal that reports no size (some ptys) would get an empty or hidden bar.
            size = shutil.get_terminal_size((80, 24))
            self.bar = tqdm(
                total=total,
                desc=desc,
                file=sys.stderr,
                leave=False,
                ncols=size.columns or 80,
                nrows=size.lines or 24,
            )

    def __call__(self, advance: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(advance)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _print_version(value: bool) -> None:
    if value:
        from oncoclass import __version__

        typer.echo(f"oncoclass {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    STATE["debug"] = debug
    from oncoclass.settings import get_settings

    get_settings()  # a bad ONCOCLASS_* variable stops every command here, before any work


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help="Labelled file: Kaggle, CIViC TSV, CSV, TSV, JSONL or Parquet (plain, .zip or .7z).",
        ),
    ] = None,
    text: TextOpt = None,
    labels: LabelsOpt = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Recipe name (see `oncoclass models`).")
    ] = "default",
    cv: Annotated[
        int,
        typer.Option("--cv", min=0, max=100, help="Also record N-fold CV metrics in the model (0: skip)."),
    ] = 0,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
    kb: UseKbOpt = None,
    target: TargetOpt = "significance",
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed",
            help="Also learn from the items curators reviewed in the --kb store's queue, then refresh "
            "the open items' proposals with the new model.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random step and the CV split.")] = 0,
    overrides: SetOpt = None,
    n_jobs: NJobsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a recipe and save the model folder (skops model, metadata, config, model card)."""
    if reviewed and kb is None:
        raise ConfigError("--reviewed needs --kb: the reviewed items are in a store's queue.")
    if input is None and not reviewed:
        raise ConfigError("give --input (a labelled file), or --kb with --reviewed.")
    spec = _spec(input, text, labels, fmt, columns, target) if input is not None else None
    config = TrainConfig(
        input=spec, recipe=model, cv_folds=cv, kb=kb, reviewed=reviewed, seed=seed,
        params=parse_overrides(overrides or []), n_jobs=n_jobs,
    )  # fmt: skip
    with _Bar() as bar:
        result = api.train(config, out_dir=out, progress=bar)
    _notes(result.notes)
    meta = result.metadata
    if as_json:
        typer.echo(to_json({"path": result.path, "notes": result.notes, "metadata": meta}))
        return
    typer.echo(
        f"trained {meta['recipe']} on {meta['training']['rows']} rows "
        f"({len(meta['labels'])} labels) in {meta['training']['fit_seconds']} s"
    )
    if meta.get("cv"):
        cv_m = meta["cv"]
        typer.echo(
            f"{cv}-fold CV: log loss {cv_m['log_loss']:.4f}, accuracy {cv_m['accuracy']:.4f}; "
            f"90 % sets of labels hold the true one in {cv_m['set_coverage']:.1%} of rows, "
            f"{cv_m['set_size']:.2f} labels on average"
        )
    typer.echo(f"model {meta['model_id']} saved to {result.path}")


@app.command()
def predict(
    model: ModelDirOpt,
    input: InputOpt,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Predictions: a CSV, or with --engine dask a Parquet folder.")
    ],
    text: TextOpt = None,
    labels: LabelsOpt = None,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
    on_bad_rows: Annotated[
        str, typer.Option("--on-bad-rows", help="With dask: fail, or skip them into a reject file.")
    ] = "fail",
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Reject file (default: OUT.rejects.csv).")
    ] = None,
    kb: UseKbOpt = None,
    coverage: Annotated[
        float | None,
        typer.Option(
            "--coverage",
            min=0.5,
            max=0.999,
            help="Add prediction_set: the labels that hold the true one with this probability, e.g. 0.9 "
            "(needs a model trained with --cv).",
        ),
    ] = None,
    keep_columns: Annotated[
        str | None,
        typer.Option(
            "--keep-columns",
            help="Input columns to copy beside the predictions, comma-separated as the file names them, "
            "or '*' for all.",
        ),
    ] = None,
) -> None:
    """Write class probabilities: ID, one column per class (Kaggle: class1..class9), then the top class
    (prediction), with --coverage the set of labels (prediction_set), and what it used (text_source,
    evidence_ids); --out - writes CSV to standard output."""
    keep = tuple(c.strip() for c in (keep_columns or "").split(",") if c.strip())
    spec = replace(_spec(input, text, labels, fmt, columns), keep=keep)
    if engine == "dask" and keep:
        raise ConfigError("--keep-columns works with --engine local for now.")
    if engine == "dask" and coverage is not None:
        raise ConfigError("--coverage works with --engine local for now.")
    if engine == "dask":
        from oncoclass.batch import predict_dask

        with _Bar() as bar:
            result = predict_dask(
                model, spec, out, scheduler=scheduler, partitions=partitions, on_bad_rows=on_bad_rows,
                reject_path=rejects, progress=bar, kb=kb,
            )  # fmt: skip
        _notes(result.notes)
        typer.echo(
            f"{result.rows} predictions by model {result.model_id} written to {result.out} "
            f"({result.partitions} partitions, {result.seconds:.1f} s)"
        )
        if result.rejected:
            err(f"note: {result.rejected} malformed row(s) written to {result.reject_path}")
        return
    if engine != "local":
        raise ConfigError(f"--engine must be local or dask, not {engine!r}.")
    from oncoclass.data.tables import output_format
    from oncoclass.kb.store import store_inputs

    inputs = [*spec.paths, *store_inputs(kb)]
    check_output(out, inputs=inputs)
    output_format(out)  # a name it cannot be written as is refused before any work
    if not is_stdout(out):  # the sidecar naming the model is an output too
        check_output(api.sidecar_path(Path(out)), inputs=inputs)
    bundle = load_bundle(model)
    with _Bar() as bar:
        predictions, notes = api.predict(bundle, spec, kb=kb, progress=bar, coverage=coverage)
    api.write_predictions(predictions, out, bundle)
    _notes(notes)
    _done(f"{len(predictions)} predictions by model {bundle.model_id} written to", out)


@app.command()
def annotate(
    model: ModelDirOpt,
    input: Annotated[
        Path,
        typer.Option("--input", "-i", help="A MAF (plain or .gz) or a table of gene and protein change."),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The annotated file (the input's format unless the name says)."),
    ],
    kb: UseKbOpt = None,
    columns: ColumnsOpt = None,
    probabilities: Annotated[
        bool, typer.Option("--probabilities", help="Also write one oncoclass_p_<class> column per class.")
    ] = False,
    transcript: Annotated[
        str,
        typer.Option(
            "--transcript",
            help="A VCF record's consequence: canonical (VEP CANONICAL=YES, else the first) or first.",
        ),
    ] = "canonical",
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
) -> None:
    """Annotate sequencing results: the same rows and columns back, with oncoclass_ columns added
    (prediction, class name, probability, the protein change read, a note when none could be).
    A MAF or table is streamed, a chunk at a time, so memory does not grow with the file."""
    from contextlib import nullcontext

    from oncoclass import annotate as annotation
    from oncoclass.kb.store import open_store, store_inputs

    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine must be local or dask, not {engine!r}.")
    check_output(out, inputs=[input, *store_inputs(kb)])
    bundle = load_bundle(model)
    with (
        annotation.open_sheet(input, transcript=transcript) as sheet,
        open_store(kb, create=False) if kb else nullcontext() as store,
    ):
        annotation.output_of(sheet, out)  # a name it cannot be written as is refused before any work
        options: dict[str, Any] = {
            "columns": parse_columns(columns), "store": store, "probabilities": probabilities,
        }  # fmt: skip
        if engine == "dask":
            from oncoclass.batch import annotate_dask

            with _Bar() as bar:
                summary = annotate_dask(
                    bundle, sheet, out, scheduler=scheduler, partitions=partitions, progress=bar, **options
                )
        else:
            summary = annotation.annotate_file(bundle, sheet, out, **options)
    notes = api.store_notes(bundle, kb)
    result = annotation.result_of(sheet, summary, out, model_id=bundle.model_id, notes=notes)
    _notes(result.notes)
    skipped = result.skipped()
    _done(
        f"{result.counted()} ({result.variants} distinct variants): {result.predicted} predicted"
        + (f", not predicted: {skipped}" if skipped else "")
        + f"; model {result.model_id}; written to",
        out,
    )


@app.command()
def evaluate(
    input: InputOpt,
    text: TextOpt = None,
    labels: LabelsOpt = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Recipe name(s), comma-separated, or 'all'.")
    ] = "default",
    folds: Annotated[int, typer.Option("--folds", min=2, max=100, help="Number of CV folds.")] = 5,
    group_by: Annotated[
        str, typer.Option("--group-by", help="none, gene or citation: keep a group in one fold.")
    ] = "none",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print every metric and matrix as one JSON document on standard output."),
    ] = False,
    matrices: Annotated[
        bool,
        typer.Option(
            "--matrices/--no-matrices", help="Also print the confusion, precision, recall matrices."
        ),
    ] = False,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write a self-contained HTML report with plots.")
    ] = None,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fold split and every random step.")] = 0,
    kb: UseKbOpt = None,
    target: TargetOpt = "significance",
    overrides: SetOpt = None,
    n_jobs: NJobsOpt = None,
) -> None:
    """Stratified k-fold CV of one or more recipes, beside the class prior."""
    from oncoclass.models import RECIPES

    names = tuple(RECIPES) if model == "all" else tuple(n.strip() for n in model.split(",") if n.strip())
    spec = _spec(input, text, labels, fmt, columns, target)
    if report_out is not None:
        from oncoclass.kb.store import store_inputs

        check_output(report_out, inputs=[*spec.paths, *store_inputs(kb)], stdout_ok=False, field="report")
        named_format(report_out, REPORT_SUFFIXES)
    config = EvaluateConfig(
        input=spec,
        recipes=names,
        folds=folds,
        group_by=group_by,
        seed=seed,
        kb=kb,
        params=parse_overrides(overrides or []),
        n_jobs=n_jobs,
    )
    with _Bar() as bar:
        report = api.evaluate(config, progress=bar)
    _notes(report["data"]["notes"])
    data = report["data"]
    if report_out is not None:
        api.write_report(report, report_out, title=f"oncoclass evaluation: {Path(data['source']).name}")
        say(f"report written to {report_out}", as_json)
    if as_json:
        typer.echo(to_json(report))
        return
    typer.echo(
        f"{data['rows']} labelled rows, {len(data['labels'])} labels, {folds}-fold CV (groups: {group_by})"
    )
    typer.echo(render_scores(report["results"]))
    if matrices:
        for name in names:
            typer.echo(render_matrices(name, report["results"][name]))


@app.command("report")
def report_command(
    model: ModelDirOpt,
    input: InputOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML report to write.")],
    text: TextOpt = None,
    labels: LabelsOpt = None,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
    skip_unknown: SkipUnknownOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """HTML report of a trained model's predictions on a labelled file (held-out data)."""
    spec = _spec(input, text, labels, fmt, columns)
    check_output(out, inputs=spec.paths, stdout_ok=False)
    named_format(out, REPORT_SUFFIXES)
    bundle = load_bundle(model)
    result = api.holdout(bundle, spec, skip_unknown_labels=skip_unknown)
    _notes(result["data"]["notes"])
    api.write_report(result, out, title=f"oncoclass held-out report: {bundle.model_id}")
    if as_json:
        err(f"report written to {out}")
        typer.echo(to_json(result))
        return
    typer.echo(render_scores(result["results"]))
    typer.echo(f"report written to {out}")


@app.command()
def score(
    predictions: Annotated[
        Path, typer.Option("--predictions", "-p", help="CSV written by `oncoclass predict`.")
    ],
    truth: Annotated[Path, typer.Option("--labels", help="Solution file or labelled table.")],
    skip_unknown: SkipUnknownOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Score a predictions file against known labels (e.g. Kaggle's stage-1 solution)."""
    result = api.score(predictions, truth, skip_unknown_labels=skip_unknown)
    _notes(result["notes"])
    if as_json:
        typer.echo(to_json(result))
        return
    typer.echo(f"{result['rows']} labelled rows scored ({result['unscored_rows']} without a label skipped)")
    typer.echo(render_scores({"predictions": result}))


@app.command()
def models(
    params: Annotated[
        str | None, typer.Option("--params", help="List this recipe's parameters (what --set takes).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the recipes, or one recipe's parameters."""
    from oncoclass.models import RECIPES, get_recipe

    if params is not None:
        found = {k: repr(v)[:120] for k, v in get_recipe(params).build().get_params(deep=True).items()
                 if not hasattr(v, "get_params") and not isinstance(v, list | tuple)}  # fmt: skip
        typer.echo(to_json(found) if as_json else "\n".join(f"{k} = {v}" for k, v in found.items()))
        return
    if as_json:
        typer.echo(to_json([{"name": r.name, "description": r.description} for r in RECIPES.values()]))
        return
    for recipe in RECIPES.values():
        typer.echo(f"{recipe.name:<13} {recipe.description}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the corpus into.")],
    rows: Annotated[int, typer.Option(min=2, max=10_000_000, help="Training rows.")] = 600,
    test_rows: Annotated[int, typer.Option(min=1, max=10_000_000, help="Test rows.")] = 150,
    doc_chars: Annotated[int, typer.Option(min=1, max=100_000_000, help="Characters per document.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    zipped: Annotated[
        bool, typer.Option("--zip", help="Write each file as a .zip, as Kaggle ships.")
    ] = False,
) -> None:
    """Write a SYNTHETIC corpus in Kaggle's file format (for demos, tests, benchmarks)."""
    from oncoclass.data.synth import SynthSpec, write_corpus

    check_output(out, folder=True)
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
    """Offline end-to-end run on the embedded synthetic corpus: evaluate, an evidence store and a
    search in it, train, predict, score, and variants without text predicted from the store."""
    from oncoclass.data.synth import SynthSpec, write_corpus

    check_output(workdir, folder=True, field="workdir")
    started = time.perf_counter()
    paths = write_corpus(workdir / "corpus", SynthSpec())
    typer.echo(f"synthetic corpus (not real data) written to {workdir / 'corpus'}")
    spec = InputSpec(path=str(paths["training_variants"]), text=str(paths["training_text"]))
    config = EvaluateConfig(input=spec, recipes=("default", "lr", "nb"), folds=5)
    evaluation = api.evaluate(config)
    typer.echo("5-fold CV on the training file:")
    typer.echo(render_scores(evaluation["results"]))
    write_json(workdir / "evaluation.json", evaluation)
    kb = _demo_store(workdir, paths)
    result = api.train(TrainConfig(input=spec, kb=str(kb)), out_dir=workdir / "model")
    bundle = load_bundle(result.path)
    predictions, _ = api.predict(
        bundle, InputSpec(path=str(paths["test_variants"]), text=str(paths["test_text"])), kb=str(kb)
    )
    out = api.write_predictions(predictions, workdir / "predictions.csv", bundle)
    scored = api.score(out, paths["test_solution"])
    typer.echo(f"held-out test set ({scored['rows']} rows), model {bundle.model_id}:")
    typer.echo(render_scores({"default": scored}))
    _demo_text_free(workdir, paths, bundle, kb)
    report = api.write_report(
        evaluation, workdir / "report.html", title="oncoclass demo: 5-fold CV on a SYNTHETIC corpus"
    )
    typer.echo(f"model: {result.path}  predictions: {out}  ({time.perf_counter() - started:.0f} s)")
    typer.echo(f"report: {report.resolve()}")


def _demo_store(workdir: Path, paths: dict[str, Path]) -> Path:
    """The demo's evidence store: the synthetic training corpus, and a search in it."""
    from oncoclass.kb.load import import_path
    from oncoclass.kb.search import Query, search
    from oncoclass.kb.store import open_store

    kb = workdir / "kb.sqlite"
    # The demo's own store, built afresh each run: one left by an older oncoclass may hold the
    # same items under the source names it used, and the search would show them twice.
    kb.unlink(missing_ok=True)
    with open_store(kb) as store:
        imported = import_path(store, paths["training_variants"], text=paths["training_text"])
        typer.echo(f"evidence store {kb}: {imported.items} synthetic items ({imported.added} added)")
        first = _first_row(paths["training_variants"])
        hits = search(store, Query(gene=first["Gene"], variation=first["Variation"]), limit=3)
    typer.echo(
        f"$ oncoclass kb search --kb {kb} --gene {first['Gene']} --variation {first['Variation']} --limit 3"
    )
    typer.echo(render_hits(hits))
    return kb


def _first_row(path: Path) -> dict[str, str]:
    import pandas as pd

    return {k: str(v) for k, v in pd.read_csv(path, dtype=str, nrows=1).iloc[0].items()}


def _demo_text_free(workdir: Path, paths: dict[str, Path], bundle: Any, kb: Path) -> None:
    """Variants without any text, predicted from the store's evidence, which each row cites."""
    import pandas as pd

    variants = pd.read_csv(paths["test_variants"], dtype=str).head(5)
    listed = workdir / "variants-only.csv"
    variants.rename(columns={"ID": "id", "Gene": "gene", "Variation": "variation"}).to_csv(
        listed, index=False
    )
    predictions, _ = api.predict(bundle, InputSpec(path=str(listed)), kb=str(kb))
    out = api.write_predictions(predictions, workdir / "predictions-variants-only.csv", bundle)
    typer.echo(f"$ oncoclass predict --model {workdir / 'model'} --input {listed} --kb {kb} --out {out}")
    top = predictions[[c for c in predictions.columns if c not in api.NOT_PROBABILITIES]]
    for i, row in predictions.iterrows():
        label = top.iloc[i].astype(float).idxmax()
        cited = ", ".join(key for key in row["evidence_ids"].split(";")[:2] if key) or "nothing"
        typer.echo(
            f"  {variants['Gene'].iloc[i]} {variants['Variation'].iloc[i]}: {label} "
            f"{float(top.iloc[i][label]):.2f}, text {row['text_source']}, cites {cited}"
        )


def render_explanation(result: dict[str, Any], *, store: bool = False) -> str:
    """The explanation as text; ``store``: a store was searched (its closest labelled items are
    listed, or that it holds none on the gene is said)."""
    lines = [
        f"{result['gene']} {result['variation']}: predicted {result['predicted']} "
        f"(model {result['model_id']}, recipe {result['recipe']})",
        "probabilities: "
        + ", ".join(
            f"{k} {v:.3f}" for k, v in sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
        ),
        f"method: {result['method']}. {result['note']}",
        f"text: {result.get('text_source', 'given')}",
    ]
    for cls in result["classes"]:
        meaning = f" ({cls['meaning']})" if cls["meaning"] else ""
        lines += [
            "",
            f"class {cls['label']}{meaning}: probability {cls['probability']:.3f}, "
            f"logit {cls['logit']:+.3f} = baseline {cls['baseline']:+.3f} + contributions",
        ]
        lines.append("  by source: " + ", ".join(f"{k} {v:+.3f}" for k, v in cls["by_source"].items()))
        for title, items in (("toward", cls["toward"]), ("against", cls["against"])):
            lines.append(f"  {title}:")
            lines += [
                f"    {c['contribution']:+.3f}  {c['phrase'] or c['feature']}  [{c['feature']}]"
                for c in items
            ] or ["    none"]
        if cls["sentences"]:
            lines.append("  strongest sentences:")
            for sentence in cls["sentences"]:
                text = sentence["text"] if len(sentence["text"]) <= 200 else sentence["text"][:197] + "..."
                lines.append(f"    {sentence['score']:+.3f}  #{sentence['index']}: {text}")
    if result.get("similar"):
        lines += ["", "closest labelled evidence in the store:"]
        for item in result["similar"]:
            where = "; ".join(x for x in (item["disease"], item["citation"], item["url"]) if x)
            lines.append(f"  [{item['label']}] {item['gene']} {item['variation']} ({item['tier']}): {where}")
    elif store:
        lines += ["", f"closest labelled evidence in the store: none on {result['gene']}"]
    return "\n".join(lines)


@app.command()
def explain(
    model: ModelDirOpt,
    gene: Annotated[str | None, typer.Option("--gene", help="Gene symbol, e.g. BRAF.")] = None,
    variation: Annotated[str | None, typer.Option("--variation", help="Protein change, e.g. V600E.")] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", help="Plain-text file with the literature.")
    ] = None,
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="Take the variant from this file (with --id).")
    ] = None,
    id: Annotated[str | None, typer.Option("--id", help="Row ID in --input.")] = None,
    disease: Annotated[str, typer.Option("--disease", help="The disease, e.g. Melanoma.")] = "",
    drugs: Annotated[str, typer.Option("--drugs", help="The drugs, e.g. Vemurafenib.")] = "",
    text: TextOpt = None,
    fmt: FormatOpt = "auto",
    classes: Annotated[
        list[str] | None, typer.Option("--class", help="Also explain this class (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="Features to list per direction.")] = 10,
    as_json: JsonOpt = False,
    kb: UseKbOpt = None,
) -> None:
    """Explain one prediction: features toward and against a class, by source, and the strongest sentences."""
    from contextlib import nullcontext

    from oncoclass.data.files import read_text
    from oncoclass.explain import explain as explain_variant
    from oncoclass.kb.store import open_store

    bundle = load_bundle(model)
    if input is not None:
        if not id:
            raise ConfigError("--input needs --id to pick the row to explain.")
        record = api.record_of(_spec(input, text, None, fmt, None), id)
    elif not gene or not variation:
        raise ConfigError("give --gene and --variation, or --input and --id.")
    else:
        body = read_text(text_file) if text_file is not None else ""
        record = {"gene": gene, "variation": variation, "text": body, "disease": disease, "drugs": drugs}
    with open_store(kb, create=False) if kb else nullcontext() as store:
        result = explain_variant(bundle, classes=classes, top=top, store=store, **record).to_dict()
    typer.echo(to_json(result) if as_json else render_explanation(result, store=kb is not None))


@app.command()
def serve(
    model: ModelDirOpt,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    max_batch: Annotated[
        int, typer.Option("--max-batch", min=1, max=100_000, help="Most variants per /predict/batch.")
    ] = 256,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1, max=1024**3, help="Largest request body in bytes.")
    ] = 2_000_000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=256, help="Server processes, each with its own model.")
    ] = 1,
    request_timeout: Annotated[
        float,
        typer.Option(
            "--request-timeout", min=0.1, max=3600, help="Seconds a client has to send a whole request."
        ),
    ] = 30.0,
    kb: UseKbOpt = None,
) -> None:
    """Serve the model over HTTP: /predict, /predict/batch, /explain, /annotate, /evidence (with --kb),
    /model, /health, a web page at /."""
    import uvicorn

    from oncoclass import service

    # Settings first: a bad key or limit stops start-up before the model is loaded.
    settings = service.ServiceSettings.from_env(
        max_batch=max_batch, max_body_bytes=max_body, request_timeout=request_timeout, kb=kb
    )
    bundle = load_bundle(model)  # checked here, so a bad folder stops start-up before any worker
    if kb:  # likewise a wrong --kb: in the workers it would fail in each, restarted without end
        from oncoclass.kb.store import open_store

        open_store(kb, create=False).close()
    # Bound before the line below: a port in use is one message, not "serving" then uvicorn's error.
    sock = service.listening_socket(host, port)
    service.configure_logging()
    err(
        f"serving model {bundle.model_id} on http://{host}:{port}/ with {workers} worker(s)"
        + (" (API key required)" if settings.api_key else "")
    )
    _notes(api.store_notes(bundle, kb))
    os.environ.update(service.worker_environment(model, settings))
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": "warning", "access_log": False,
        "http": service.DeadlineHttpToolsProtocol, "timeout_keep_alive": settings.keep_alive_timeout,
        "server_header": False,
    }  # fmt: skip
    # uvicorn serves on the bound socket (its host and port only name it in its messages).
    if workers <= 1:
        uvicorn.Server(uvicorn.Config(service.create_app(bundle, settings), **options)).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("oncoclass.service:app_from_env", factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[sock]).run()


kb_app = typer.Typer(
    no_args_is_help=True,
    help="The evidence store: import CIViC, hotspots, Kaggle and labelled tables; search; export.",
)
app.add_typer(kb_app, name="kb")


@kb_app.command("import")
def kb_import(
    paths: Annotated[list[Path], typer.Argument(help="Files to import (format detected from content).")],
    kb: KbOpt = None,
    text: TextOpt = None,
    columns: ColumnsOpt = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Name a table's source (default: table:<file name>).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import CIViC evidence, variant or gene summaries, the cancer hotspots table, Kaggle variants
    (with --text) or a labelled table. Each file is one transaction; importing it again adds nothing."""
    from oncoclass.kb.load import import_prepared, prepare
    from oncoclass.kb.store import open_store, resolve_url

    resolve_url(kb)  # a wrong --kb is refused before the files are read
    # Every file is read and checked before the store is opened: a bad one (a wrong path, a
    # truncated export) is refused with nothing written and no new store file left behind.
    prepared = [prepare(path, text=text, columns=parse_columns(columns), source=source) for path in paths]
    results = []
    with open_store(kb) as store, _Bar() as bar:
        for path, ready in zip(paths, prepared, strict=True):
            result = import_prepared(store, ready, progress=bar)
            bar.close()
            _notes(result.notes)
            results.append({"path": str(path), **asdict(result)})
            if result.already_imported:
                say(
                    f"{path}: this release of {result.source} is already in the store; nothing added", as_json
                )
            else:
                say(
                    f"{path}: {result.items} {result.source} items: {result.added} added, "
                    f"{result.updated} updated, {result.unchanged} unchanged",
                    as_json,
                )
        say(f"store: {store.shown}", as_json)
    if as_json:
        typer.echo(to_json({"store": store.shown, "imports": results}))


@kb_app.command("stats")
def kb_stats(
    kb: KbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Count the store's items by source, with the releases imported."""
    from oncoclass.kb.load import stats
    from oncoclass.kb.store import open_store

    with open_store(kb, create=False) as store:
        result = stats(store)
    if as_json:
        typer.echo(to_json(result))
        return
    typer.echo(f"{result.url}: {result.items} items on {result.genes} genes ({result.variants} variants)")
    for source in result.sources:
        typer.echo(
            f"  {source.source}: {source.items} items ({source.labelled} labelled), {source.genes} genes"
        )
        for release in source.releases:
            typer.echo(f"    release {release}")


@kb_app.command("export")
def kb_export(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="CSV, TSV, Parquet or JSONL (by name); - for CSV.")
    ],
    kb: KbOpt = None,
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed", help="Write the review queue's decisions instead, as a CIViC-style evidence table."
        ),
    ] = False,
) -> None:
    """Write every item with its provenance (`kb import` reads the file back), or with --reviewed the
    reviewed items with their label, curator and the model's proposal."""
    from oncoclass.data.tables import output_format, save_frame
    from oncoclass.kb.load import export_frame
    from oncoclass.kb.store import open_store, store_file
    from oncoclass.review.queue import reviewed_export

    check_output(out, inputs=[store_file(kb)])  # the store (or the default one) must not be replaced
    output_format(out)
    with open_store(kb, create=False) as store:
        frame = reviewed_export(store) if reviewed else export_frame(store)
    save_frame(frame, out)
    _done(f"{len(frame)} {'reviewed ' if reviewed else ''}items written to", out)


def render_hits(hits: list[Any]) -> str:
    if not hits:
        return "no evidence found"
    lines = []
    for i, hit in enumerate(hits, start=1):
        label = f" [{hit.label}]" if hit.label else ""
        lines.append(
            f"{i:>3}. {hit.tier:<8} {hit.gene} {hit.variation}{label}  ({hit.source}:{hit.source_id})"
        )
        details = "; ".join(x for x in (hit.disease, hit.drugs, hit.citation, hit.url) if x)
        if details:
            lines.append(f"     {details}")
        if hit.statement:
            statement = hit.statement if len(hit.statement) <= 300 else hit.statement[:297] + "…"
            lines.append(f"     {statement}")
    return "\n".join(lines)


@kb_app.command("search")
def kb_search(
    gene: Annotated[str, typer.Option("--gene", help="Gene symbol, e.g. BRAF.")],
    variation: Annotated[
        str, typer.Option("--variation", help="Protein change, e.g. V600E or p.Val600Glu.")
    ] = "",
    disease: Annotated[str, typer.Option("--disease", help="Rank evidence on this disease first.")] = "",
    text: Annotated[str, typer.Option("--text", help="Rank evidence by relevance to these words.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Most items to return.")] = 10,
    as_json: JsonOpt = False,
    kb: KbOpt = None,
) -> None:
    """Evidence for a variant, closest first: the same variant, residue, kind of change, then gene."""
    from oncoclass.kb.search import Query, search
    from oncoclass.kb.store import open_store

    with open_store(kb, create=False) as store:
        hits = search(store, Query(gene=gene, variation=variation, text=text, disease=disease), limit=limit)
    if as_json:
        typer.echo(to_json([hit.to_dict() for hit in hits]))
    else:
        typer.echo(render_hits(hits))


users_app = typer.Typer(
    no_args_is_help=True, help="The curation team: add members, list them, revoke tokens."
)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The member's name, as the history will show it.")],
    role: Annotated[str, typer.Option("--role", help="curator (reviews) or admin (also adds items).")],
    kb: KbOpt = None,
) -> None:
    """Add a member and print their token once: only its hash is kept, so it cannot be shown again."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.users import add_user

    with open_store(kb) as store:
        user, token = add_user(store, name, role)
    err(f"{user.role} {user.name} added; their token (shown once, keep it safe):")
    typer.echo(token)


@users_app.command("list")
def users_list(kb: KbOpt = None, as_json: JsonOpt = False) -> None:
    """List the members, their roles and whether their token still works."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.users import list_users

    with open_store(kb, create=False) as store:
        users = list_users(store)
    if as_json:
        typer.echo(to_json(users))
        return
    for user in users:
        state = "" if user["active"] else "  (revoked)"
        typer.echo(f"{user['name']:<24} {user['role']:<8} since {user['created_at']:%Y-%m-%d}{state}")


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument(help="The member whose token stops working.")],
                 kb: KbOpt = None) -> None:  # fmt: skip
    """Revoke a member's token; their decisions stay in the history."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.users import revoke_user

    with open_store(kb, create=False) as store:
        revoke_user(store, name)
    typer.echo(f"{name}'s token is revoked")


review_app = typer.Typer(
    no_args_is_help=True,
    help="The review queue: add statements with the model's proposal, refresh proposals, count decisions.",
)
app.add_typer(review_app, name="review")


@review_app.command("add")
def review_add(
    model: ModelDirOpt,
    input: InputOpt,
    kb: KbOpt = None,
    text: TextOpt = None,
    fmt: FormatOpt = "auto",
    columns: ColumnsOpt = None,
) -> None:
    """Queue new statements (any input oncoclass reads) with the model's proposal; a statement already
    queued is not queued again. Curators review them on the service's /review page."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.queue import queue_table

    spec = _spec(input, text, None, fmt, columns)
    bundle = load_bundle(model)
    table = api.load_input(spec, model=bundle.model)
    with open_store(kb) as store, _Bar() as bar:
        result = queue_table(store, bundle, table, added_by="command line", progress=bar)
    _notes(list(table.attrs.get("notes", [])) + result.notes)
    typer.echo(
        f"{result.added} item(s) queued with model {result.model_id}'s proposals "
        f"({result.already_queued} already in the queue) in {store.shown}"
    )


@review_app.command("refresh")
def review_refresh(model: ModelDirOpt, kb: KbOpt = None) -> None:
    """Give every open item this model's proposal (decided items keep the one they were decided on)."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.queue import refresh

    bundle = load_bundle(model)
    with open_store(kb, create=False) as store, _Bar() as bar:
        count = refresh(store, bundle, progress=bar)
    typer.echo(f"{count} open item(s) now carry model {bundle.model_id}'s proposal")


@review_app.command("order")
def review_order(
    order: Annotated[
        str | None,
        typer.Argument(help="uncertain, margin, date or gene; leave out to print the current one."),
    ] = None,
    kb: KbOpt = None,
) -> None:
    """Choose how the team's queue picks the next item (a curator may still ask for another)."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.queue import set_team_order, team_order

    with open_store(kb, create=order is not None) as store:
        chosen = set_team_order(store, order) if order is not None else team_order(store)
    typer.echo(f"the queue's order: {chosen}")


@review_app.command("stats")
def review_stats_command(
    kb: KbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pending and reviewed items, how often curators kept the model's proposal, decisions per curator."""
    from oncoclass.kb.store import open_store
    from oncoclass.review.queue import review_stats

    with open_store(kb, create=False) as store:
        stats = review_stats(store)
    if as_json:
        typer.echo(to_json(stats))
        return
    agreement = "n/a" if stats.agreement is None else f"{stats.agreement:.0%}"
    typer.echo(
        f"{stats.pending} pending, {stats.reviewed} reviewed, {stats.decisions} decisions; "
        f"curators kept the model's proposal in {agreement} of accepts and corrections"
    )
    for person in stats.by_curator:
        typer.echo(
            f"  {person['curator']}: {person['decisions']} decisions ({person['accept']} accepted, "
            f"{person['correct']} corrected, {person['skip']} skipped, {person['comment']} comments)"
        )


@functools.cache
def command() -> Any:
    """The click command Typer builds from ``app``, with flags shown as flags: Typer's help writes
    a flag's type (``<bool>``) beside it, which reads as if the flag took a value."""
    built = typer.main.get_command(app)
    _flags_without_type(built)
    _refuse_repeats(built)
    return built


def _refuse_repeats(cmd: Any) -> None:
    """Make every single-valued option of ``cmd`` and its subcommands refuse being given twice:
    click keeps the last value without a word, which silently drops the first (``-i a.csv -i
    b.csv`` predicted only b.csv). Options declared ``multiple`` collect every value and flags
    hold no value, so neither is touched."""
    build = cmd.make_parser

    def make_parser(ctx: Any) -> Any:
        parser = build(ctx)
        if not ctx.resilient_parsing:  # shell completion parses half-typed lines; let it be
            options = {id(o): o for o in [*parser._long_opt.values(), *parser._short_opt.values()]}
            for option in options.values():
                if option.action == "store":
                    option.process = _once(option, ctx)
        return parser

    cmd.make_parser = make_parser
    for sub in getattr(cmd, "commands", {}).values():
        _refuse_repeats(sub)


def _once(option: Any, ctx: Any) -> Any:
    """``option``'s parser step, refusing a second value for it."""
    store = option.process

    def process(value: Any, state: Any) -> None:
        if option.dest in state.opts:
            name = (option._long_opts or option._short_opts)[0]
            given = ", ".join(_shown(v) for v in (state.opts[option.dest], value))
            raise _click_errors().UsageError(f"{name} was given twice ({given}): give it once", ctx)
        store(value, state)

    return process


def _shown(value: Any) -> str:
    """An option's value as the one line of an error shows it (a tuple for an option of several
    values; a line break would split the line)."""
    text = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
    return shortened(text.replace("\n", "\\n").replace("\r", "\\r"), 200)


def _flags_without_type(cmd: Any) -> None:
    context = cmd.make_context("oncoclass", [], resilient_parsing=True)
    for param in [*cmd.params, cmd.get_help_option(context)]:
        if param is not None and getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(cmd, "commands", {}).values():
        _flags_without_type(sub)


#: Which option sets each library field, where the name differs by command ("" for any other).
FLAGS: dict[str, dict[str, str]] = {
    "folds": {"train": "--cv", "": "--folds"},
    "group_by": {"": "--group-by"},
    "recipes": {"": "--model"},
    "columns": {"": "--columns"},
    "on_bad_rows": {"": "--on-bad-rows"},
    "coverage": {"": "--coverage"},
    "params": {"": "--set"},
    "source": {"": "--source"},
    # Outputs (OutputError.field): evaluate writes only its --report.
    "out": {"evaluate": "--report", "": "--out"},
    "report": {"": "--report"},
    "rejects": {"": "--rejects"},
    "workdir": {"": "--workdir"},
    "host": {"": "--host"},
    "port": {"": "--port"},
}


def _flag(exc: OncoclassError, argv: list[str]) -> str:
    """The option an error's field (a ConfigError's, an OutputError's) is set by in the command
    that ran (library errors name fields; the command line speaks of its flags)."""
    field = getattr(exc, "field", None)
    if not field or field not in FLAGS:
        return ""
    name = next((a for a in argv if not a.startswith("-")), "")
    return FLAGS[field].get(name) or FLAGS[field].get("", "")


def _click_errors() -> Any:
    """The exceptions module of the click that Typer runs on (a copy inside Typer since 0.25)."""
    try:
        from typer._click import exceptions
    except ImportError:  # an older Typer, on click itself
        from click import exceptions
    return exceptions


def _usage_line(exc: Any) -> str:
    """A refusal of the command line itself (a value out of an option's range, a missing or
    unknown option), as one line like every other error: the option, what is wrong, where the
    help is."""
    errors = _click_errors()
    param = getattr(exc, "param", None)
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or getattr(param, "opts", [])
    # A bad value names its option first, as the library's errors are named at this edge; a
    # missing option's own message already names it.
    named = isinstance(exc, errors.BadParameter) and not isinstance(exc, errors.MissingParameter)
    message = exc.message if named and opts and exc.message else exc.format_message()
    where = f"{opts[0]}: " if named and opts and exc.message else ""
    ctx = getattr(exc, "ctx", None)
    stop = "" if message.rstrip().endswith((".", "!", "?")) else "."
    see = f" See `{ctx.command_path} --help`." if ctx is not None else ""
    return f"error: {where}{message}{stop}{see}"


def run(argv: list[str] | None = None) -> int:
    """Run one command (``argv`` without the program name; None: ``sys.argv``) and return its exit
    status: 0 done, 1 internal error, 2 user error (bad input, option or model), 130 interrupted,
    143 terminated. Tests drive the CLI in-process through this."""
    warnings.filterwarnings("ignore", category=UserWarning)
    STATE["debug"] = False
    try:
        from tqdm.contrib.logging import logging_redirect_tqdm

        # Log lines print above a running bar instead of through it.
        # Ctrl-C and SIGTERM unwind as SystemExit(130 / 143), so no temporary output is left.
        # Not standalone: a usage error comes here, to be said in one line as every other error.
        with logging_redirect_tqdm(), cleanup_on_signals():
            code = command().main(args=argv, prog_name="oncoclass", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except _click_errors().NoArgsIsHelpError as exc:  # the help is already shown
        return exc.exit_code
    except _click_errors().ClickException as exc:
        err(_usage_line(exc))
        return exc.exit_code
    except SystemExit as exc:  # Typer's own exit (0 done, 2 usage error) or a signal's
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc, Interrupted):
            err("interrupted; no output was left half-written.")
        return code
    except OncoclassError as exc:
        if STATE["debug"]:
            traceback.print_exc()
        flag = _flag(exc, argv if argv is not None else sys.argv[1:])
        err(f"error: {flag + ': ' if flag else ''}{exc.render()}")
        return exc.exit_code
    except Exception as exc:
        if STATE["debug"]:
            traceback.print_exc()
        err(
            f"internal error: {type(exc).__name__}: {shortened(str(exc))} (rerun as `oncoclass --debug "
            "COMMAND …` for a traceback)"
        )
        return 1
    return 0


def main() -> None:
    sys.exit(run())
