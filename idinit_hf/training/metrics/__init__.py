"""Evaluation: local ``evaluate`` modules (``accuracy.py``, ``perplexity.py``, loaded by path so they work
offline) and one evaluator per task that turns model outputs into their inputs, gathered across ranks with
``accelerator.gather_for_metrics`` (which drops the samples duplicated to even out the last batch)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

METRICS_DIR = Path(__file__).resolve().parent


def load_metric(name: str):
    """The local ``evaluate`` module ``name`` (``"accuracy"`` or ``"perplexity"``), kept in memory.

    ``keep_in_memory`` avoids the cache files (and their locks) that would clash between ranks.
    """
    import evaluate  # here, not at the top: it takes two seconds and the task table imports this module

    return evaluate.load(str(METRICS_DIR / f"{name}.py"), keep_in_memory=True)


class LanguageModelEvaluator:
    """Loss and perplexity over the scored tokens; for masked LM also the accuracy on the masked tokens.

    Causal LM scores every token but the first of each block (the labels are shifted); masked LM scores the
    masked positions (labels != -100).
    """

    def __init__(self, masked: bool):
        self.masked = masked
        self.perplexity = load_metric("perplexity")
        self.accuracy = load_metric("accuracy") if masked else None

    def forward(self, model, batch) -> dict[str, torch.Tensor]:
        """Per-sequence NLL sums and token counts (and masked-token predictions) of one batch."""
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits.float()
        if not self.masked:  # position t predicts token t+1
            logits, labels = logits[:, :-1], labels[:, 1:]
        scored = labels != -100
        nll = F.cross_entropy(logits.transpose(1, 2), labels.masked_fill(~scored, 0), reduction="none")
        out = {"nll": (nll * scored).sum(1).double(), "num_tokens": scored.sum(1)}
        if self.masked:
            out["predictions"] = logits.argmax(-1).masked_fill(~scored, -100)
            out["references"] = labels.masked_fill(~scored, -100)
        return out

    def add(self, gathered: dict[str, torch.Tensor]) -> None:
        self.perplexity.add_batch(nll=gathered["nll"].tolist(), num_tokens=gathered["num_tokens"].tolist())
        if self.masked:
            keep = gathered["references"] != -100
            self.accuracy.add_batch(predictions=gathered["predictions"][keep].tolist(),
                                    references=gathered["references"][keep].tolist())

    def compute(self) -> dict[str, float]:
        result = self.perplexity.compute()
        metrics = {"eval_loss": result["loss"], "perplexity": result["perplexity"]}
        if self.masked:
            metrics["accuracy"] = self.accuracy.compute()["accuracy"]
        return metrics


class ClassificationEvaluator:
    """Mean cross-entropy loss and top-1 accuracy of an image classifier."""

    def __init__(self):
        self.accuracy = load_metric("accuracy")
        self.loss_sum = 0.0
        self.count = 0

    def forward(self, model, batch) -> dict[str, torch.Tensor]:
        logits = model(pixel_values=batch["pixel_values"]).logits.float()
        nll = F.cross_entropy(logits, batch["labels"], reduction="none").double()
        return {"nll": nll, "predictions": logits.argmax(-1), "references": batch["labels"]}

    def add(self, gathered: dict[str, torch.Tensor]) -> None:
        self.loss_sum += float(gathered["nll"].sum())
        self.count += int(gathered["nll"].numel())
        self.accuracy.add_batch(predictions=gathered["predictions"].tolist(),
                                references=gathered["references"].tolist())

    def compute(self) -> dict[str, float]:
        loss = self.loss_sum / self.count if self.count else float("nan")
        self.loss_sum, self.count = 0.0, 0
        return {"eval_loss": loss, "accuracy": self.accuracy.compute()["accuracy"]}
