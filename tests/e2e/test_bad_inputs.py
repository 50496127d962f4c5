"""Every bad input a user can hand the CLI, and the one-line message it gets.

Each case runs the CLI in-process (``cli`` fixture: the same code as the executable, without a
new process per case) and checks: exit status 2, one line on stderr naming the problem, no
traceback, and no output file left behind. The real executable runs where a process matters:
standard input, pipes, standard output, and one refusal (``test_the_executable_refuses_too``).

| input | command | message |
|---|---|---|
| empty file | train | the file is empty |
| header only | train | holds no data rows |
| missing columns | train | missing column(s) variation |
| duplicate IDs | train | row 3: duplicate id '0' |
| text IDs not in the variants | train | text ID(s) have no variant |
| variant IDs without text | train | variant ID(s) have no text |
| `||` missing | train | row 3: no '||' |
| `||` doubled | train | row 3: a doubled '||' |
| non-UTF-8 bytes | train | row 3: byte 49 is not valid UTF-8 |
| binary file named .csv | train | looks like a binary file |
| a table cut short (a short last row, no line break) | train | row 3: the last row has 3 of … 4 fields |
| class outside Kaggle's 1-9 | train | Class '12' is not one of Kaggle's classes |
| one label only | train | every labelled row has the same label |
| zip with two members | train | the archive holds 2 files |
| zip with no member | train | the archive holds no file |
| truncated zip | train | not a readable zip archive |
| corrupt 7z | train | the 7z archive is truncated or corrupt |
| zip bomb | train | looks like a zip bomb |
| symlink member in a zip | train | missing column(s) (the link is read as text, never followed) |
| unknown recipe | train | unknown recipe 'nope' |
| missing model folder | predict | model folder … does not exist |
| model from another format version | predict | was written in model format 0 |
| altered model file | predict | does not match the checksum |
| model file naming an untrusted function (checksum recomputed) | predict, serve | does not trust |
| unsigned model while ONCOCLASS_MODEL_KEY is set | predict | is not signed |
| --out is the input | predict | is also an input |
| --out is a folder | predict | is a folder |
| --out is /dev/stdout (a link) or /dev/null (a device) | predict | symbolic link / device |
| --out of train is an existing file | train | is not a folder |
| /dev/zero (a device) as input | train | is a device or socket |
| unlabelled file for training | train | has no labels |
| no rows for --id | explain | no row has id '99' |
| a 100 MB single document | train | row 3: a line of more than 10,000,000 characters |
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("oncoclass"))
HEADER = "ID,Gene,Variation,Class\n"
VARIANTS = HEADER + "0,BRAF,V600E,7\n1,TP53,R175H,4\n2,KRAS,G12D,7\n"


def _write(name: str, data: str | bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        path = tmp / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return ["train", "-i", str(path), "-o", str(tmp / "out")]

    return make


def _with_text(text: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "variants").write_text(VARIANTS)
        (tmp / "text").write_text("ID,Text\n" + text)
        return ["train", "-i", str(tmp / "variants"), "--text", str(tmp / "text"), "-o", str(tmp / "out")]

    return make


def _zip(members: dict[str, bytes], *, symlink: bool = False) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        path = tmp / "input.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                if symlink:
                    info.external_attr = 0o120777 << 16
                archive.writestr(info, data)
        return ["train", "-i", str(path), "-o", str(tmp / "out")]

    return make


def _truncated_zip(tmp: Path) -> list[str]:
    _zip({"v.csv": VARIANTS.encode() * 50})(tmp)
    data = (tmp / "input.zip").read_bytes()
    (tmp / "input.zip").write_bytes(data[: len(data) // 2])
    return ["train", "-i", str(tmp / "input.zip"), "-o", str(tmp / "out")]


def _predict_with(model: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "variants").write_text(VARIANTS)
        return ["predict", "-m", model.format(tmp=tmp), "-i", str(tmp / "variants"), "-o", str(tmp / "out")]

    return make


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "empty file": (_write("empty.csv", ""), "the file is empty"),
    "header only": (_write("header.csv", "id,gene,variation,label\n"), "holds no data rows"),
    "missing columns": (_write("cols.csv", "id,gene\n1,BRAF\n"), "missing column(s) variation"),
    "duplicate IDs": (_write("dup", HEADER + "0,BRAF,V600E,7\n0,TP53,R175H,4\n"), "row 3: duplicate id '0'"),
    "text IDs not in the variants": (_with_text("0||a\n1||b\n2||c\n3||d\n"), "text ID(s) have no variant"),
    "variant IDs without text": (_with_text("0||a\n1||b\n"), "variant ID(s) have no text"),
    "|| missing": (_with_text("0||a\n1 b\n2||c\n"), "row 3: no '||'"),
    "|| doubled": (_with_text("0||a\n1||||b\n2||c\n"), "row 3: a doubled '||'"),
    "non-UTF-8 bytes": (_write("latin1", (HEADER + "0,BRAF,V600E,7\n1,TP53,R17\xff5H,4\n").encode("latin-1")),
                        "row 3: byte 49 is not valid UTF-8"),
    "binary file named .csv": (_write("binary.csv", bytes(range(256)) * 20), "looks like a binary file"),
    "table cut short": (_write("cut.csv", "id,gene,variation,label\n1,BRAF,V600E,a\n2,TP53,R17"),
                        "row 3: the last row has 3 of the header's 4 fields"),
    "class outside 1-9": (_write("badclass", HEADER + "0,BRAF,V600E,7\n1,TP53,R175H,12\n"),
                          "Class '12' is not one of Kaggle's classes"),
    "one label only": (_write("one", HEADER + "0,BRAF,V600E,7\n1,TP53,R175H,7\n"), "the same label"),
    "zip with two members": (_zip({"a.csv": b"x", "b.csv": b"y"}), "the archive holds 2 files"),
    "zip with no member": (_zip({"folder/": b""}), "the archive holds no file"),
    "truncated zip": (_truncated_zip, "not a readable zip archive"),
    "corrupt 7z": (_write("bad.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"garbage" * 50),
                   "7z archive is truncated or corrupt"),
    "zip bomb": (_zip({"v.csv": HEADER.encode() + b"0" * 30_000_000}), "looks like a zip bomb"),
    "symlink member": (_zip({"link.csv": b"/etc/passwd"}, symlink=True), "missing column(s)"),
    "unknown recipe": (lambda tmp: [*_write("v", VARIANTS)(tmp), "-m", "nope"], "unknown recipe 'nope'"),
    "unlabelled training file": (_write("nolabel.csv", "id,gene,variation\n1,BRAF,V600E\n"), "has no labels"),
    "missing model folder": (_predict_with("{tmp}/nowhere"), "does not exist"),
    "a device as input": (lambda tmp: ["train", "-i", "/dev/zero", "-o", str(tmp / "out")], "is a device"),
}  # fmt: skip


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The real executable: kept for the cases where a process matters (pipes, start-up)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=600, env=env)


def _check_refused(result: subprocess.CompletedProcess[str], message: str, tmp: Path) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp / "out").exists()
    assert not [p for p in tmp.iterdir() if p.name.startswith(".out")]  # no temporary left either


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_with_one_line(tmp_path: Path, case: str, cli) -> None:
    make, message = CASES[case]
    _check_refused(cli(make(tmp_path)), message, tmp_path)


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory, lr_model) -> Callable[[], Path]:
    import shutil

    def copy() -> Path:
        target = tmp_path_factory.mktemp("model") / "m"
        shutil.copytree(lr_model, target)
        return target

    return copy


def test_model_from_another_format_version(tmp_path: Path, model_copy, cli) -> None:
    model = model_copy()
    meta = json.loads((model / "metadata.json").read_text())
    meta["format_version"] = 0
    (model / "metadata.json").write_text(json.dumps(meta))
    _check_refused(cli(_predict_with(str(model))(tmp_path)), "was written in model format 0", tmp_path)


def test_altered_model_file(tmp_path: Path, model_copy, cli) -> None:
    model = model_copy()
    with (model / "model.skops").open("ab") as handle:
        handle.write(b"tampered")
    _check_refused(cli(_predict_with(str(model))(tmp_path)), "does not match the checksum", tmp_path)


def _inject_function(model: Path, module: str, name: str) -> None:
    """Point the model's text preprocessor at another function and recompute the checksum, as an
    attacker with write access to the folder would."""
    import hashlib

    with zipfile.ZipFile(model / "model.skops") as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    schema = members["schema.json"].decode()
    assert '"clean_text"' in schema
    members["schema.json"] = (
        schema.replace('"oncoclass.features.text"', json.dumps(module)).replace(
            '"clean_text"', json.dumps(name)
        )
    ).encode()
    with zipfile.ZipFile(model / "model.skops", "w") as dst:
        for member, data in members.items():
            dst.writestr(member, data)
    meta = json.loads((model / "metadata.json").read_text())
    meta["model_sha256"] = hashlib.sha256((model / "model.skops").read_bytes()).hexdigest()
    (model / "metadata.json").write_text(json.dumps(meta))


def test_model_naming_an_untrusted_function_is_refused_by_predict_and_serve(
    tmp_path: Path, model_copy, cli
) -> None:
    model = model_copy()
    _inject_function(model, "numpy.testing._private.utils", "runstring")
    _check_refused(cli(_predict_with(str(model))(tmp_path)), "does not trust", tmp_path)
    served = cli(["serve", "-m", str(model), "--port", "1"])
    assert served.returncode == 2 and "does not trust" in served.stderr, served.stderr


def test_unsigned_model_is_refused_when_a_key_is_set(tmp_path: Path, model_copy, monkeypatch, cli) -> None:
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "team secret")
    _check_refused(cli(_predict_with(str(model_copy()))(tmp_path)), "is not signed", tmp_path)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("{tmp}/variants", "is also an input"),
        ("{tmp}", "is a folder"),
        ("/dev/stdout", "symbolic link"),
        ("/dev/null", "device, pipe or socket"),
    ],
)
def test_outputs_that_must_not_be_written(
    tmp_path: Path, lr_model: Path, out: str, message: str, cli
) -> None:
    (tmp_path / "variants").write_text(VARIANTS)
    args = ["predict", "-m", str(lr_model), "-i", str(tmp_path / "variants"), "-o", out.format(tmp=tmp_path)]
    _check_refused(cli(args), message, tmp_path)
    assert (tmp_path / "variants").read_text() == VARIANTS


def test_the_sidecar_of_predictions_never_replaces_an_input(tmp_path: Path, lr_model: Path, cli) -> None:
    (tmp_path / "variants.json").write_text('{"id": "1", "gene": "BRAF", "variation": "V600E"}\n')
    args = [
        "predict",
        "-m",
        str(lr_model),
        "-i",
        str(tmp_path / "variants.json"),
        "-o",
        str(tmp_path / "variants"),
    ]
    result = cli(args)
    assert result.returncode == 2 and "is also an input" in result.stderr, result.stderr
    assert (tmp_path / "variants.json").read_text().startswith('{"id": "1"')


def test_train_refuses_a_file_as_its_model_folder(tmp_path: Path, cli) -> None:
    (tmp_path / "variants").write_text(VARIANTS)
    (tmp_path / "taken").write_text("keep me")
    result = cli(["train", "-i", str(tmp_path / "variants"), "-o", str(tmp_path / "taken")])
    assert result.returncode == 2 and "is not a folder" in result.stderr, result.stderr
    assert (tmp_path / "taken").read_text() == "keep me"


def test_the_executable_refuses_too(tmp_path: Path) -> None:
    make, message = CASES["duplicate IDs"]
    _check_refused(_run(make(tmp_path)), message, tmp_path)


def test_predictions_to_standard_output(tmp_path: Path, lr_model: Path) -> None:
    (tmp_path / "variants").write_text(VARIANTS)
    result = _run(["predict", "-m", str(lr_model), "-i", str(tmp_path / "variants"), "-o", "-"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ID,") and len(lines) == 4
    assert "written to standard output" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["variants"]


def test_a_pipeline_reads_standard_input_and_a_process_substitution(tmp_path: Path, lr_model: Path) -> None:
    piped = subprocess.run(
        [EXE, "predict", "-m", str(lr_model), "-i", "-", "-o", "-"],
        input=VARIANTS, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[0].startswith("ID,class1") and len(piped.stdout.splitlines()) == 4
    (tmp_path / "v.csv").write_text(VARIANTS)
    script = f'"{EXE}" predict -m "{lr_model}" -i <(cat "{tmp_path / "v.csv"}") -o "{tmp_path / "p.csv"}"'
    substituted = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert substituted.returncode == 0, substituted.stderr
    assert (tmp_path / "p.csv").read_text() == piped.stdout


def test_unknown_id_to_explain(tmp_path: Path, lr_model, cli) -> None:
    (tmp_path / "v.csv").write_text("id,gene,variation\n1,BRAF,V600E\n")
    args = ["explain", "-m", str(lr_model), "-i", str(tmp_path / "v.csv"), "--id", "99"]
    _check_refused(cli(args), "no row has id '99'", tmp_path)


def test_a_100_mb_single_document_is_refused_with_its_row(tmp_path: Path, cli) -> None:
    (tmp_path / "variants").write_text(VARIANTS)
    with (tmp_path / "text").open("w") as handle:
        handle.write("ID,Text\n0||short\n1||")
        chunk = "The BRAF V600E variant was studied in many cells. " * 20_000  # 1 MB
        for _ in range(100):
            handle.write(chunk)
        handle.write("\n2||short\n")
    args = [
        "train",
        "-i",
        str(tmp_path / "variants"),
        "--text",
        str(tmp_path / "text"),
        "-o",
        str(tmp_path / "out"),
    ]
    _check_refused(cli(args), "row 3: a line of more than 10,000,000 characters", tmp_path)


def test_archive_member_names_cannot_write_outside(tmp_path: Path, cli) -> None:
    # A member named ../../x is read in memory; nothing is ever extracted to disk.
    escape = "../" * 12 + "tmp/oncoclass-escape-test.csv"
    args = _zip({escape: VARIANTS.encode()})(tmp_path)
    result = cli(args)
    assert result.returncode == 0, result.stderr
    assert not Path("/tmp/oncoclass-escape-test.csv").exists()


def test_accepted_oddities_bom_crlf_and_a_single_example_class(tmp_path: Path, cli) -> None:
    text = "\ufeff" + (HEADER + "0,BRAF,V600E,7\n1,TP53,R175H,4\n2,KRAS,G12D,7\n").replace("\n", "\r\n")
    (tmp_path / "v.csv").write_text(text, encoding="utf-8", newline="")
    result = cli(["train", "-i", str(tmp_path / "v.csv"), "-o", str(tmp_path / "m")])
    assert result.returncode == 0, result.stderr
    assert "single example" in result.stderr
