"""One self-contained HTML evaluation report: tables, and plots embedded as PNG data URIs.

Input is the dictionary :func:`oncoclass.api.evaluate` (cross-validation) or
:func:`oncoclass.api.holdout` (a trained model on a labelled file) returns, so the report shows
exactly the figures the JSON and the terminal show. Nothing in the page loads from the network.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from oncoclass.data.vocab import named
from oncoclass.evaluate import reliability

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1150px; padding: 1rem 1.5rem 3rem; color: #1d2430; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #dde3ea; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d5dbe3; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef2f7; }
tr.baseline td { color: #5a6472; font-style: italic; }
tr.never td { background: #fdf1e7; }
td:nth-last-child(2) { max-width: 28rem; text-align: left; }
.meta { color: #55606e; }
.grid { display: flex; flex-wrap: wrap; gap: 0.6rem; }
.grid figure { margin: 0; }
img { max-width: 100%; height: auto; }
figcaption { color: #55606e; font-size: 0.85rem; }
code { background: #f2f4f7; padding: 0 0.2rem; }
"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(src: str, caption: str, alt: str) -> str:
    return (
        f'<figure><img src="{src}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _names(labels: list[str], label_names: dict[str, str]) -> list[str]:
    return [named(lab, label_names) for lab in labels]


def _short(names: list[str], width: int = 28) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "…" for n in names]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def class_counts_chart(counts: dict[str, int], label_names: dict[str, str]) -> str:
    plt = _plt()
    labels = list(counts)
    names = _short(_names(labels, label_names))
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.2))
    values = [counts[lab] for lab in labels]
    ax.barh(range(len(labels)), values, color="#4a78b0")
    ax.set_yticks(range(len(labels)), names)
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v}", va="center", fontsize=9)
    ax.set_xlabel("rows")
    ax.set_title("Rows per class")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def fold_rare(
    counts: list[list[int]], labels: list[str], min_share: float = 0.01
) -> tuple[np.ndarray, list[str]]:
    """The confusion counts with the classes that are under ``min_share`` of the rows both as the
    true and as the predicted class folded into one "other" row and column (when two or more
    are), so a 19-class matrix shows the classes that matter; nothing is dropped from the sums."""
    data = np.asarray(counts, dtype=float)
    total = data.sum()
    rare = (data.sum(axis=1) < min_share * total) & (data.sum(axis=0) < min_share * total)
    if rare.sum() < 2:
        return data, list(labels)
    keep = np.flatnonzero(~rare)
    groups = [*([i] for i in keep), list(np.flatnonzero(rare))]
    folded = np.array([[data[np.ix_(a, b)].sum() for b in groups] for a in groups])
    return folded, [labels[i] for i in keep] + [f"other ({int(rare.sum())} classes under 1 %)"]


def confusion_chart(counts: list[list[int]], labels: list[str]) -> str:
    """One confusion matrix: the counts written in each cell, the shading by the share of the
    true class's rows (row-normalised), so a small class's errors show as clearly as a large one's."""
    plt = _plt()
    data, labels = fold_rare(counts, labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.nan_to_num(data / data.sum(axis=1, keepdims=True))
    n = len(labels)
    size = max(4.5, 0.55 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = _short(labels, 40)
    ax.set_xticks(range(n), ticks, rotation=45 if n > 6 or max(map(len, ticks)) > 3 else 0, ha="right")
    ax.set_yticks(range(n), ticks)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix: counts, shaded by share of the true class")
    fontsize = 9 if n <= 12 else 6
    for i in range(n):
        for j in range(n):
            if data[i, j]:
                colour = "white" if shares[i, j] > 0.5 else "#1d2430"
                ax.text(j, i, f"{int(data[i, j])}", ha="center", va="center", color=colour, fontsize=fontsize)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class's rows")
    return _png(fig)


def coverage_accuracy_chart(curves: dict[str, list[dict[str, float]]]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    for name, curve in curves.items():
        points = [(c["kept"], c["accuracy"]) for c in curve if c["rows"]]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        for c in curve:
            if c["rows"] and c["threshold"] in (0.5, 0.8, 0.9):
                ax.annotate(
                    f"≥{c['threshold']:g}",
                    (c["kept"], c["accuracy"]),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(4, -10),
                )
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of rows kept (top probability at or above the threshold)")
    ax.set_ylabel("accuracy of the rows kept")
    ax.set_title("Coverage against accuracy")
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def reliability_chart(curves: dict[str, dict[str, list[float]]], rows: int) -> str:
    """Each recipe's reliability curve, each point labelled with how many rows its bin holds (a
    point resting on three rows says little)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888", label="perfectly calibrated")
    for name, curve in curves.items():
        (line,) = ax.plot(curve["confidence"], curve["accuracy"], marker="o", label=name)
        for x, y, share in zip(curve["confidence"], curve["accuracy"], curve["share"], strict=True):
            ax.annotate(f"{round(share * rows)}", (x, y), fontsize=6, color=line.get_color(),
                        textcoords="offset points", xytext=(3, 3))  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability of the top class")
    ax.set_ylabel("share of rows where the top class is right")
    ax.set_title("Reliability (top label, 10 bins)")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def comparison_chart(results: dict[str, dict[str, Any]]) -> str:
    plt = _plt()
    names = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(12, 0.4 * len(names) + 1.6), sharey=True)
    for ax, (key, title) in zip(
        axes,
        (("log_loss", "log loss (lower is better)"), ("accuracy", "accuracy"), ("ece", "ECE")),
        strict=True,
    ):
        values = [results[n][key] for n in names]
        colours = ["#9aa5b1" if n == "prior" else "#4a78b0" for n in names]
        ax.barh(range(len(names)), values, color=colours)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    return _png(fig)


class _Link(str):
    """A table cell that links to ``url`` (the text is escaped like any other cell)."""

    url: str

    def __new__(cls, text: str, url: str) -> _Link:
        cell = super().__new__(cls, text)
        cell.url = url
        return cell


def _cell(value: Any) -> str:
    if isinstance(value, _Link) and value.url:
        return f'<a href="{html.escape(value.url)}" rel="noreferrer">{html.escape(str(value))}</a>'
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _readable(value: Any) -> str:
    """A setting's value for a person: nested settings as ``key: value`` pairs, lists joined,
    nothing as a dash (not a Python repr)."""
    if isinstance(value, dict):
        return (
            "; ".join(f"{k}: {_readable(v)}" for k, v in value.items() if v not in (None, "", [], {})) or "—"
        )
    if isinstance(value, list | tuple):
        return ", ".join(map(_readable, value)) or "—"
    return "—" if value is None or value == "" else str(value)


def _param_items(params: Any) -> list[tuple[str, Any]]:
    return list(params.items()) if isinstance(params, dict) else [("parameters", params)]


def citation_link(citation: str) -> _Link:
    """A citation as a link: a bare number or ``PMID:n`` is a PubMed ID, ``doi:…`` a DOI; other
    citations are shown without a link rather than guessed at."""
    text = citation.strip()
    bare = text.removeprefix("PMID:").removeprefix("pmid:").strip()
    if bare.isdigit():
        return _Link(text, f"https://pubmed.ncbi.nlm.nih.gov/{bare}/")
    if text.lower().startswith("doi:"):
        return _Link(text, "https://doi.org/" + text[4:].strip())
    return _Link(text, "")


def confidently_wrong(
    report: dict[str, Any], name: str, label_names: dict[str, str], limit: int = 20
) -> list[list[Any]]:
    proba = np.asarray(report["oof"][name], dtype=float)
    labels = report["data"]["labels"]
    rows = report["rows"]
    truth = np.asarray(rows["label"], dtype=object)
    predicted = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    wrong = np.flatnonzero(predicted != truth)
    order = wrong[np.argsort(-proba[wrong].max(axis=1))][:limit]
    index = {lab: i for i, lab in enumerate(labels)}

    excerpts = rows.get("excerpt") or [""] * len(truth)
    citations = rows.get("citation") or [""] * len(truth)
    return [
        [
            str(report["ids"][i]),
            rows["gene"][i],
            rows["variation"][i],
            named(str(truth[i]), label_names),
            named(str(predicted[i]), label_names),
            f"{proba[i].max():.3f}",
            f"{proba[i, index[truth[i]]]:.3f}",
            excerpts[i],
            citation_link(citations[i]),
        ]
        for i in order
    ]


def render(report: Mapping[str, Any], *, title: str = "oncoclass evaluation") -> str:
    """The whole report as one HTML string."""
    data = report["data"]
    labels = data["labels"]
    label_names = data.get("label_names") or {}
    results = report["results"]
    recipes = [n for n in results if n != "prior"]
    settings = report.get("settings", {})
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts.append(
        f'<p class="meta">{html.escape(report.get("kind", "cross-validation"))} on '
        f"<code>{html.escape(str(data['source']))}</code> · "
        f"data hash <code>{data['data_hash'][:16]}</code> · "
        f"oncoclass {html.escape(str(report.get('oncoclass_version', '?')))}</p>"
    )
    # Data
    parts.append("<h2>Data</h2>")
    parts.append(
        _table(
            ["rows", "classes", "genes", "variations", "rows without text"],
            [
                [
                    data["rows"],
                    len(labels),
                    data["genes"],
                    data["variations"],
                    f"{data['rows_without_text_pct']:.1f} %",
                ]
            ],
        )
    )
    parts.append(
        _figure(class_counts_chart(data["label_counts"], label_names), "Rows per class.", "class counts")
    )
    if data.get("notes"):
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in data["notes"]) + "</ul>")
    # Scores
    parts.append("<h2>Scores</h2>")
    header = ["recipe", "log loss", "accuracy", "macro-F1", "misclassified %", "ECE", "seconds"]
    sets = any("set_coverage" in m for m in results.values())
    if sets:  # conformal sets of labels at 90 %: how often they hold the true label, and their size
        header[-1:-1] = ["90 % sets hold the label", "labels per set"]
    rows, classes = [], []
    for name, m in results.items():
        cells = [
            name + (" (class prior baseline)" if name == "prior" else ""),
            f"{m['log_loss']:.4f}",
            f"{m['accuracy']:.4f}",
            f"{m['macro_f1']:.4f}",
            f"{m['misclassified_pct']:.1f}",
            f"{m['ece']:.4f}",
        ]
        if sets:
            cells += [f"{m['set_coverage']:.1%}", f"{m['set_size']:.2f}"] if "set_coverage" in m else ["", ""]
        rows.append([*cells, "" if "seconds" not in m else f"{m['seconds']:.1f}"])
        classes.append("baseline" if name == "prior" else "")
    parts.append(_table(header, rows, classes))
    if len(recipes) > 1:
        parts.append(_figure(comparison_chart(results), "Recipes beside the class prior.", "comparison"))
    curves = {name: reliability(report["rows"]["label"], report["oof"][name], labels) for name in recipes}
    parts.append(
        _figure(
            reliability_chart(curves, len(report["rows"]["label"])),
            "Top-label reliability: for rows binned by the probability of their top class, the share "
            "where that class is right; beside each point, the rows in its bin. Points on the diagonal "
            "are calibrated.",
            "reliability diagram",
        )
    )
    # Per recipe
    ticks = _names(labels, label_names)
    for name in recipes:
        m = results[name]
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append('<div class="grid">')
        parts.append(
            _figure(
                confusion_chart(m["confusion"], ticks),
                "Each cell's count of rows; the shading is the share of the true class's rows (each row of "
                "the matrix sums to 1), so errors on a small class show. Classes under 1 % of the rows, "
                "both as the true and as the predicted class, are folded into one.",
                "confusion matrix",
            )
        )
        if m.get("coverage_accuracy"):
            parts.append(
                _figure(
                    coverage_accuracy_chart({name: m["coverage_accuracy"]}),
                    "Keep only the predictions whose top probability reaches a threshold: the share of rows "
                    "kept and how accurate they are. How a team decides what to accept without review.",
                    "coverage against accuracy",
                )
            )
        parts.append("</div>")
        if m.get("coverage_accuracy"):
            parts.append("<h3>Coverage and accuracy by threshold</h3>")
            parts.append(
                _table(
                    ["top probability at least", "rows kept", "share kept", "accuracy of those"],
                    [
                        [
                            f"{c['threshold']:g}",
                            str(c["rows"]),
                            f"{c['kept']:.1%}",
                            "" if not c["rows"] else f"{c['accuracy']:.1%}",
                        ]
                        for c in m["coverage_accuracy"]
                    ],
                )
            )
        per_class = [
            [
                n,
                f"{m['per_class'][lab]['precision']:.3f}",
                f"{m['per_class'][lab]['recall']:.3f}",
                f"{m['per_class'][lab]['f1']:.3f}",
                m["per_class"][lab]["support"],
                *([label_names.get(lab, "")] if label_names else []),
            ]
            for lab, n in zip(labels, ticks, strict=True)
        ]
        # A class the model never predicts cannot be right about: flagged, since macro-F1 alone
        # hides which class it is.
        predicted = np.asarray(m["confusion"], dtype=float).sum(axis=0)
        never = [lab for lab, count in zip(labels, predicted, strict=True) if not count]
        parts.append("<h3>Per class</h3>")
        if never:
            parts.append(
                f"<p class='meta'><strong>Never predicted ({len(never)}):</strong> "
                f"{html.escape(', '.join(never))}. No row was given these as its top class.</p>"
            )
        for row, count in zip(per_class, predicted, strict=True):
            row.insert(5, str(int(count)) + ("" if count else " (never)"))
        head = ["class", "precision", "recall", "F1", "support", "predicted",
                *(["meaning"] if label_names else [])]  # fmt: skip
        flagged = ["never" if not count else "" for count in predicted]
        parts.append(_table(head, per_class, flagged))
        parts.append("<h3>Most confidently wrong</h3>")
        parts.append(
            "<p class='meta'>Rows the model got wrong with the highest confidence: worth a curator's look, "
            "as some may be label errors.</p>"
        )
        parts.append(
            _table(
                [
                    "id",
                    "gene",
                    "variation",
                    "true class",
                    "predicted",
                    "p(predicted)",
                    "p(true)",
                    "statement (opening)",
                    "citation",
                ],
                confidently_wrong(report, name, label_names),
            )
        )
    # Settings
    parts.append("<h2>Settings</h2>")
    setting_rows = [[k, _readable(v)] for k, v in settings.items()]
    parts.append(_table(["setting", "value"], setting_rows))
    for name, params in report.get("recipe_params", {}).items():
        parts.append(f"<h3>Recipe {html.escape(name)}: parameters</h3>")
        parts.append(_table(["parameter", "value"], [[k, _readable(v)] for k, v in _param_items(params)]))
    body = "\n".join(parts)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
