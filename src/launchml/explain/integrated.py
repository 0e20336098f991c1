"""Integrated Gradients (Sundararajan et al., 2017) through Captum, with a convergence check.

IG attributes the change of a class logit between a baseline ``b`` and the input ``x`` to the
input's features: ``(x_i - b_i) * mean over the path of dF/dx_i``. Its *completeness* axiom says
the attributions add up to ``F(x) - F(b)``; with a finite number of integration steps they do so
only approximately, and Captum returns the gap (``return_convergence_delta``). We start with
:data:`STEPS` ``[0]`` steps and double them until ``|delta| <= tolerance`` or the last entry is
reached; the explanation records the steps used, the delta, the tolerance and whether it held.

The tolerance is ``max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * |F(x) - F(b)|)``: 5% of the
logit change being explained, and at least 0.01 logits (a change that small explains nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from launchml.explain.result import Completeness

#: integration steps tried in turn until the attributions converge
STEPS: tuple[int, ...] = (64, 128, 256, 512)
RELATIVE_TOLERANCE = 0.05
ABSOLUTE_TOLERANCE = 0.01
#: interpolated inputs per forward pass (bounds memory for long texts and big models)
INTERNAL_BATCH = 32


def tolerance(difference: float) -> float:
    """How far the attributions' sum may be from ``F(x) - F(b)``."""
    return max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * abs(difference))


def converge(
    attribute: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    difference: float,
    steps: int | None = None,
) -> tuple[torch.Tensor, Completeness]:
    """Run ``attribute(n_steps) -> (attributions, delta)`` (a Captum IG call with
    ``return_convergence_delta=True``) with more steps until it converges.

    ``difference`` is ``F(x) - F(b)``. ``steps`` fixes the number of steps (no doubling).
    Returns the attributions and the :class:`Completeness` of the last try.
    """
    schedule = (steps,) if steps is not None else STEPS
    limit = tolerance(difference)
    for n in schedule:
        attributions, delta = attribute(n)
        gap = float(delta.detach().reshape(-1)[0])
        if abs(gap) <= limit:
            break
    check = Completeness(
        attribution_sum=float(attributions.detach().double().sum()),
        expected=difference,
        delta=gap,
        tolerance=limit,
        steps=n,
        converged=abs(gap) <= limit,
    )
    return attributions.detach(), check


def target_logit(forward: Callable[..., torch.Tensor], target: int, *inputs: torch.Tensor) -> float:
    """The ``target`` logit of a one-example batch."""
    with torch.no_grad():
        return float(forward(*inputs)[0, target])


def convergence_note(check: Completeness) -> str | None:
    """A warning for an explanation whose attributions did not add up within the tolerance."""
    if check.converged:
        return None
    return (
        f"Integrated Gradients did not converge in {check.steps} steps: the attributions sum "
        f"to {check.attribution_sum:.4f} but the logit changed by {check.expected:.4f} (delta "
        f"{check.delta:.4f}, tolerance {check.tolerance:.4f}); read them as approximate"
    )


__all__ = [
    "ABSOLUTE_TOLERANCE",
    "INTERNAL_BATCH",
    "RELATIVE_TOLERANCE",
    "STEPS",
    "converge",
    "convergence_note",
    "target_logit",
    "tolerance",
]
