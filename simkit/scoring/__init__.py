"""Where results leave a fit: errors of a deployed potential evaluated in LAMMPS, the loss, parity plots."""

from simkit.scoring.metrics import Metrics, Predictions, Scores, compute_metrics, score

__all__ = ["Metrics", "Predictions", "Scores", "compute_metrics", "score"]
