"""How a diffusion trajectory is analysed: frame selection, the lag grid, the window rule, uncertainties.

Kept apart from the numerical modules so that validating a config imports only
pydantic. Every default is documented here, once.

The diffusive window rule (see :mod:`simkit.diffusion.window`): a lag of the
grid is *diffusive* when the local log-log slope of the MSD is within
``slope_tolerance`` of 1 and the non-Gaussian parameter alpha_2 is within
``alpha2_tolerance`` of 0; the window is the longest run of consecutive
diffusive lags (longest in log time) with at least ``min_window_points``
lags spanning at least a factor ``min_window_ratio`` in time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from simkit.config.schema import Schema


class AnalysisSettings(Schema):
    """Analysis of each temperature's production trajectory (all lags are multiples of the frame interval)."""

    start_ps: float = Field(default=0.0, ge=0, description="skip production frames before this time (ps)")
    stride: int = Field(default=1, ge=1, description="use every stride-th frame")
    max_lag_fraction: float = Field(
        default=0.5, gt=0, le=1, description="longest lag considered for the window, as a fraction of the run"
    )
    lag_points_per_decade: int = Field(default=10, ge=2, description="log-spaced lags of the grid per decade")
    linear_lag_points: int = Field(default=50, ge=0, description="evenly spaced lags added to the grid")
    slope_tolerance: float = Field(default=0.1, gt=0, description="allowed |d ln MSD / d ln t - 1| in the window")
    slope_span: float = Field(
        default=2.0, gt=1, description="local slope fitted over lags within this factor around each lag"
    )
    alpha2_tolerance: float = Field(default=0.1, gt=0, description="allowed |alpha_2| in the window")
    min_window_points: int = Field(default=5, ge=3, description="fewest grid lags in a window")
    min_window_ratio: float = Field(default=2.0, ge=1, description="smallest stop/start time ratio of a window")
    bootstrap_samples: int = Field(default=1000, ge=50, description="resamples of the bootstrap over particles")
    collective: bool = Field(default=True, description="also collective (centre-of-species) and charge diffusion")
    time_blocks: int = Field(
        default=10, ge=2, description="at most this many time blocks for the errors of collective/charge diffusion"
    )
    van_hove_lags_ps: list[float] | None = Field(
        default=None, description="lags of the self van Hove function (ps; default: 4 log-spaced lags)"
    )
    van_hove_bin_width_A: float = Field(default=0.05, gt=0, description="histogram bin of |displacement| (Å)")
    memory_MiB: float = Field(default=1024.0, gt=0, description="memory budget of the pass over the trajectory")
    arrhenius_include: Literal["diffusive", "all"] = Field(
        default="diffusive", description="temperatures in the Arrhenius fits: only those with a diffusive window"
    )

    @field_validator("van_hove_lags_ps")
    @classmethod
    def _positive_lags(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (not value or min(value) <= 0):
            raise ValueError("van Hove lags must be a non-empty list of positive times (ps)")
        return value
