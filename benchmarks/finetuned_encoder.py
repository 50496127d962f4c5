"""A fine-tuned all-MiniLM-L6-v2 on CIViC clinical significance, alone and blended with the default.

Issue 19 ("Accuracy II") asks whether a fine-tuned encoder knows what the default recipe does not.
This measures it on the two CIViC 2018-11 proxies of ``benchmarks/accuracy.py``, with the same
rows, labels and folds:

* the time split: train on the oldest 80 % by evidence_id, test on the newest 20 %;
* 5-fold CV grouped by citation over all 2,889 rows.

For each it reports the default, the fine-tuned encoder (temperature-scaled) and their blend
``softmax((w·log p_default + (1-w)·log p_encoder) / T)``. The encoder's temperature and the blend's
weight and temperature are fitted on out-of-fold predictions of the training part only: 5 inner
folds grouped by citation inside the time split's training rows, and 5 inner folds inside each
outer fold's training rows for the grouped CV (``nested``). A cheaper ``cross-fitted`` variant of
the grouped CV fits them for each outer fold on the other outer folds' out-of-fold rows.

Fine-tuning needs torch and transformers (not dependencies of oncoclass; nothing in the package
or its tests imports this file) and a GPU to finish in minutes: 36 fine-tunes of about 2,300
statements x 6 epochs (6 for the time split, 30 for the nested grouped CV). Steps, from the
project's root:

    # 1. rows, labels and folds, read with oncoclass's own loader (here)
    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/finetuned_encoder.py prep --work W
    # 2. the default's probabilities on the same folds (CPU: 36 fits of the default, ~40 min)
    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/finetuned_encoder.py default --work W
    # 3. the fine-tunes (GPU; torch + transformers; MODEL is a copy of all-MiniLM-L6-v2:
    #    config.json, tokenizer files and model.safetensors, fp16 or fp32)
    python3 benchmarks/finetuned_encoder.py finetune --work W --model MODEL --out ENC
    # 4. temperatures, blend weights and the tables (here)
    .venv/bin/python benchmarks/finetuned_encoder.py blend --work W --enc ENC

``finetune`` imports neither oncoclass nor pandas, so the file can be copied alone with W and MODEL
to a GPU machine. ``--limit N --epochs E`` shrink it to a smoke test on CPU. ``blend`` also writes
every row's probabilities to W/blend.npz.

Fine-tuning: mean-pooled MiniLM + linear head, 6 epochs, batch 32, max 256 tokens, AdamW (lr 5e-5,
head 1e-3, weight decay 0.01), 10 % linear warm-up then linear decay, bf16 autocast, one seed.
On an H200 a fine-tune of 2,311 rows took about 12.5 s and of 1,850 rows about 10 s (the first,
warming up, 37 s). On two CPU cores (about 500 training tokens per CPU-second measured here) one
fine-tune of 2,311 rows is about an hour as written (3.4 M padded tokens), about half with
length-bucketed batches (1.7 M real tokens).

Measured 2026-11-27, log loss / accuracy / six-label macro-F1:

    time split       default 0.3028 / 0.9271 / 0.6752   encoder 0.2233 / 0.9479 / 0.7779
                     log-linear blend 0.2315 / 0.9514 / 0.7845
    grouped CV       default 0.5425 / 0.8300 / 0.8020   encoder 0.4998 / 0.8463 / 0.8242
                     log-linear blend (nested) 0.4526 / 0.8588 / 0.8369
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------------------
# 1. prep: rows and folds, exactly as benchmarks/accuracy.py makes them


def prep(work: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy import civic_time_split

    from oncoclass.data import load_table
    from oncoclass.evaluate import splits

    data = Path(os.environ["ONCOCLASS_DATA"])
    table = load_table(data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv")
    keep = (table["label"] != "").to_numpy()
    citations = np.asarray(table.attrs["groups"]["citation"], dtype=object)[keep]
    table = table[keep].reset_index(drop=True)
    table["citation"] = citations.astype(str)
    train, test = civic_time_split(table)
    cit = dict(zip(table["id"], table["citation"], strict=True))
    y = table["label"].to_numpy()
    position = {row_id: i for i, row_id in enumerate(table["id"])}

    def fold_lists(fold_list):
        return [[tr.tolist(), held.tolist()] for tr, held in fold_list]

    outer = splits(y, folds=5, groups=citations, seed=0)
    ytr = train["label"].to_numpy()
    tr_cit = train["id"].map(cit).to_numpy()
    spec = {
        "rows": [
            {k: str(r[k]) for k in ("id", "gene", "variation", "text", "context", "label", "citation")}
            for r in table.to_dict("records")
        ],
        "time": {
            "labels": sorted(train["label"].unique()),
            "train": train["id"].map(position).tolist(),
            "test": test["id"].map(position).tolist(),
            # inner folds over the training rows (positions into "train")
            "inner": fold_lists(splits(ytr, folds=5, groups=tr_cit, seed=0)),
        },
        "cv": {
            "labels": sorted(table["label"].unique()),
            "outer": fold_lists(outer),
            # for each outer fold, inner folds over its training rows (positions into them)
            "inner": [fold_lists(splits(y[tr], folds=5, groups=citations[tr], seed=0)) for tr, _ in outer],
        },
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "civic.json").write_text(json.dumps(spec))
    print(f"{len(table)} rows; time split {len(train)}/{len(test)}; written to {work / 'civic.json'}")


def load_spec(work: Path) -> dict:
    return json.loads((work / "civic.json").read_text())


# ---------------------------------------------------------------------------------------------
# 2. default: the default recipe's probabilities on the same rows and folds


def default(work: Path, parts: str) -> None:
    import warnings

    import pandas as pd

    from oncoclass.evaluate import align_proba
    from oncoclass.models import build

    warnings.filterwarnings("ignore")
    spec = load_spec(work)
    table = pd.DataFrame(spec["rows"])
    out = work / "default"
    out.mkdir(exist_ok=True)

    def fit_predict(train_idx, test_idx, labels):
        tr = table.iloc[train_idx].reset_index(drop=True)
        model = build("default").fit(tr, tr["label"].to_numpy())
        te = table.iloc[test_idx].reset_index(drop=True)
        return align_proba(model.predict_proba(te), model.classes_, labels)

    def oof(rows, folds, labels):
        rows = np.asarray(rows)
        p = np.zeros((len(rows), len(labels)))
        for tr, held in folds:
            p[held] = fit_predict(rows[tr], rows[held], labels)
        return p

    def save(name, make):
        path = out / f"{name}.npy"
        if path.exists():
            return
        started = time.perf_counter()
        np.save(path, make())
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)

    t, c = spec["time"], spec["cv"]
    if "time" in parts:
        save("time_test", lambda: fit_predict(t["train"], t["test"], t["labels"]))
        save("time_inner", lambda: oof(t["train"], t["inner"], t["labels"]))
    if "cv" in parts:
        save("cv_outer", lambda: oof(range(len(table)), c["outer"], c["labels"]))
    if "inner" in parts:
        for k, (tr, _) in enumerate(c["outer"]):
            save(f"cv_inner{k}", lambda tr=tr, k=k: oof(tr, c["inner"][k], c["labels"]))


# ---------------------------------------------------------------------------------------------
# 3. finetune: all-MiniLM-L6-v2 + mean pooling + a linear head, fine-tuned end to end (GPU)


def encoder_input(row: dict) -> str:
    return f"{row['gene']} {row['variation']}. {row['context']}. {row['text']}"


def finetune(work: Path, model_dir: Path, out: Path, parts: str, epochs: int, limit: int) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BertConfig, BertModel

    spec = load_spec(work)
    out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")

    def say(line: str) -> None:
        print(line, flush=True)
        with open(out / "timing.log", "a") as log:
            log.write(line + "\n")

    say(
        f"device {torch.cuda.get_device_name(0) if cuda else 'cpu'}, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}"
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    enc = tokenizer(
        [encoder_input(r) for r in spec["rows"]],
        truncation=True,
        max_length=256,
        padding="max_length",
        return_tensors="pt",
    )
    ids_all, mask_all = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    lengths = mask_all.sum(1)
    say(
        f"tokens per row: median {int(lengths.median())}, max {int(lengths.max())}, "
        f"truncated {int((lengths == 256).sum())}"
    )
    config = BertConfig.from_pretrained(model_dir)
    weights = {
        k.removeprefix("bert."): v.float() for k, v in load_file(model_dir / "model.safetensors").items()
    }
    labels_by_task = {"time": spec["time"]["labels"], "cv": spec["cv"]["labels"]}
    y_all = {
        task: torch.tensor(
            [labs.index(r["label"]) if r["label"] in labs else -1 for r in spec["rows"]], device=device
        )
        for task, labs in labels_by_task.items()
    }

    class Classifier(torch.nn.Module):
        def __init__(self, n_labels: int) -> None:
            super().__init__()
            self.bert = BertModel(config, add_pooling_layer=False)
            missing, _ = self.bert.load_state_dict(weights, strict=False)
            assert not [m for m in missing if "position_ids" not in m], missing
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(config.hidden_size, n_labels)

        def forward(self, ids, mask):
            hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            return self.head(self.drop((hidden * m).sum(1) / m.sum(1).clamp(min=1)))

    def batch(rows):
        width = int(lengths[rows].max())
        return ids_all[rows, :width], mask_all[rows, :width]

    timing: dict = {}

    def fit_predict(task: str, train_rows, predict_rows, seed: int) -> np.ndarray:
        started = time.perf_counter()
        torch.manual_seed(seed)
        train_rows = torch.tensor(train_rows, device=device)
        predict_rows = torch.tensor(predict_rows, device=device)
        y = y_all[task]
        model = Classifier(len(labels_by_task[task])).to(device)
        decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "head" not in n]
        rest = [p for n, p in model.named_parameters() if p.ndim <= 1 and "head" not in n]
        groups = [
            {"params": decay, "weight_decay": 0.01, "lr": 5e-5},
            {"params": rest, "weight_decay": 0.0, "lr": 5e-5},
            {"params": list(model.head.parameters()), "weight_decay": 0.0, "lr": 1e-3},
        ]
        opt = torch.optim.AdamW(groups, fused=cuda)
        size = 32
        steps = epochs * ((len(train_rows) + size - 1) // size)
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
        )
        gen = torch.Generator(device="cpu").manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = train_rows[torch.randperm(len(train_rows), generator=gen).to(device)]
            for start in range(0, len(order), size):
                rows = order[start : start + size]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                    logits = model(*batch(rows))
                loss = torch.nn.functional.cross_entropy(logits.float(), y[rows])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
        if cuda:
            torch.cuda.synchronize()
        timing["train"] = time.perf_counter() - started
        model.eval()
        out_logits = torch.zeros(len(predict_rows), len(labels_by_task[task]))
        order = torch.argsort(lengths[predict_rows])
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            for start in range(0, len(order), 256):
                pos = order[start : start + 256]
                out_logits[pos.cpu()] = model(*batch(predict_rows[pos])).float().cpu()
        return out_logits.numpy()

    def store(name: str, arrays: dict) -> None:
        np.savez(out / f"{name}.tmp.npz", **arrays)
        os.replace(out / f"{name}.tmp.npz", out / f"{name}.npz")

    def run(name: str, task: str, jobs) -> None:
        arrays: dict = {}
        for key, _, _, _, shape in jobs:
            if key.startswith("oof"):
                arrays.setdefault(key, np.full(shape, np.nan, dtype=np.float32))
        for seed, (key, train_rows, predict_rows, target, _) in enumerate(jobs):
            if limit:  # a smoke test: a few rows to train on and to predict
                train_rows, predict_rows = train_rows[:limit], predict_rows[:limit]
                target = None if target is None else target[:limit]
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
            logits = fit_predict(task, train_rows, predict_rows, seed=seed)
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            if target is None:
                arrays[key] = logits
            else:
                arrays[key][target] = logits
            store(name, arrays)
            say(
                f"{name} {key}: {len(train_rows)} rows x {epochs} epochs + {len(predict_rows)} predicted "
                f"in {seconds:.1f} s (training {timing['train']:.1f} s)"
            )

    t, c = spec["time"], spec["cv"]
    n_labels = {k: len(v) for k, v in labels_by_task.items()}
    if "time" in parts:
        tr = np.asarray(t["train"])
        jobs = [("test", tr, t["test"], None, None)]
        jobs += [("oof_inner", tr[a], tr[b], b, (len(tr), n_labels["time"])) for a, b in t["inner"]]
        run("time", "time", jobs)
    if "cv" in parts:
        n = len(spec["rows"])
        run("cv_outer", "cv", [("oof", a, b, b, (n, n_labels["cv"])) for a, b in c["outer"]])
    if "inner" in parts:
        jobs = []
        for k, (tr, _) in enumerate(c["outer"]):
            tr = np.asarray(tr)
            jobs += [(f"oof{k}", tr[a], tr[b], b, (len(tr), n_labels["cv"])) for a, b in c["inner"][k]]
        run("cv_inner", "cv", jobs)


# ---------------------------------------------------------------------------------------------
# 4. blend: temperatures and weights fitted on the training part's out-of-fold rows only


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logp: np.ndarray, y: np.ndarray) -> float:
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda t: nll(log_softmax(z / np.exp(t)), y), bounds=(-3, 3), method="bounded")
    return float(np.exp(res.x))


class Blend:
    """``softmax((w·log p_default + (1-w)·log softmax(logits / t_enc)) / t)``; with ``linear``,
    ``softmax(log(w·p_default + (1-w)·softmax(logits / t_enc)) / t)``."""

    def __init__(self, linear: bool = False) -> None:
        self.linear = linear

    def combine(self, p_default: np.ndarray, logits: np.ndarray, w: float) -> np.ndarray:
        log_enc = log_softmax(logits / self.t_enc)
        if self.linear:
            return np.log(np.clip(w * p_default + (1 - w) * np.exp(log_enc), 1e-12, None))
        return w * np.log(np.clip(p_default, 1e-12, None)) + (1 - w) * log_enc

    def fit(self, p_default: np.ndarray, logits: np.ndarray, y: np.ndarray) -> Blend:
        self.t_enc = fit_temperature(logits, y)
        best = None
        for w in np.linspace(0, 1, 51):
            z = self.combine(p_default, logits, w)
            t = fit_temperature(z, y)
            score = nll(log_softmax(z / t), y)
            if best is None or score < best[0]:
                best = (score, float(w), t)
        _, self.w, self.t = best
        return self

    def encoder(self, logits: np.ndarray) -> np.ndarray:
        return np.exp(log_softmax(logits / self.t_enc))

    def predict(self, p_default: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return np.exp(log_softmax(self.combine(p_default, logits, self.w) / self.t))


def blend(work: Path, enc: Path) -> None:
    import sys

    from sklearn.metrics import f1_score

    from oncoclass.evaluate import metrics

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy import CIVIC_MAIN

    spec = load_spec(work)
    rows = spec["rows"]
    dflt = work / "default"

    saved: dict = {}

    def table(title: str, y_text: np.ndarray, labels: list[str], probas: dict) -> None:
        saved.update({f"{title}|{name}": p for name, p in probas.items()})
        print(f"\n### {title} ({len(y_text)} rows)\n")
        print(
            "| model | log loss | accuracy | macro-F1 | ECE | macro-F1, 6 main |\n|---|---|---|---|---|---|"
        )
        for name, p in probas.items():
            m = metrics(y_text, p, labels)
            predicted = np.asarray(labels)[p.argmax(axis=1)]
            six = f1_score(y_text, predicted, labels=list(CIVIC_MAIN), average="macro", zero_division=0)
            print(
                f"| {name} | {m['log_loss']:.4f} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | "
                f"{m['ece']:.4f} | {six:.4f} |"
            )

    def codes(index, labels):
        return np.array([labels.index(rows[i]["label"]) for i in index])

    # time split
    t = spec["time"]
    labels = t["labels"]
    time_enc = np.load(enc / "time.npz")
    tr, te = np.asarray(t["train"]), np.asarray(t["test"])
    y_tr = codes(tr, labels)
    p_def_te = np.load(dflt / "time_test.npy")
    p_def_in = np.load(dflt / "time_inner.npy")
    logits_in, logits_te = time_enc["oof_inner"], time_enc["test"]
    fitted = {kind: Blend(kind == "linear").fit(p_def_in, logits_in, y_tr) for kind in ("log", "linear")}
    for kind, b in fitted.items():
        print(f"time split, {kind} blend: t_enc {b.t_enc:.3f}, w_default {b.w:.2f}, t {b.t:.3f}")
    y_text = np.array([rows[i]["label"] for i in te])
    probas = {
        "default": p_def_te,
        "encoder, T=1": np.exp(log_softmax(logits_te)),
        "encoder, temperature-scaled": fitted["log"].encoder(logits_te),
        "blend, log-linear": fitted["log"].predict(p_def_te, logits_te),
        "blend, linear": fitted["linear"].predict(p_def_te, logits_te),
    }
    table("CIViC 2018-11 time split", y_text, labels, probas)

    # grouped CV
    c = spec["cv"]
    labels = c["labels"]
    y_all = codes(range(len(rows)), labels)
    y_text = np.array([r["label"] for r in rows])
    p_def = np.load(dflt / "cv_outer.npy")
    logits = np.load(enc / "cv_outer.npz")["oof"]
    folds = len(c["outer"])
    schemes = {"cross-fitted": lambda k, tr: (p_def[tr], logits[tr])}
    inner_enc = enc / "cv_inner.npz"
    if inner_enc.exists() and all((dflt / f"cv_inner{k}.npy").exists() for k in range(folds)):
        inner = np.load(inner_enc)
        if all(f"oof{k}" in inner for k in range(folds)):
            schemes["nested"] = lambda k, tr: (np.load(dflt / f"cv_inner{k}.npy"), inner[f"oof{k}"])
    probas = {"default": p_def, "encoder, T=1": np.exp(log_softmax(logits))}
    for scheme, source in schemes.items():
        out = {key: np.zeros_like(p_def) for key in ("enc", "log", "linear")}
        for k, (tr, held) in enumerate(c["outer"]):
            tr = np.asarray(tr)
            pd_in, lg_in = source(k, tr)
            # a fine-tune that did not finish leaves its rows out (NaN): fit on the others
            done = ~np.isnan(lg_in).any(axis=1)
            pd_in, lg_in, y_in = pd_in[done], lg_in[done], y_all[tr][done]
            for kind in ("log", "linear"):
                b = Blend(kind == "linear").fit(pd_in, lg_in, y_in)
                out[kind][held] = b.predict(p_def[held], logits[held])
                if kind == "log":
                    out["enc"][held] = b.encoder(logits[held])
                print(
                    f"grouped CV fold {k}, {scheme} ({done.sum()} rows), {kind} blend: "
                    f"t_enc {b.t_enc:.3f}, w_default {b.w:.2f}, t {b.t:.3f}"
                )
        probas[f"encoder, temperature-scaled ({scheme})"] = out["enc"]
        probas[f"blend, log-linear ({scheme})"] = out["log"]
        probas[f"blend, linear ({scheme})"] = out["linear"]
    table("CIViC 2018-11 CV grouped by citation", y_text, labels, probas)
    np.savez(work / "blend.npz", **saved)  # every row's probabilities, for further analysis


# ---------------------------------------------------------------------------------------------
# command line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=("prep", "default", "finetune", "blend"))
    parser.add_argument("--work", type=Path, required=True, help="folder for rows, folds and the default")
    parser.add_argument("--parts", default="time,cv,inner", help="which fits: time, cv, inner")
    parser.add_argument("--model", type=Path, help="finetune: the all-MiniLM-L6-v2 folder")
    parser.add_argument("--out", type=Path, help="finetune: where the encoder's logits go")
    parser.add_argument("--enc", type=Path, help="blend: the folder finetune wrote")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--limit", type=int, default=0, help="finetune: rows per fit, for a smoke test")
    args = parser.parse_args()
    if args.step == "prep":
        prep(args.work)
    elif args.step == "default":
        default(args.work, args.parts)
    elif args.step == "finetune":
        finetune(args.work, args.model, args.out, args.parts, args.epochs, args.limit)
    else:
        blend(args.work, args.enc)


if __name__ == "__main__":
    main()
