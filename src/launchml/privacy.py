"""Differentially private training (DP-SGD) with Opacus, as one layer over the training engine.

``train.privacy: {epsilon, delta, max_grad_norm}`` trains so that the finished model is
(epsilon, delta)-differentially private with respect to the training examples (Abadi et al.
2016, "Deep Learning with Differential Privacy"):

- batches are *Poisson-sampled* (each example joins each batch independently with probability
  ``batch_size / n``), the sampling that the privacy accounting assumes;
- every example's gradient is clipped to ``max_grad_norm`` (Opacus' ``GradSampleModule``
  computes per-example gradients) and Gaussian noise is added to their sum (Opacus'
  ``DPOptimizer``); the engine's own ``train.grad_clip`` is then not used;
- the noise multiplier is calibrated before training so that all ``train.epochs`` epochs spend
  at most ``epsilon``, by Opacus' RDP accountant (Mironov 2017), which also follows the steps
  actually taken: the epsilon spent is in ``history.csv`` (per epoch) and ``meta.json``.

What DP-SGD cannot honour is refused before training, with the fix: batch norm (it mixes the
examples of a batch), weighted classes (the weighted mean couples examples), gradient
accumulation, ensembles (members spend the budget again), tf-idf models, fine-tuned transformer
bodies (only the head on frozen features), and text ``mlp`` models (a bias outside any layer).
LSTMs train with Opacus' ``DPLSTM`` (same weights, same names) and go back to ``nn.LSTM``.

``delta`` defaults to ``min(1e-5, 1 / n)``. The noise comes from torch's generator, not a
cryptographically secure one (Opacus' ``secure_mode`` is off): fine for research and products'
first steps, not a certified guarantee.

Example::

    private = DPTraining(config.train.privacy, epochs=10, batch_size=64, n_examples=50_000)
    engine.fit(module, train, y, val, y_val, config.train, private=private)
    private.spent()   # {"epsilon": 2.97, "delta": 1e-05, "noise_multiplier": 0.94, ...}
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from launchml.config import Config, PrivacyConfig
from launchml.errors import InvalidConfigError

ACCOUNTANT = "rdp"


def check_private(config: Config, kind: str) -> None:
    """Refuse, before anything is written, the settings DP-SGD cannot honour."""
    train = config.train
    if train.privacy is None:
        return
    name = config.model.type
    where = "train.privacy"
    if name == "ensemble":
        raise InvalidConfigError(
            f"{where}: an ensemble trains every member on the same data, spending the privacy "
            "budget once per member; train one model (model.type: "
            f"{config.model.ensemble.member}) with train.privacy"
        )
    if name == "tfidf_logreg":
        raise InvalidConfigError(
            f"{where}: tfidf_logreg is not trained by gradient steps; use mlp, cnn, lstm, "
            "textcnn or transformer (body: frozen) for differentially private training"
        )
    if name == "transformer" and config.model.transformer.body != "frozen":
        raise InvalidConfigError(
            f"{where}: a fine-tuned transformer body is not trained privately here; set "
            "model.transformer.body=frozen (the head trains with DP-SGD on frozen features)"
        )
    if name == "cnn" and config.model.cnn.batch_norm:
        raise InvalidConfigError(
            f"{where}: batch norm mixes the examples of a batch, which DP-SGD cannot allow; "
            "set model.cnn.batch_norm=false"
        )
    if name == "mlp" and kind == "text":
        raise InvalidConfigError(
            f"{where}: an mlp over texts keeps a bias outside any layer, for which Opacus has "
            "no per-example gradients; use textcnn or lstm for private text models"
        )
    if train.class_weights != "none":
        raise InvalidConfigError(
            f"{where}: train.class_weights weighs each example by the other examples of its "
            "batch, which breaks per-example clipping; set train.class_weights=none"
        )
    if train.accumulate != 1:
        raise InvalidConfigError(
            f"{where}: gradient accumulation is not supported with DP-SGD; set "
            "train.accumulate=1 and a larger train.batch_size instead"
        )


class DPTraining:
    """The engine's ``private`` hook: Poisson batches, per-example clipping, noise, accounting.

    One object may serve several ``engine.fit`` calls on the same data (a federated client's
    rounds): its accountant adds them all up, and ``epochs`` is the total over the calls.
    """

    def __init__(
        self, options: PrivacyConfig, epochs: int, batch_size: int, n_examples: int
    ) -> None:
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier

        if n_examples < 2:
            raise InvalidConfigError("train.privacy: needs at least 2 training examples")
        self.options = options
        self.n_examples = n_examples
        self.batch_size = min(batch_size, n_examples)
        self.sample_rate = self.batch_size / n_examples
        self.steps_per_epoch = math.ceil(n_examples / self.batch_size)
        self.delta = options.delta if options.delta is not None else min(1e-5, 1.0 / n_examples)
        self.planned_steps = epochs * self.steps_per_epoch
        with warnings.catch_warnings():  # "optimal order is the largest alpha": tiny datasets
            warnings.simplefilter("ignore")
            self.noise_multiplier = float(
                get_noise_multiplier(
                    target_epsilon=options.epsilon,
                    target_delta=self.delta,
                    sample_rate=self.sample_rate,
                    steps=self.planned_steps,
                    accountant=ACCOUNTANT,
                )
            )
        self.accountant = RDPAccountant()
        self._sample_module: Any = None

    # -- the engine's hook --------------------------------------------------------------------

    def attach(
        self, module: nn.Module, optimizer: torch.optim.Optimizer, steps_done: int = 0
    ) -> tuple[nn.Module, torch.optim.Optimizer]:
        """The module to train through (per-example gradients) and the optimizer to step
        (clip, noise, account). ``steps_done``: steps of a resumed run already accounted."""
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer
        from opacus.validators import ModuleValidator

        # Opacus' per-example gradient hooks fire on module outputs when the inputs need no
        # gradient (token ids, images): torch warns at every backward pass; expected here
        warnings.filterwarnings(
            "ignore", message="Full backward hook is firing when gradients", category=UserWarning
        )
        module.train()  # as the engine trains it (the validator checks training mode)
        problems = ModuleValidator.validate(module, strict=False)
        if problems:
            raise InvalidConfigError(f"train.privacy: {str(problems[0]).splitlines()[0]}")
        if steps_done and not self.accountant.history:
            self.accountant.history = [(self.noise_multiplier, self.sample_rate, steps_done)]
        with warnings.catch_warnings():  # Opacus warns about secure_mode being off: documented
            warnings.simplefilter("ignore")
            self._sample_module = GradSampleModule(module, loss_reduction="mean")
            private = DPOptimizer(
                optimizer,
                noise_multiplier=self.noise_multiplier,
                max_grad_norm=self.options.max_grad_norm,
                expected_batch_size=self.batch_size,
                loss_reduction="mean",
            )
        private.attach_step_hook(self.accountant.get_optimizer_hook_fn(self.sample_rate))
        return self._sample_module, private

    def epoch_batches(self, generator: torch.Generator, n_batches: int) -> list[torch.Tensor]:
        """``n_batches`` Poisson-sampled batches: each example joins each batch with
        probability ``batch_size / n``, drawn from ``generator`` (resumes stay exact)."""
        draws = torch.rand((n_batches, self.n_examples), generator=generator)
        return [torch.nonzero(row < self.sample_rate).flatten() for row in draws]

    def epoch_report(self) -> dict[str, float]:
        """Merged into each epoch's history row: the epsilon spent so far."""
        return {"epsilon": self.epsilon()}

    def detach(self) -> None:
        """Remove Opacus' hooks from the module (the weights stay)."""
        if self._sample_module is not None:
            self._sample_module._close()
            self._sample_module = None

    # -- results ------------------------------------------------------------------------------

    def epsilon(self) -> float:
        if not self.accountant.history:
            return 0.0
        with warnings.catch_warnings():  # "optimal order is the largest alpha": a looser bound
            warnings.simplefilter("ignore")
            return float(self.accountant.get_epsilon(self.delta))

    def spent(self) -> dict[str, Any]:
        """What ``meta.json`` records under ``privacy``."""
        steps = sum(n for _, _, n in self.accountant.history)
        return {
            "epsilon": round(self.epsilon(), 4),
            "target_epsilon": self.options.epsilon,
            "delta": self.delta,
            "max_grad_norm": self.options.max_grad_norm,
            "noise_multiplier": round(self.noise_multiplier, 4),
            "sample_rate": self.sample_rate,
            "steps": steps,
            "planned_steps": self.planned_steps,
            "accountant": ACCOUNTANT,
            "sampling": "poisson",
            "library": f"opacus {_opacus_version()}",
        }


@contextlib.contextmanager
def dp_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Inside the block every ``nn.LSTM`` of ``module`` is an Opacus ``DPLSTM`` with the same
    weights (``nn.LSTM``'s fused kernels give no per-example gradients); afterwards the
    ``nn.LSTM`` is back, holding the trained weights (the two name their weights alike)."""
    from opacus.layers import DPLSTM

    swapped: list[tuple[nn.Module, str, nn.LSTM, nn.Module]] = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.LSTM):
                if not child.batch_first:  # pragma: no cover - launchml's LSTMs are batch-first
                    raise InvalidConfigError("train.privacy: DPLSTM needs batch_first LSTMs")
                private = DPLSTM(
                    child.input_size,
                    child.hidden_size,
                    num_layers=child.num_layers,
                    bias=child.bias,
                    batch_first=True,
                    dropout=child.dropout,
                    bidirectional=child.bidirectional,
                )
                private.load_state_dict(child.state_dict())
                setattr(parent, name, private)
                swapped.append((parent, name, child, private))
    try:
        yield module
    finally:
        for parent, name, original, private in swapped:
            original.load_state_dict(private.state_dict())
            setattr(parent, name, original)


def _opacus_version() -> str:
    from importlib.metadata import version

    return version("opacus")


__all__ = ["ACCOUNTANT", "DPTraining", "check_private", "dp_layers"]
