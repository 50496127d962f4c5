from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from oncoclass.api import train
from oncoclass.config import InputSpec, TrainConfig
from oncoclass.errors import ConfigError, ModelFileError
from oncoclass.models import RECIPES
from oncoclass.persist import METADATA_FILE, MODEL_FILE, SIGNATURE_FILE, is_trusted, load_bundle


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, synth_files) -> Path:
    out = tmp_path_factory.mktemp("m") / "model"
    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    train(TrainConfig(input=spec, recipe="lr"), out_dir=out)
    return out


def test_bundle_files_and_round_trip(model_dir: Path) -> None:
    assert {p.name for p in model_dir.iterdir()} == {
        "model.skops",
        "metadata.json",
        "config.json",
        "MODEL_CARD.md",
    }
    bundle = load_bundle(model_dir)
    assert bundle.labels == sorted(bundle.labels)
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    assert meta["training"]["data_hash"] and meta["libraries"]["scikit-learn"]
    assert json.loads((model_dir / "config.json").read_text())["recipe"] == "lr"


def test_altered_model_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    with (copy / MODEL_FILE).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelFileError, match="altered"):
        load_bundle(copy)


def test_other_format_version_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / METADATA_FILE).read_text())
    meta["format_version"] = 0
    (copy / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="Retrain"):
        load_bundle(copy)


def test_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_bundle(tmp_path / "none")


def test_untrusted_type_is_refused_before_loading(tmp_path: Path, model_dir: Path) -> None:
    import hashlib
    import shutil

    import skops.io as sio

    copy = tmp_path / "evil"
    shutil.copytree(model_dir, copy)
    sio.dump({"payload": Path("/etc/passwd")}, copy / MODEL_FILE)
    meta = json.loads((copy / METADATA_FILE).read_text())
    meta["model_sha256"] = hashlib.sha256((copy / MODEL_FILE).read_bytes()).hexdigest()
    (copy / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="does not trust"):
        load_bundle(copy)


def test_trusted_list_is_explicit() -> None:
    assert is_trusted("sklearn.linear_model._logistic.LogisticRegression")
    assert not is_trusted("os.system") and not is_trusted("builtins.eval")
    # No prefix matching: a package being trusted does not make its other names trusted.
    assert not is_trusted("sklearn.preprocessing._function_transformer.FunctionTransformer")
    assert not is_trusted("numpy.testing._private.utils.runstring", "FunctionNode")
    assert is_trusted("oncoclass.features.text.clean_text", "FunctionNode")
    assert is_trusted("oncoclass.features.text.mark_negations", "FunctionNode")  # the negation view
    assert not is_trusted("oncoclass.features.text.clean_text", "MethodNode")
    assert "default" in RECIPES


def test_a_crash_mid_write_leaves_the_previous_model_intact(
    model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    import skops.io as sio

    from oncoclass.persist import save_bundle

    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    bundle = load_bundle(target)

    def crash(model, path) -> None:
        Path(path).write_bytes(b"half a model")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(sio, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(bundle.model, target, metadata=bundle.metadata, config={}, card="")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left behind
    load_bundle(target)


# --- Crafted model files ---------------------------------------------------------------------------
# Each hostile file is a real trained bundle with a payload put into its skops schema and the
# metadata checksum recomputed to match, as an attacker who can write the folder would do. The
# payloads name code that runs Python source, spawns processes or reaches any attribute; every one
# must be refused by name before skops imports or builds anything.


def _schema_of(model_dir: Path) -> dict:
    with zipfile.ZipFile(model_dir / MODEL_FILE) as archive:
        return json.loads(archive.read("schema.json"))


def _write_hostile(
    model_dir: Path, out: Path, payload: dict | None = None, *, schema: dict | None = None
) -> Path:
    """A copy of ``model_dir`` whose model carries ``payload`` as an extra attribute of its root."""
    shutil.copytree(model_dir, out)
    if schema is None:
        schema = _schema_of(model_dir)
        schema["content"]["content"]["payload_"] = payload
        schema["content"]["key_types"]["content"].append(_node("TypeNode", "builtins", "str"))
    with zipfile.ZipFile(model_dir / MODEL_FILE) as src, zipfile.ZipFile(out / MODEL_FILE, "w") as dst:
        for info in src.infolist():
            data = json.dumps(schema).encode() if info.filename == "schema.json" else src.read(info)
            dst.writestr(info.filename, data)
    meta = json.loads((out / METADATA_FILE).read_text())
    meta["model_sha256"] = hashlib.sha256((out / MODEL_FILE).read_bytes()).hexdigest()
    (out / METADATA_FILE).write_text(json.dumps(meta))
    return out


def _node(loader: str, module: str, cls: str, **content: object) -> dict:
    return {"__class__": cls, "__module__": module, "__loader__": loader, **content}


_EMPTY = _node(
    "DictNode", "builtins", "dict", content={}, key_types=_node("ListNode", "builtins", "list", content=[])
)
_ARGS = _node(
    "TupleNode",
    "builtins",
    "tuple",
    content=[_node("JsonNode", "builtins", "str", content='"x"', is_json=True)],
)

HOSTILE_NODES = {
    # Function chains: each of these ends in exec, eval or a subprocess when called.
    "numpy runstring": _node("FunctionNode", "numpy.testing._private.utils", "runstring"),
    "numpy ufunc (skops trusts ufuncs by default)": _node("FunctionNode", "numpy", "add"),
    "scipy function": _node("FunctionNode", "scipy.optimize._minimize", "minimize"),
    "sklearn script runner": _node(
        "FunctionNode", "sklearn.utils._testing", "assert_run_python_script_without_output"
    ),
    "builtins exec as a type": _node("TypeNode", "builtins", "exec"),
    "builtins eval as a function": _node("FunctionNode", "builtins", "eval"),
    "builtins getattr": _node("FunctionNode", "builtins", "getattr"),
    "os.system": _node("FunctionNode", "os", "system"),
    "operator.attrgetter": _node("OperatorFuncNode", "operator", "attrgetter", attrs=_ARGS),
    "operator.methodcaller": _node("OperatorFuncNode", "operator", "methodcaller", attrs=_ARGS),
    "functools.partial of a trusted function": _node(
        "PartialNode",
        "functools",
        "partial",
        content={
            "func": _node("FunctionNode", "oncoclass.features.text", "clean_text"),
            "args": _ARGS,
            "kwds": _EMPTY,
            "namespace": _EMPTY,
        },
    ),
    "bound method of a trusted class": _node(
        "MethodNode",
        "sklearn.linear_model._logistic",
        "LogisticRegression",
        content={
            "func": "fit",
            "obj": _node(
                "ObjectNode", "sklearn.linear_model._logistic", "LogisticRegression", content=_EMPTY
            ),
        },
    ),
    # getattr tricks: a dotted class name walks attributes from a trusted module.
    "dotted name from a trusted module": _node("FunctionNode", "numpy", "testing._private.utils.runstring"),
    "dunder from a trusted module": _node("ObjectNode", "sklearn", "__builtins__", content=_EMPTY),
    "trusted function name under another loader": _node(
        "ObjectNode", "oncoclass.features.text", "clean_text"
    ),
    # An sklearn estimator skops trusts by default that calls any function it holds.
    "FunctionTransformer": _node(
        "ObjectNode",
        "sklearn.preprocessing._function_transformer",
        "FunctionTransformer",
        content=_node(
            "DictNode",
            "builtins",
            "dict",
            content={"func": _node("FunctionNode", "numpy.testing._private.utils", "runstring")},
            key_types=_node("ListNode", "builtins", "list", content=[_node("TypeNode", "builtins", "str")]),
        ),
    ),
    "a reduce constructor": _node("ReduceNode", "builtins", "eval", content=_ARGS),
    "an unknown loader": _node("PickleNode", "builtins", "object"),
    "a loader that is not a string": {
        "__loader__": ["ObjectNode"],
        "__module__": "os",
        "__class__": "system",
    },
}


@pytest.mark.parametrize("name", list(HOSTILE_NODES))
def test_crafted_model_is_refused_before_anything_is_built(
    name: str, model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import skops.io as sio
    import skops.io._audit as audit

    hostile = _write_hostile(model_dir, tmp_path / "evil", HOSTILE_NODES[name])

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("skops was asked to build or import something from a hostile file")

    monkeypatch.setattr(sio, "load", never)
    monkeypatch.setattr(audit, "get_tree", never)
    with pytest.raises(ModelFileError, match="does not trust"):
        load_bundle(hostile)


def test_the_payload_is_reachable_so_the_test_is_meaningful(model_dir: Path, tmp_path: Path) -> None:
    """The injection point is read by skops: a harmless trusted payload there loads and appears."""
    payload = _node("JsonNode", "builtins", "str", content='"harmless"', is_json=True)
    bundle = load_bundle(_write_hostile(model_dir, tmp_path / "ok", payload))
    assert bundle.model.payload_ == "harmless"


def test_a_deeply_nested_schema_is_refused_cleanly(model_dir: Path, tmp_path: Path) -> None:
    deep: dict = _node("FunctionNode", "os", "system")
    for _ in range(100_000):
        deep = {"x": deep}
    hostile = tmp_path / "deep"
    shutil.copytree(model_dir, hostile)
    with zipfile.ZipFile(hostile / MODEL_FILE, "w") as dst:
        dst.writestr("schema.json", "[" * 100_000 + "]" * 100_000)
    meta = json.loads((hostile / METADATA_FILE).read_text())
    meta["model_sha256"] = hashlib.sha256((hostile / MODEL_FILE).read_bytes()).hexdigest()
    (hostile / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError):
        load_bundle(hostile)


@pytest.mark.slow  # fits every recipe
def test_every_recipe_loads_under_the_explicit_lists(tmp_path: Path, synth_files) -> None:
    """The lists are complete for what oncoclass itself saves (the contextual recipe shares the
    default's classes but for its encoder, listed too; it is skipped here for its ~90 MB weights)."""
    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    for name in RECIPES:
        if name in ("contextual", "lr"):
            continue
        out = train(TrainConfig(input=spec, recipe=name), out_dir=tmp_path / name).path
        assert load_bundle(out).model.classes_ is not None


# --- Signed models ---------------------------------------------------------------------------------


def test_signed_model_round_trip_and_refusals(synth_files, tmp_path: Path, monkeypatch) -> None:
    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    unsigned = train(TrainConfig(input=spec, recipe="lr"), out_dir=tmp_path / "unsigned").path
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "correct horse battery staple ✓")
    signed = train(TrainConfig(input=spec, recipe="lr"), out_dir=tmp_path / "signed").path
    assert (signed / SIGNATURE_FILE).exists() and not (unsigned / SIGNATURE_FILE).exists()
    load_bundle(signed)
    with pytest.raises(ModelFileError, match="not signed"):
        load_bundle(unsigned)
    # A file changed after signing, even one the checksum does not cover.
    altered = tmp_path / "altered"
    shutil.copytree(signed, altered)
    (altered / "config.json").write_text("{}")
    with pytest.raises(ModelFileError, match="does not match"):
        load_bundle(altered)
    # A signature under another key.
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "another key")
    with pytest.raises(ModelFileError, match="another key"):
        load_bundle(signed)
    # Without a key, a signed model loads on its checksum as any other.
    monkeypatch.delenv("ONCOCLASS_MODEL_KEY")
    load_bundle(signed)
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "  ")
    with pytest.raises(ConfigError, match="empty"):
        load_bundle(signed)


# --- Metadata and model files that are not what they claim ----------------------------------------


def _with_metadata(model_dir: Path, out: Path, **changes: object) -> Path:
    shutil.copytree(model_dir, out)
    meta = json.loads((out / METADATA_FILE).read_text())
    meta.update(changes)
    (out / METADATA_FILE).write_text(json.dumps(meta))
    return out


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": True}, "model format True"),
        ({"format_version": "1"}, "model format '1'"),
        ({"labels": "1,2,3"}, "labels"),
        ({"labels": [1, 2]}, "labels"),
        ({"labels": ["only"]}, "labels"),
        ({"model_id": {"a": 1}}, "model_id"),
        ({"model_sha256": "not a digest"}, "model_sha256"),
        ({"label_columns": ["a"]}, "label columns"),
    ],
)
def test_metadata_is_validated_against_its_schema(
    changes: dict, message: str, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelFileError, match=message):
        load_bundle(_with_metadata(model_dir, tmp_path / "m", **changes))


def test_labels_that_do_not_match_the_estimator_are_refused(model_dir: Path, tmp_path: Path) -> None:
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    labels = ["x" + label for label in meta["labels"]]
    copy = _with_metadata(model_dir, tmp_path / "m", labels=labels, label_columns=labels)
    with pytest.raises(ModelFileError, match="do not match the labels"):
        load_bundle(copy)


def test_model_file_that_is_a_folder_or_a_fifo_or_too_big(
    model_dir: Path, tmp_path: Path, monkeypatch
) -> None:

    folder = tmp_path / "folder"
    shutil.copytree(model_dir, folder)
    (folder / MODEL_FILE).unlink()
    (folder / MODEL_FILE).mkdir()
    with pytest.raises(ModelFileError, match="is a folder"):
        load_bundle(folder)
    fifo = tmp_path / "fifo"
    shutil.copytree(model_dir, fifo)
    (fifo / MODEL_FILE).unlink()
    os.mkfifo(fifo / MODEL_FILE)  # nobody writes: reading it would hang forever
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_bundle(fifo)
    monkeypatch.setenv("ONCOCLASS_MAX_MODEL_BYTES", "1000")
    with pytest.raises(ModelFileError, match="ONCOCLASS_MAX_MODEL_BYTES"):
        load_bundle(model_dir)


# --- Found in review: older skops protocols, members read many times, trees that point outside ---


def test_an_older_skops_protocol_is_refused(model_dir: Path, tmp_path: Path) -> None:
    # Under protocol 0 skops' FunctionNode imports from a nested "content" dict the audit would not
    # read as a node; only the protocol the lists were written for is accepted.
    schema = _schema_of(model_dir)
    schema["protocol"] = 0
    schema["content"]["content"]["payload_"] = _node(
        "FunctionNode", "oncoclass.features.text", "clean_text",
        content={"module_path": "scipy.special._special_ufuncs", "function": "airy"},
    )  # fmt: skip
    schema["content"]["key_types"]["content"].append(_node("TypeNode", "builtins", "str"))
    with pytest.raises(ModelFileError, match="protocol 0"):
        load_bundle(_write_hostile(model_dir, tmp_path / "old", schema=schema))


def test_a_data_member_named_by_two_nodes_is_refused(model_dir: Path, tmp_path: Path) -> None:
    schema = _schema_of(model_dir)
    arrays = [n for n in _nodes_of(schema) if n.get("__loader__") == "NdArrayNode" and "file" in n]
    assert arrays, "the model holds arrays stored as members"
    payload = dict(arrays[0])
    payload["__id__"] = 1
    schema["content"]["content"]["payload_"] = payload
    schema["content"]["key_types"]["content"].append(_node("TypeNode", "builtins", "str"))
    with pytest.raises(ModelFileError, match="named twice"):
        load_bundle(_write_hostile(model_dir, tmp_path / "twice", schema=schema))


def _nodes_of(schema: dict) -> list[dict]:
    from oncoclass.persist import _nodes

    return list(_nodes(schema))


def test_a_tree_that_points_outside_itself_is_refused() -> None:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from oncoclass.persist import check_trees

    rng = np.random.default_rng(0)
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(
        rng.random((40, 3)), np.arange(40) % 2
    )
    check_trees(forest, source="m")  # a fitted forest passes
    forest.estimators_[1].tree_.children_left[0] = 10_000
    with pytest.raises(ModelFileError, match="links outside"):
        check_trees(forest, source="m")


def test_a_signature_covers_the_bytes_that_are_loaded(synth_files, tmp_path: Path, monkeypatch) -> None:
    """Each bundle file is read once: what the signature and checksum saw is what is loaded."""
    import oncoclass.persist as persist

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "k")
    signed = train(TrainConfig(input=spec, recipe="lr"), out_dir=tmp_path / "signed").path
    reads: list[str] = []
    real = persist.read_bounded
    monkeypatch.setattr(
        persist, "read_bounded", lambda p, **kw: (reads.append(Path(p).name), real(p, **kw))[1]
    )
    load_bundle(signed)
    assert sorted(reads) == sorted(
        ["model.skops", "metadata.json", "config.json", "MODEL_CARD.md", "SIGNATURE.json"]
    )


def test_sparse_matrices_must_be_well_formed_csr_or_csc() -> None:
    import numpy as np
    import scipy.sparse as sp

    from oncoclass.persist import check_trees

    good = sp.csr_matrix(np.eye(3))
    check_trees({"m": good}, source="m")
    with pytest.raises(ModelFileError, match="coo sparse matrix"):
        check_trees({"m": sp.coo_matrix(np.eye(3))}, source="m")
    bad = sp.csr_matrix(np.eye(3))
    bad.indices[0] = 99  # a column outside the matrix
    with pytest.raises(ModelFileError, match="damaged sparse matrix"):
        check_trees([bad], source="m")


def test_skops_is_imported_without_trusting_every_estimator_by_default() -> None:
    """skops' import-time list of every scikit-learn estimator (its default trust, which it adds
    to any explicit list) costs ~1 s per process and is skipped: skops then trusts exactly the
    names the audit passes it."""
    import subprocess
    import sys

    code = (
        "import sklearn.utils, sys; every = sklearn.utils.all_estimators\n"
        "from oncoclass.persist import skops_io; sio = skops_io()\n"
        "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
        "assert names == [] and sklearn.utils.all_estimators is every and sio is sys.modules['skops.io']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
