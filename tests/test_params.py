"""A recipe adjusted for one run: --seed, --n-jobs and --set (oncoclass.models.params, and the
parsing in oncoclass.config)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from oncoclass.config import MAX_N_JOBS, parse_overrides
from oncoclass.errors import ConfigError
from oncoclass.models import get_recipe
from oncoclass.models.params import configure


def test_values_are_read_as_literals_where_they_are_one() -> None:
    assert parse_overrides(["a__b=3", "c=0.5", "d=None", "e=tfidf", "f=(1, 2)"]) == {
        "a__b": 3, "c": 0.5, "d": None, "e": "tfidf", "f": (1, 2),
    }  # fmt: skip
    with pytest.raises(ConfigError, match="name=value"):
        parse_overrides(["oops"])
    with pytest.raises(ConfigError, match="model__C is set twice"):  # the last one won, silently
        parse_overrides(["model__C=1", "model__C=2"])


def test_the_seed_reaches_every_random_step_and_n_jobs_only_the_outermost() -> None:
    model = configure(get_recipe("default").build(), seed=7, n_jobs=1)
    params = model.get_params(deep=True)
    seeds = {v for k, v in params.items() if k.endswith("random_state")}
    assert seeds == {7}
    jobs = {k: v for k, v in params.items() if k.endswith("n_jobs")}
    outermost = min(k.count("__") for k in jobs)
    assert all(v == 1 for k, v in jobs.items() if k.count("__") == outermost)
    # Inner n_jobs keep the recipe's choice, so fold fits and their inner threads do not multiply.
    assert any(v != 1 for k, v in jobs.items() if k.count("__") > outermost) or len(jobs) == 1


def test_an_unknown_parameter_is_refused_with_the_names_it_may_mean() -> None:
    with pytest.raises(ConfigError, match="model__C") as caught:
        configure(get_recipe("lr").build(), params={"C": 1.0}, recipe="lr")
    assert caught.value.field == "params"


def test_a_vectorizer_option_is_checked_by_name_before_any_fit() -> None:
    name = "with_text__estimator__features__text__tfidf__negation"
    model = configure(get_recipe("default").build(), params={name: False}, recipe="default")
    assert model.get_params(deep=True)[name] is False
    with pytest.raises(ConfigError, match="negation"):
        configure(get_recipe("default").build(), params={name: "sometimes"}, recipe="default")


def test_train_set_and_seed_are_applied_and_saved(cli, tmp_path: Path, synth_files) -> None:
    out = tmp_path / "m"
    done = cli(["train", "-m", "lr", "-i", synth_files["training_variants"], "-o", out,
                "--set", "model__C=0.25", "--seed", "3"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["params"] == {"model__C": 0.25} and config["seed"] == 3
    from oncoclass.persist import load_bundle

    model = load_bundle(out).model
    assert model.get_params()["model__C"] == 0.25 and model.get_params()["model__random_state"] == 3


def test_library_errors_name_fields_and_the_command_line_its_flags(cli, tmp_path: Path, synth_files) -> None:
    """The library says "folds"; train's message names --cv, as that is train's option for it."""
    refused = cli(
        ["train", "-m", "lr", "-i", synth_files["training_variants"], "-o", tmp_path / "m", "--cv", "1"]
    )
    assert refused.returncode == 2 and refused.stderr.startswith("error: --cv: ")
    unknown = cli(["evaluate", "-m", "lr", "-i", synth_files["training_variants"], "--set", "nope=1"])
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: --set: ")
    # scikit-learn checks a value only when fitting; it is checked before any work, by name.
    invalid = cli(["train", "-m", "lr", "-i", synth_files["training_variants"], "-o", tmp_path / "m",
                   "--set", "model__C=-1"])  # fmt: skip
    assert invalid.returncode == 2 and invalid.stderr.startswith("error: --set: ") and "'C'" in invalid.stderr


def test_the_documented_example_is_a_parameter_of_the_default() -> None:
    """The README's and --help's example of --set names a real parameter of the default."""
    name = "with_text__estimator__features__text__tfidf__min_df"
    configure(get_recipe("default").build(), params={name: 3})


def test_class_weights_are_keyed_by_the_labels_as_written(cli, tmp_path: Path, synth_files) -> None:
    # Kaggle's labels are text ("1"…"9") that scikit-learn reads as numbers when it weighs them:
    # a JSON key "1" was an internal error at fitting. Each key is read as the label it spells.
    data = ["-i", synth_files["training_variants"]]
    done = cli(["train", "-m", "lr", *data, "-o", tmp_path / "m", "--set", 'model__class_weight={"1": 5}'])
    assert done.returncode == 0, done.stderr
    done = cli(["train", "-m", "lr", *data, "-o", tmp_path / "n", "--set", "model__class_weight={12: 5}"])
    assert done.returncode == 2 and "internal error" not in done.stderr
    assert "--set: model__class_weight weighs class '12', which no row is labelled with" in done.stderr
    assert not (tmp_path / "n").exists()


def test_inf_and_nan_are_read_as_floats_and_nan_is_refused_by_name() -> None:
    # "inf" was kept as text ("Got 'inf' instead") while 1e400 was read as infinity.
    assert parse_overrides(["model__C=inf", "b=-Infinity", "d=info"]) == {
        "model__C": math.inf, "b": -math.inf, "d": "info",
    }  # fmt: skip
    assert math.isnan(parse_overrides(["c=NaN"])["c"])
    assert (
        configure(get_recipe("lr").build(), params={"model__C": math.inf}).get_params()["model__C"]
        == math.inf
    )
    with pytest.raises(ConfigError, match="model__C is set to nan") as refused:
        configure(get_recipe("lr").build(), params=parse_overrides(["model__C=nan"]))
    assert refused.value.field == "params"


def test_a_job_count_set_by_name_has_the_cap_n_jobs_has() -> None:
    # --n-jobs is capped at MAX_N_JOBS; the same count through --set started 1000 workers.
    name = next(k for k in get_recipe("default").build().get_params(deep=True) if k.endswith("n_jobs"))
    with pytest.raises(ConfigError, match=f"{name} is 1000; at most {MAX_N_JOBS}"):
        configure(get_recipe("default").build(), params={name: 1000})
    assert configure(get_recipe("default").build(), params={name: 2}).get_params(deep=True)[name] == 2
