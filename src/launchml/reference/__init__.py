"""A NumPy reference network that shows forward and back-propagation step by step.

NumPy only: :mod:`launchml.reference.gradcheck` imports torch inside its functions, and the YAML
reader is imported only when an example file is read.

Example::

    from launchml.reference import load_example, train_step

    ex = load_example("sigmoid-2-3-1")
    trace = train_step(ex.network, ex.inputs, ex.targets, ex.learning_rate)
    trace.loss, trace.backward.weight_grads[0]
"""

from launchml.reference.examples import BUILTIN, Example, load_example
from launchml.reference.functions import (
    ACTIVATIONS,
    LOSSES,
    activate,
    derivative,
    loss_gradient,
    loss_value,
)
from launchml.reference.network import (
    Layer,
    Network,
    StepTrace,
    accuracy,
    random_network,
    train,
    train_step,
)

__all__ = [
    "ACTIVATIONS",
    "BUILTIN",
    "LOSSES",
    "Example",
    "Layer",
    "Network",
    "StepTrace",
    "accuracy",
    "activate",
    "derivative",
    "load_example",
    "loss_gradient",
    "loss_value",
    "random_network",
    "train",
    "train_step",
]
