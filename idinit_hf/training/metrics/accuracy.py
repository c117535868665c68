"""Top-1 accuracy as a local ``evaluate`` module.

Shipped with the package and loaded by path (``evaluate.load(<this file>)``): ``evaluate.load("accuracy")``
fetches the script from the hub and fails offline.
"""

import datasets
import evaluate

_DESCRIPTION = "Fraction of predictions equal to the references."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted class (or token) ids.
    references (list of int): true class (or token) ids.
Returns:
    accuracy (float): correct / total, in [0, 1]; nan when there is nothing to score.
"""


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        total = len(references)
        correct = sum(int(p == r) for p, r in zip(predictions, references, strict=True))
        return {"accuracy": correct / total if total else float("nan")}
