"""Batch scoring: a file of texts (or image paths) in, predictions out, streamed in chunks.

- :mod:`~launchml.scoring.readers`: CSV / TSV / JSONL / Parquet read as tables (the text column
  picked as in training, or ``--column``), plain text files as one input per line, in chunks;
- :mod:`~launchml.scoring.score`: a run or bundle scoring those chunks in order, in one process
  or N (each loads the model once; at most two chunks per process in flight);
- :mod:`~launchml.scoring.writers`: CSV or Parquet output written as it goes, renamed into place
  at the end;
- :mod:`~launchml.scoring.files`: :func:`score_file`, the three together with a progress bar.

Memory does not grow with the file: only a few chunks exist at any time
(``benchmarks/batch_scoring.py`` measures peak RSS for 10k to 1M rows).

Example::

    from launchml.scoring import score_file
    score_file("runs/banking", "tickets.parquet", "scored.parquet", top=3, nproc=2)
"""

from launchml.scoring.files import Summary, iter_scored, score_file

__all__ = ["Summary", "iter_scored", "score_file"]
