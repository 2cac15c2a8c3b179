"""Fitting backends (SNAP, ACE) behind one interface, and the fit-and-score step of a candidate.

Layout: :mod:`~simkit.fitting.base` (common config, Fitter protocol),
:mod:`~simkit.fitting.registry` (backend names -> modules), one module per
backend (:mod:`~simkit.fitting.snap`, :mod:`~simkit.fitting.ace` with
:mod:`~simkit.fitting.pacemaker`), :mod:`~simkit.fitting.linear` (solvers),
:mod:`~simkit.fitting.candidate` (:func:`fit_and_score`, :func:`run_fit`).
Import from the submodules; this package imports nothing heavy.
"""
