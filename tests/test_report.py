"""The HTML report: every section and every image present, non-empty, and nothing from the network."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oncoclass import api
from oncoclass.config import EvaluateConfig, InputSpec
from oncoclass.persist import load_bundle


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.anchors: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._in = tag
            self.headings.append("")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "a":  # a citation's link loads nothing; the reader follows it or not
            self.anchors.append(str(values.get("href")))
            return
        for key in ("href", "src"):
            if values.get(key) and not str(values[key]).startswith("data:"):
                self.links.append(str(values[key]))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.headings[-1] += data


def check_report(path: Path, recipes: list[str]) -> _Page:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    for heading in ("Data", "Scores", "Settings", *recipes):
        assert heading in page.headings, heading
    assert page.headings.count("Per class") == len(recipes)
    assert page.headings.count("Most confidently wrong") == len(recipes)
    assert page.headings.count("Coverage and accuracy by threshold") == len(recipes)
    # class counts, reliability, per recipe one confusion matrix and the coverage–accuracy curve,
    # a comparison when several
    expected = 2 + 2 * len(recipes) + (1 if len(recipes) > 1 else 0)
    assert len(page.images) == expected
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert page.links == []  # self-contained: no external scripts, styles or images
    assert all(a.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/")) for a in page.anchors)
    assert "prior (class prior baseline)" in text
    return page


def test_cv_report_on_a_synthetic_corpus(tmp_path, synth_files) -> None:
    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    report = api.evaluate(EvaluateConfig(input=spec, recipes=("lr", "nb"), folds=3))
    out = api.write_report(report, tmp_path / "report.html", title="synthetic")
    check_report(out, ["lr", "nb"])
    assert "Likely Loss-of-function" in out.read_text()


def test_holdout_report_for_a_trained_model(tmp_path, lr_model, synth_files) -> None:
    bundle = load_bundle(lr_model)
    spec = InputSpec(
        path=str(synth_files["test_variants"]), text=str(synth_files["test_text"]),
        labels=str(synth_files["test_solution"]),
    )  # fmt: skip
    report = api.holdout(bundle, spec)
    out = api.write_report(report, tmp_path / "holdout.html", title="held out")
    check_report(out, [bundle.model_id])


def test_report_from_real_kaggle_labels(tmp_path, kaggle_dir) -> None:
    spec = InputSpec(path=str(kaggle_dir / "training_variants"))
    report = api.evaluate(EvaluateConfig(input=spec, recipes=("lr", "nb"), folds=3))
    out = api.write_report(report, tmp_path / "kaggle.html", title="Kaggle")
    check_report(out, ["lr", "nb"])
    assert re.search(r"<td>3321</td>", out.read_text())


def test_report_from_real_civic(tmp_path, civic_file) -> None:
    spec = InputSpec(path=str(civic_file))
    report = api.evaluate(EvaluateConfig(input=spec, recipes=("nb",), folds=3, group_by="citation"))
    out = api.write_report(report, tmp_path / "civic.html", title="CIViC")
    page = check_report(out, ["nb"])
    text = out.read_text()
    assert "Predictive: Sensitivity/Response" in text
    assert "tumours with the variant resist" in text  # CIViC labels carry their meanings
    assert any(a.startswith("https://pubmed.ncbi.nlm.nih.gov/") for a in page.anchors)  # cited, linked


def test_holdout_needs_labels(lr_model, synth_files) -> None:
    from oncoclass.errors import InputError

    spec = InputSpec(path=str(synth_files["test_variants"]), text=str(synth_files["test_text"]))
    with pytest.raises(InputError, match="no labels"):
        api.holdout(load_bundle(lr_model), spec)


def test_report_leaves_out_labels_the_model_never_saw_when_asked(lr_model, tmp_path) -> None:
    from oncoclass.api import holdout
    from oncoclass.config import InputSpec
    from oncoclass.errors import InputError
    from oncoclass.persist import load_bundle

    path = tmp_path / "held.csv"
    path.write_text("id,gene,variation,text,label\n1,BRAF,V600E,,7\n2,TP53,R175H,,4\n3,KRAS,G12D,,benign\n")
    bundle = load_bundle(lr_model)
    with pytest.raises(InputError, match="--skip-unknown-labels"):
        holdout(bundle, InputSpec(path=str(path)))
    result = holdout(bundle, InputSpec(path=str(path)), skip_unknown_labels=True)
    assert result["data"]["rows"] == 2
    assert any("were left out (benign)" in note for note in result["data"]["notes"])


def test_report_flags_never_predicted_classes_folds_rare_ones_and_links_citations() -> None:
    """A class no row was predicted as is flagged; classes under 1 % both ways fold into "other";
    a PubMed ID becomes a link and other citations stay plain text; settings are not a repr."""
    from oncoclass.report import _readable, citation_link, fold_rare

    counts = [[300, 2, 0, 0], [10, 280, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    folded, names = fold_rare(counts, ["a", "b", "c", "d"])
    assert names == ["a", "b", "other (2 classes under 1 %)"]
    assert folded.sum() == sum(map(sum, counts)) and folded[2].tolist() == [1, 1, 0]
    assert citation_link("12345").url == "https://pubmed.ncbi.nlm.nih.gov/12345/"
    assert citation_link("doi:10.1/x").url == "https://doi.org/10.1/x"
    assert citation_link("ASCO 2017 abstract").url == ""
    assert _readable({"input": {"path": "x.csv", "text": None}, "folds": 5}) == "input: path: x.csv; folds: 5"


def test_a_report_named_as_anything_but_html_is_refused_before_any_work(
    cli, tmp_path: Path, lr_model, synth_files
) -> None:
    variants = synth_files["training_variants"]
    refused = cli(["evaluate", "--input", variants, "--folds", "2", "--report", tmp_path / "r.pdf"])
    assert refused.returncode == 2 and refused.stderr.startswith("error: --report: "), refused.stderr
    assert "cannot write a .pdf file here" in refused.stderr and ".html or .htm" in refused.stderr
    refused = cli(["report", "--model", lr_model, "--input", variants, "--out", tmp_path / "r.png"])
    assert refused.returncode == 2 and refused.stderr.startswith("error: --out: "), refused.stderr
    # A name without an ending was said to be "a .gz file".
    refused = cli(["report", "--model", lr_model, "--input", variants, "--out", tmp_path / "report"])
    assert "cannot write a file without an ending here" in refused.stderr, refused.stderr
    assert list(tmp_path.iterdir()) == []
