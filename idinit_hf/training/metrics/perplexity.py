"""Perplexity = exp(mean token negative log-likelihood), as a local ``evaluate`` module.

Takes the model's own per-sequence summed NLL and token counts, so it needs no model of its own (the hub
"perplexity" metric loads a separate model and fails offline). Loaded by path.
"""

import math

import datasets
import evaluate

_DESCRIPTION = "Perplexity exp(sum(nll) / sum(num_tokens)) and the mean token loss."
_KWARGS_DESCRIPTION = """
Args:
    nll (list of float): summed negative log-likelihood (nats) of the scored tokens of each sequence.
    num_tokens (list of int): number of scored tokens of each sequence.
Returns:
    loss (float): mean NLL per token; perplexity (float): exp(loss), inf if it overflows.
"""


class Perplexity(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"nll": datasets.Value("float64"), "num_tokens": datasets.Value("int64")}),
        )

    def _compute(self, nll, num_tokens):
        tokens = sum(num_tokens)
        if tokens == 0:
            return {"loss": float("nan"), "perplexity": float("nan")}
        loss = sum(nll) / tokens
        try:
            perplexity = math.exp(loss)
        except OverflowError:
            perplexity = float("inf")
        return {"loss": loss, "perplexity": perplexity}
