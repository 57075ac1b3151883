"""ReduceLROnPlateau: the rate drops when a metric passed to ``scheduler.step(metric)`` stops improving.

The decision depends on values the loop computes (a validation loss), once per call, so it is Python
state beside the optimizer rather than an Optax schedule of the step count (Optax's
``contrib.reduce_on_plateau`` instead scales every update by a factor it tracks per update, which is
not when torch changes the rate). The translation keeps the call sites: the scheduler is built over
the ``nnx.Optimizer`` (whose rate is injected) and ``scheduler.step(metric)`` sets that rate, with
torch's rules (mode, threshold_mode, patience, cooldown, min_lr, eps).
"""

from __future__ import annotations

from torch2jax.training.errors import NotTranslatable

NAME = "ReduceLROnPlateau"
SIGNATURE = ["optimizer", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"]

SOURCE = '''class ReduceLROnPlateau:
    """torch's ReduceLROnPlateau over an nnx.Optimizer with an injected learning rate: each
    step(metric) counts epochs without improvement and, after `patience` of them, scales the rate."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.min_lr, self.eps = (
            threshold, threshold_mode, cooldown, min_lr, eps)
        self.best = float("inf") if mode == "min" else float("-inf")
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def is_better(self, current):
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return current < self.best - self.threshold
        if self.threshold_mode == "rel":
            return current > self.best * (self.threshold + 1.0)
        return current > self.best + self.threshold

    def step(self, metric):
        current = float(metric)
        if self.is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            rate = self.optimizer.opt_state.hyperparams["learning_rate"]
            old = float(rate[...])
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                rate[...] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def get_last_lr(self):
        return [float(self.optimizer.opt_state.hyperparams["learning_rate"][...])]
'''


def check_arguments(args: dict[str, str]) -> None:
    """Options torch takes that this translation does not (a per-group min_lr list)."""
    unknown = set(args) - set(SIGNATURE) - {"verbose"}
    if unknown:
        raise NotTranslatable("T2J302", f"ReduceLROnPlateau argument(s) {sorted(unknown)} are not translated")
    if args.get("min_lr", "").lstrip().startswith(("[", "(")):
        raise NotTranslatable("T2J204", "ReduceLROnPlateau with a min_lr per parameter group is not translated")
