"""A recipe's estimator adjusted for one run: the seed, the parallel jobs, and any parameter the
user overrides with ``--set step__param=value`` (scikit-learn's nested parameter names, as
``get_params(deep=True)`` lists them; :func:`oncoclass.config.parse_overrides` reads them).
Training saves the overrides in ``config.json``, so a model can be retrained exactly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from oncoclass.config import MAX_N_JOBS
from oncoclass.errors import ConfigError


def _is_jobs(name: str) -> bool:
    return name == "n_jobs" or name.endswith("__n_jobs")


def _depth(name: str) -> int:
    return name.count("__")


def configure(
    model: Any,
    *,
    seed: int | None = None,
    n_jobs: int | None = None,
    params: dict[str, Any] | None = None,
    recipe: str = "",
) -> Any:
    """``model`` with every ``random_state`` set to ``seed``, the outermost ``n_jobs`` (the fold
    fits that run side by side; inner ones stay as the recipe chose, so threads do not multiply)
    set to ``n_jobs``, then ``params`` applied. An unknown parameter is refused with the names
    it could have meant."""
    known = model.get_params(deep=True)
    updates: dict[str, Any] = {}
    if seed is not None:
        updates |= {k: seed for k in known if k == "random_state" or k.endswith("__random_state")}
    if n_jobs is not None:
        jobs = [k for k in known if _is_jobs(k)]
        if jobs:
            outermost = min(map(_depth, jobs))
            updates |= {k: n_jobs for k in jobs if _depth(k) == outermost}
    unknown = [name for name in params or {} if name not in known]
    if unknown:
        tail = unknown[0].rsplit("__", 1)[-1]
        near = [k for k in known if k.endswith("__" + tail) or k == tail][:5]
        raise ConfigError(
            f"recipe {recipe or type(model).__name__} has no parameter {unknown[0]!r}.",
            field="params",
            hint=(f"Did you mean {', '.join(near)}? " if near else "")
            + "`oncoclass models --params NAME` lists every parameter.",
        )
    for name, value in (params or {}).items():
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{name} is set to nan, which is no value.", field="params")
        # The cap --n-jobs has: a job count set by name is the same number of processes.
        if _is_jobs(name) and isinstance(value, int) and value > MAX_N_JOBS:
            raise ConfigError(
                f"{name} is {value}; at most {MAX_N_JOBS} parallel jobs may be asked for.",
                field="params",
            )
    updates |= params or {}
    if updates:
        try:
            model.set_params(**updates)
            if params:  # scikit-learn checks values only when fitting: check them now, by name
                for estimator in [
                    model,
                    *(v for v in model.get_params(deep=True).values() if hasattr(v, "fit")),
                ]:
                    if hasattr(estimator, "_parameter_constraints"):
                        estimator._validate_params()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot set {', '.join(sorted(params or {}))}: {exc}", field="params") from exc
    return model


def _sklearn_class_key(label: str) -> object:
    """The key under which the installed scikit-learn looks ``label`` up in a ``class_weight``
    dict: the label itself, or (scikit-learn 1.9 reads a class that parses as a whole number as
    that number) the number."""
    from sklearn.utils.class_weight import compute_class_weight

    one = np.asarray([label], dtype=object)
    try:
        compute_class_weight({label: 1.0}, classes=one, y=one)
        return label
    except ValueError:
        return int(label)


def weigh_classes(model: Any, labels: list[str]) -> Any:
    """``model`` with every ``class_weight`` dict (``--set model__class_weight={"1":5}``) keyed
    as scikit-learn looks its ``labels`` up. Labels are text, and a dict's keys are written as
    JSON text or Python numbers: each key is read as the label it spells, and one that names no
    label is refused (scikit-learn would stop at fitting with an error that names no option)."""
    params = model.get_params(deep=True)
    weights = {k: v for k, v in params.items() if k.split("__")[-1] == "class_weight" and isinstance(v, dict)}
    updates: dict[str, dict[object, Any]] = {}
    for name, given in weights.items():
        unknown = [str(key) for key in given if str(key) not in labels]
        if unknown:
            raise ConfigError(
                f"{name} weighs class {unknown[0]!r}, which no row is labelled with.",
                field="params",
                hint=f"The labels are: {', '.join(labels[:20])}.",
            )
        updates[name] = {_sklearn_class_key(str(key)): value for key, value in given.items()}
    return model.set_params(**updates) if updates else model
