"""How a study samples and prunes: Optuna's TPE or random sampler, seeded per trial, and the
median or successive-halving pruner (``tune.sampler``, ``tune.pruner``).

Example::

    sampler = SeededPerTrial("tpe", seed=0, startup_trials=5)
    pruner = make_pruner(config.tune)
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.samplers import BaseSampler

from launchml.config import TuneConfig


def make_pruner(options: TuneConfig) -> optuna.pruners.BasePruner:
    """``median``: prune a trial whose epoch-n metric is worse than the median of the earlier
    trials at epoch n (after ``startup_trials`` trials and ``warmup_epochs`` epochs);
    ``halving``: successive halving from ``warmup_epochs`` (at least 1) epochs; ``none``."""
    if options.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=options.startup_trials, n_warmup_steps=options.warmup_epochs
        )
    if options.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, options.warmup_epochs))
    return optuna.pruners.NopPruner()


class SeededPerTrial(BaseSampler):
    """Optuna's TPE (or random) sampler, seeded afresh for each trial from ``(seed, number)``.

    One seeded sampler per process would make two workers draw the same parameters; a seed per
    trial number (unique in the storage) keeps workers apart and a one-worker study
    reproducible. TPE itself keeps no state between trials: it reads the study's history.
    """

    def __init__(self, kind: str, seed: int, startup_trials: int) -> None:
        self.kind, self.seed, self.startup_trials = kind, seed, startup_trials
        self._samplers: dict[int, Any] = {}

    def _for(self, trial: Any) -> Any:
        number = trial.number
        if number not in self._samplers:
            seed = (self.seed * 1_000_003 + number) % 2**32
            self._samplers[number] = (
                optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup_trials)
                if self.kind == "tpe"
                else optuna.samplers.RandomSampler(seed=seed)
            )
        return self._samplers[number]

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        return self._for(trial).sample_independent(study, trial, name, distribution)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._samplers.pop(trial.number).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:  # called by Optuna for n_jobs > 1 threads; seeds are per trial
        return None
