"""The scripts behind docs/BENCHMARKS.md (run each as a script; see its docstring).

A regular package, not a namespace one: opacus 1.6.0 installs a top-level ``benchmarks``
package of its own into site-packages, which would otherwise shadow this folder for
``from benchmarks.serve_load import ...`` in the tests.
"""
