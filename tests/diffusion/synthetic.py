"""Synthetic trajectories with known diffusion coefficients (unwrapped positions, Å and ps)."""

from __future__ import annotations

import numpy as np


def gaussian_walk(rng: np.random.Generator, atoms: int, frames: int, D_A2_per_ps: float, dt_ps: float,
                  box_A: float = 30.0) -> np.ndarray:
    """Brownian particles: independent Gaussian steps of variance 2 D dt per axis, so MSD(t) = 6 D t exactly."""
    steps = rng.normal(0.0, np.sqrt(2.0 * D_A2_per_ps * dt_ps), size=(frames, atoms, 3))
    steps[0] = rng.uniform(0.0, box_A, size=(atoms, 3))
    return np.cumsum(steps, axis=0)


def ou_walk(rng: np.random.Generator, atoms: int, frames: int, dt_ps: float, tau_frames: float,
            speed_A_per_ps: float) -> tuple[np.ndarray, float]:
    """Ballistic at short times, diffusive at long times: velocities follow an AR(1) (discrete
    Ornstein-Uhlenbeck) process with correlation time ``tau_frames``, positions their Euler sum.

    Returns positions and the exact long-time D = dt sigma_v^2 (1 + a) / (2 (1 - a)), a = exp(-1/tau).
    """
    a = np.exp(-1.0 / tau_frames)
    velocity = rng.normal(0.0, speed_A_per_ps, size=(atoms, 3))
    positions = np.empty((frames, atoms, 3))
    positions[0] = rng.uniform(0.0, 30.0, size=(atoms, 3))
    kick = speed_A_per_ps * np.sqrt(1.0 - a * a)
    for k in range(1, frames):
        positions[k] = positions[k - 1] + velocity * dt_ps
        velocity = a * velocity + kick * rng.normal(size=(atoms, 3))
    D = dt_ps * speed_A_per_ps**2 * (1.0 + a) / (2.0 * (1.0 - a))
    return positions, D


def hopping(rng: np.random.Generator, atoms: int, frames: int, dt_ps: float, hop_probability: float,
            hop_A: float, vibration_A: float) -> tuple[np.ndarray, float]:
    """Particles vibrating (Gaussian, per frame) about cubic-lattice sites and hopping to a random neighbour
    with ``hop_probability`` per frame: non-Gaussian until many hops, long-time D = p l^2 / (6 dt)."""
    directions = np.concatenate([np.eye(3), -np.eye(3)]) * hop_A
    hops = rng.random((frames, atoms)) < hop_probability
    hops[0] = False
    jumps = directions[rng.integers(0, 6, size=(frames, atoms))] * hops[..., None]
    sites = rng.uniform(0.0, 30.0, size=(atoms, 3)) + np.cumsum(jumps, axis=0)
    positions = sites + rng.normal(0.0, vibration_A, size=(frames, atoms, 3))
    return positions, hop_probability * hop_A**2 / (6.0 * dt_ps)


def vibrating(rng: np.random.Generator, atoms: int, frames: int, amplitude_A: float) -> np.ndarray:
    """A crystal: Gaussian vibrations about fixed sites, no diffusion at all."""
    sites = rng.uniform(0.0, 30.0, size=(atoms, 3))
    return sites + rng.normal(0.0, amplitude_A, size=(frames, atoms, 3))
