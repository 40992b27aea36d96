"""Calibration: the booster's margin -> P(opening this parcel finds contraband), with resolution.

The calibrated ``risk_score`` must keep the ranking's resolution: a step
function (isotonic regression, what parcelrisk used before) maps thousands of
margins to one value, so a selected item shows the same score as thousands of
unselected ones. :class:`Calibrator` is **beta calibration** (Kull, Silva
Filho and Flach, AISTATS 2017) on the booster's own probability
``s = sigmoid(margin)``::

    logit(risk) = c + a * log(s) - b * log(1 - s)        with a, b >= 0, a + b > 0

which is strictly increasing in the margin (its derivative is
``a * (1 - s) + b * s > 0``), so distinct margins give distinct scores, and
has three parameters, so it needs few positives (the calibration days have
tens of seizures; the control sample a handful). With ``a == b`` it is Platt
scaling on the margin. If the unconstrained fit gives a negative ``a`` or
``b``, that term is dropped and the fit repeated (as the authors' own
package does); if the slope still is not positive, a Platt fit on the margin
is used, and if even that fails, the identity map. Measured against Platt
and isotonic in ``benchmarks/CALIBRATION.md``.

Models saved before this change carry an isotonic step map (``x``/``y``);
they still load and score as before (``method: "isotonic"``).

:func:`expected_calibration_error` and :func:`reliability_table` measure it,
optionally with inverse-propensity weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Calibrator", "expected_calibration_error", "reliability_table"]

#: Inverse regularisation of the logistic fits: large, i.e. almost unpenalised (three parameters).
_C = 1e4


def _log_terms(margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log s, -log(1 - s)) of s = sigmoid(margin), computed stably from the margin."""
    m = np.asarray(margin, dtype="float64")
    return -np.logaddexp(0.0, -m), np.logaddexp(0.0, m)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _logistic(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, float] | None:
    """Weighted logistic fit (coefficients, intercept), or None when one class is missing."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return None
    fit = LogisticRegression(C=_C, solver="lbfgs", max_iter=1000)
    fit.fit(X, y, sample_weight=weight)
    return fit.coef_[0].astype("float64"), float(fit.intercept_[0])


@dataclass
class Calibrator:
    """Monotone map from the booster's margin (log-odds) to P(inspection finds contraband).

    ``method`` "beta": ``logit(p) = c + a log s - b log(1 - s)``, ``s = sigmoid(margin)``.
    ``method`` "isotonic" (models saved before beta calibration): linear interpolation
    of ``y`` over ``x`` (raw probabilities). Stored as JSON (:meth:`to_dict`), never pickled.
    """

    method: str = "beta"
    a: float = 1.0
    b: float = 1.0
    c: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    @classmethod
    def fit(
        cls, margin: np.ndarray, outcome: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Calibrator:
        """Fit beta calibration on margins and 0/1 outcomes (weights: e.g. 1/propensity)."""
        y = np.asarray(outcome, dtype="int64")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        log_s, log_1s = _log_terms(margin)
        both = _logistic(np.column_stack([log_s, log_1s]), y, w)
        if both is None:
            return cls.identity()
        (a, b), c = both
        if a < 0 or b < 0:  # drop the offending term and refit with the other one alone
            keep = 1 if a < 0 else 0
            one = _logistic((log_s, log_1s)[keep][:, None], y, w)
            if one is not None and one[0][0] > 0:
                a, b, c = (
                    (0.0, float(one[0][0]), one[1]) if keep else (float(one[0][0]), 0.0, one[1])
                )
            else:
                platt = _logistic(np.asarray(margin, dtype="float64")[:, None], y, w)
                if platt is None or platt[0][0] <= 0:
                    return cls.identity()
                a = b = float(platt[0][0])
                c = platt[1]
        if a + b <= 0:
            return cls.identity()
        return cls("beta", float(a), float(b), float(c))

    @classmethod
    def identity(cls) -> Calibrator:
        """risk = sigmoid(margin): the booster's own probability."""
        return cls("beta", 1.0, 1.0, 0.0)

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probability of each margin (strictly increasing for "beta")."""
        m = np.asarray(margin, dtype="float64")
        if self.method == "isotonic":
            raw = _sigmoid(m)
            return raw if len(self.x) < 2 else np.interp(raw, self.x, self.y)
        log_s, log_1s = _log_terms(m)
        return _sigmoid(self.c + self.a * log_s + self.b * log_1s)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON parameters (finite floats only)."""
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"method": "beta", "a": self.a, "b": self.b, "c": self.c}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Read :meth:`to_dict` output; a dict with only ``x``/``y`` is an older isotonic map."""
        method = str(data.get("method", "isotonic"))
        if method == "isotonic":
            return cls("isotonic", x=[float(v) for v in data["x"]], y=[float(v) for v in data["y"]])
        if method != "beta":
            from parcelrisk.errors import ModelError

            raise ModelError(f"unknown calibration method {method!r}")
        return cls("beta", float(data["a"]), float(data["b"]), float(data["c"]))


def reliability_table(
    score: np.ndarray | pd.Series,
    outcome: np.ndarray | pd.Series,
    weight: np.ndarray | pd.Series | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """Mean predicted vs observed rate in ``bins`` equal-count score bins.

    Columns: ``mean_score``, ``observed``, ``items``, ``weight`` (sum of
    weights), ``low``/``high`` (95% Wilson interval of the observed rate on the
    bin's effective sample size). Weighted by ``weight`` when given (e.g.
    1/propensity, so the table describes the whole population).
    """
    from parcelrisk.evaluate import wilson_interval

    s = np.asarray(score, dtype="float64")
    y = np.asarray(outcome, dtype="float64")
    w = np.ones_like(s) if weight is None else np.asarray(weight, dtype="float64")
    if len(s) == 0:
        return pd.DataFrame(columns=["mean_score", "observed", "items", "weight", "low", "high"])
    order = np.argsort(s, kind="stable")
    bin_of = np.empty(len(s), dtype=np.int64)
    bin_of[order] = np.arange(len(s)) * min(bins, len(s)) // len(s)
    frame = pd.DataFrame({"b": bin_of, "s": s * w, "y": y * w, "w": w, "w2": w * w})
    g = frame.groupby("b").sum()
    g["items"] = frame.groupby("b").size()
    out = pd.DataFrame(
        {
            "mean_score": g["s"] / g["w"],
            "observed": g["y"] / g["w"],
            "items": g["items"],
            "weight": g["w"],
        }
    ).reset_index(drop=True)
    ess = (g["w"] ** 2 / g["w2"]).to_numpy()
    intervals = [wilson_interval(o * n, n) for o, n in zip(out["observed"], ess, strict=True)]
    out["low"] = [lo for lo, _ in intervals]
    out["high"] = [hi for _, hi in intervals]
    return out


def expected_calibration_error(
    score: np.ndarray | pd.Series,
    outcome: np.ndarray | pd.Series,
    weight: np.ndarray | pd.Series | None = None,
    bins: int = 10,
) -> float:
    """Expected calibration error: sum over equal-count bins of (bin weight share) x |mean score - rate|.

    >>> round(expected_calibration_error([0.1, 0.1, 0.9, 0.9], [0, 0, 1, 1], bins=2), 3)
    0.1
    """
    table = reliability_table(score, outcome, weight, bins)
    if table.empty:
        return float("nan")
    share = table["weight"] / table["weight"].sum()
    return float((share * (table["mean_score"] - table["observed"]).abs()).sum())
