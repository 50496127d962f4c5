"""The review loop's commands, driven in-process: users add, review add/stats/refresh,
kb export --reviewed, and train --kb --reviewed learning from a correction."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from oncoclass.kb.store import open_store
from oncoclass.review.queue import decide, get_item
from oncoclass.review.users import authenticate


def _statements(tmp_path: Path) -> Path:
    path = tmp_path / "new.csv"
    pd.DataFrame(
        {
            "gene": ["BRAF", "TP53", "EGFR"],
            "variation": ["p.Val600Glu", "R175H", "T790M"],
            "text": [
                "BRAF V600E activates MEK.",
                "R175H abolishes DNA binding.",
                "T790M confers resistance.",
            ],
            "disease": ["Melanoma", "", "Lung cancer"],
        }
    ).to_csv(path, index=False)
    return path


def test_users_review_export_and_train_close_the_loop(
    cli, tmp_path: Path, fast_model: Path, synth_files
) -> None:
    kb = tmp_path / "kb.sqlite"
    added = cli(["users", "add", "ada", "--role", "curator", "--kb", kb])
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert "shown once" in added.stderr and token.startswith("oc_")
    assert "ada" in cli(["users", "list", "--kb", kb]).stdout
    queued = cli(["review", "add", "--model", fast_model, "--input", _statements(tmp_path), "--kb", kb])
    assert queued.returncode == 0, queued.stderr
    assert "3 item(s) queued" in queued.stdout and "0 already" in queued.stdout
    assert "3 already in the queue" in cli(["review", "add", "-m", fast_model, "-i", _statements(tmp_path),
                                            "--kb", kb]).stdout  # fmt: skip
    with open_store(kb) as store:
        ada = authenticate(store, token)
        decide(store, 1, ada, action="correct", label="9", version=1)
        decide(store, 2, ada, action="accept", version=1)
        proposal = get_item(store, 2).prediction
    assert "the queue's order: uncertain" in cli(["review", "order", "--kb", kb]).stdout
    assert "the queue's order: gene" in cli(["review", "order", "gene", "--kb", kb]).stdout
    stats = json.loads(cli(["review", "stats", "--kb", kb, "--json"]).stdout)
    assert (stats["pending"], stats["reviewed"]) == (1, 2)
    out = tmp_path / "reviewed.tsv"
    exported = cli(["kb", "export", "--reviewed", "--kb", kb, "--out", out])
    assert exported.returncode == 0 and "2 reviewed items written" in exported.stdout
    frame = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(frame["label"]) == ["9", proposal] and list(frame["curator"]) == ["ada", "ada"]
    assert frame["gene"].iloc[0] == "BRAF" and frame["variant"].iloc[0] == "V600E"
    model = tmp_path / "retrained"
    trained = cli(["train", "-m", "fast", "-i", synth_files["training_variants"], "--text",
                   synth_files["training_text"], "--kb", kb, "--reviewed", "-o", model])  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "2 reviewed item(s)" in trained.stderr and "1 open item(s)" in trained.stderr
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["training"]["reviewed_rows"] == 2 and "reviewed items in" in meta["training"]["source"]
    with open_store(kb) as store:
        assert get_item(store, 3).model_id == meta["model_id"]  # the open item's proposal is refreshed
        assert get_item(store, 1).model_id != meta["model_id"]  # decided items keep theirs


def test_review_commands_refuse_bad_use_in_one_line(cli, tmp_path: Path, fast_model: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    cases = [
        (["train", "-o", tmp_path / "m"], "give --input"),
        (["train", "-o", tmp_path / "m", "--reviewed"], "--reviewed needs --kb"),
        (["users", "add", "ada", "--role", "owner", "--kb", kb], "role must be curator or admin"),
        (["users", "revoke", "nobody", "--kb", kb], "no user named 'nobody'"),
        (["train", "-o", tmp_path / "m", "--kb", kb, "--reviewed"], "has been reviewed yet"),
    ]
    for args, message in cases:
        result = cli(args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_train_on_the_stores_curated_and_reviewed_items_alone(cli, tmp_path: Path) -> None:
    """Without --input, train --reviewed learns from the store's curated items on the queue's
    labels (here: CIViC evidence imported into the store) and the reviewed items."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "kb"))
    from sources_data import CIVIC_2018, write

    kb = tmp_path / "kb.sqlite"
    civic = write(tmp_path, "civic.tsv", CIVIC_2018)
    assert cli(["kb", "import", civic, "--kb", kb]).returncode == 0
    first = tmp_path / "m1"
    assert cli(["train", "-m", "lr", "-i", civic, "-o", first]).returncode == 0
    assert cli(["review", "add", "-m", first, "-i", _statements(tmp_path), "--kb", kb]).returncode == 0
    with open_store(kb) as store:
        ada = authenticate(
            store, cli(["users", "add", "ada", "--role", "curator", "--kb", kb]).stdout.strip()
        )
        decide(store, 1, ada, action="correct", label="Predictive: Resistance", version=1)
    second = tmp_path / "m2"
    trained = cli(["train", "-m", "lr", "--kb", kb, "--reviewed", "-o", second])
    assert trained.returncode == 0, trained.stderr
    assert "5 curated item(s)" in trained.stderr and "1 reviewed item(s)" in trained.stderr
    meta = json.loads((second / "metadata.json").read_text())
    assert meta["training"]["rows"] == 6 and meta["training"]["reviewed_rows"] == 1
