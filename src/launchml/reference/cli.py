"""``launchml backprop``: print forward and back-propagation of a small network, step by step.

The lead's CLI registers :func:`backprop_command` as ``app.command("backprop")``. The work is done
by :func:`backprop_lines`, which tests and notebooks can call without a CLI.
"""

from __future__ import annotations

import typer

from launchml.errors import InvalidInputError
from launchml.reference.examples import BUILTIN, load_example
from launchml.reference.network import train_step
from launchml.reference.printing import format_header, format_step, format_summary


def backprop_lines(example: str, steps: int = 1, every: int = 1) -> list[str]:
    """Run ``steps`` full-batch SGD steps of an example and return the printed trace as lines.

    Parameters
    ----------
    example: a built-in name (``sigmoid-2-3-1``, ``relu-2-2-1``, ``xor``) or a YAML/JSON file.
    steps: how many gradient steps to take (each over all rows of the example).
    every: print the full trace of step 1, of every ``every``-th step and of the last step; the
        steps in between are taken but not printed.

    >>> lines = backprop_lines("sigmoid-2-3-1")
    >>> lines[0]
    "Example 'sigmoid-2-3-1': one example, sigmoid hidden and output layers, binary cross-entropy"
    """
    for name, value in (("--steps", steps), ("--every", every)):
        if value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value}")
    ex = load_example(example)
    net = ex.network
    lines = format_header(ex)
    first_loss = None
    previous_printed = 0
    for step in range(1, steps + 1):
        trace = train_step(net, ex.inputs, ex.targets, ex.learning_rate, step=step)
        if first_loss is None:
            first_loss = trace.loss
        if step == 1 or step == steps or step % every == 0:
            # Parameters are shown when the reader has not just seen them as the previous
            # step's update.
            show = previous_printed != step - 1 or step == 1
            lines.append("")
            lines += format_step(trace, net, total_steps=steps, show_parameters=show)
            previous_printed = step
    assert first_loss is not None  # steps >= 1
    lines.append("")
    lines += format_summary(ex, steps, first_loss)
    return lines


def backprop_command(
    example: str = typer.Option(
        ...,
        "--example",
        help=f"Built-in example ({', '.join(BUILTIN)}) or a .yaml/.json example file.",
    ),
    steps: int = typer.Option(
        1, "--steps", help="Number of full-batch gradient steps to take (and print)."
    ),
    every: int = typer.Option(
        1,
        "--every",
        help="Print the full trace only of every N-th step (plus the first and the last).",
    ),
) -> None:
    """Print forward and back-propagation step by step: Z, A, loss, deltas, gradients, updates."""
    for line in backprop_lines(example, steps=steps, every=every):
        typer.echo(line)
