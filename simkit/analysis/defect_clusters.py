"""Where defects are and how they group: nearest sites, clusters, cloud shape, neighbour shells.

Plain functions of positions (Å), a cell (rows are cell vectors, Å) and pbc,
used by :mod:`simkit.analysis.defects` on vacancy sites and interstitial atoms.
Distances are periodic along periodic directions only, and exact for any
(triclinic) cell: the periodic images come from :func:`simkit.analysis.neighbors.pad_cell`.
"""

from __future__ import annotations

import itertools

import numpy as np
from ase import Atoms
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from simkit.analysis.neighbors import face_distances, neighbour_list, pad_cell, search_cell, wrap_into_cell
from simkit.errors import InputDataError

CUTOFF_RULE = "halfway between the 2nd and 3rd neighbour shells of the reference sites"
_SHELL_SAMPLE_SITES = 1000  # sites whose neighbours define the shells (evenly spread over the reference)
_SHELL_REACH = 2.5  # search shells out to this many nearest-neighbour distances (3rd shell: <= 1.91 in common lattices)
_SHELL_BIN_A = 0.005
_SHELL_SMOOTHING_A = 0.04  # below this, two distances are one shell (e.g. the 2 % split of a non-ideal hcp shell)
_SHELL_PROMINENCE = 0.05  # a shell peak stands this fraction of the highest peak above its surroundings


def fractional(positions, cell) -> np.ndarray:
    return np.linalg.solve(np.asarray(cell).T, np.asarray(positions, dtype=float).reshape(-1, 3).T).T


def search_frame(cell, pbc, *point_sets) -> tuple[np.ndarray, np.ndarray]:
    """(cell, shift in Å) under which every point + shift lies inside the cell along each non-periodic axis.

    :func:`pad_cell` keeps an image only where all its fractional coordinates
    lie near [0, 1), so a point outside the cell along a non-periodic axis
    (an atom sputtered into vacuum) would lose its periodic images. Moving all
    points by one shift and lengthening the non-periodic vectors changes no
    distance and no periodicity, and puts every point inside.
    """
    cell = search_cell(cell, pbc)
    open_axes = np.flatnonzero(~np.asarray(pbc, dtype=bool))
    points = [np.asarray(p, dtype=float).reshape(-1, 3) for p in point_sets]
    if len(open_axes) == 0 or not sum(len(p) for p in points):
        return cell, np.zeros(3)
    frac = fractional(np.vstack(points), cell)[:, open_axes]
    low, high = frac.min(axis=0), frac.max(axis=0)
    shift = -(low - 1.0) @ cell[open_axes]
    framed = cell.copy()
    framed[open_axes] *= (high - low + 2.0)[:, None]
    return framed, shift


def nearest_site_images(sites, points, cell, pbc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every point: (distance in Å, index of the nearest site, vector from the point to that site image); exact.

    A k-d tree holds the sites plus their periodic images within one site
    spacing of the cell. A point whose nearest site found there is farther
    than that margin might be nearer to an image left out, so such points
    (rare: atoms far from the lattice) are searched again over every lattice
    translation that could bring a site within the distance found.
    """
    sites = np.asarray(sites, dtype=float).reshape(-1, 3)
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    pbc = np.asarray(pbc, dtype=bool)
    spacing_cell = search_cell(cell, pbc)
    margin = (abs(np.linalg.det(spacing_cell)) / len(sites)) ** (1.0 / 3.0) if pbc.any() else 0.0
    frame, shift = search_frame(cell, pbc, sites, points)
    padded = pad_cell(sites + shift, frame, pbc, margin)
    tree = cKDTree(padded.points)
    queries = wrap_into_cell(points + shift, frame, pbc)
    distance, index = tree.query(queries)
    far = np.flatnonzero(distance > margin)
    if far.size and pbc.any():
        # Every site image within d of a point (both inside the cell) is a translation by n with
        # |n_i| <= d / h_i + 1 (h_i: face spacing); querying translated copies of the point finds it.
        reach = np.where(pbc, np.floor(distance[far].max() / face_distances(frame)) + 1, 0).astype(int)
        shifts = np.array(list(itertools.product(*[range(-r, r + 1) for r in reach])), dtype=float) @ frame
        moved = queries[far][:, None, :] + shifts[None]
        found, which = tree.query(moved.reshape(-1, 3))
        best = np.argmin(found.reshape(len(far), -1), axis=1)
        pick = np.arange(len(far)) * len(shifts) + best
        distance[far], index[far] = found[pick], which[pick]
        queries[far] = moved.reshape(-1, 3)[pick]
    return distance, padded.owner[index], padded.points[index] - queries


def minimum_image(vectors, cell, pbc) -> np.ndarray:
    """The shortest periodic image of each vector (Å), exact for any cell."""
    vectors = np.asarray(vectors, dtype=float).reshape(-1, 3)
    if len(vectors) == 0 or not np.any(pbc):
        return vectors.copy()
    _, _, to_origin = nearest_site_images(np.zeros((1, 3)), vectors, cell, pbc)
    return -to_origin


def cluster_labels(positions: np.ndarray, cell, pbc, cutoff_A: float) -> np.ndarray:
    """Connected components of points joined when a periodic image lies within ``cutoff_A`` (inclusive).

    Labels run 0..n_clusters-1 in order of each cluster's first point.
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    if not np.isfinite(cutoff_A) or cutoff_A < 0:
        raise ValueError(f"cluster cutoff {cutoff_A!r} Å: expected a finite distance >= 0")
    count = len(positions)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    frame, shift = search_frame(cell, pbc, positions)
    pairs = neighbour_list(positions + shift, frame, pbc, cutoff_A)
    graph = coo_matrix((np.ones(len(pairs.i)), (pairs.i, pairs.j)), shape=(count, count))
    _, raw = connected_components(graph, directed=False)
    _, first_member = np.unique(raw, return_index=True)
    relabel = np.empty(len(first_member), dtype=np.int64)
    relabel[np.argsort(first_member)] = np.arange(len(first_member))
    return relabel[raw]


def cluster_statistics(labels: np.ndarray) -> dict:
    """{"number", "sizes" (largest first), "largest"} of cluster labels; JSON-ready."""
    sizes = sorted(np.bincount(np.asarray(labels, dtype=np.int64)).tolist(), reverse=True)
    return {"number": len(sizes), "sizes": sizes, "largest": sizes[0] if sizes else 0}


def periodic_centroid(positions, cell, pbc) -> np.ndarray:
    """Centroid (Å): the circular mean of fractional coordinates along periodic axes, the plain mean elsewhere."""
    cell = search_cell(cell, pbc)
    frac = fractional(positions, cell)
    centre = frac.mean(axis=0)
    for axis in np.flatnonzero(np.asarray(pbc, dtype=bool)):
        angle = 2.0 * np.pi * frac[:, axis]
        mean_angle = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())
        centre[axis] = (mean_angle / (2.0 * np.pi)) % 1.0
    return centre @ cell


def cloud_shape(vacancy_positions, interstitial_positions, cell, pbc, centre=None) -> dict:
    """Extent of a defect cloud (vacancies and interstitials together); JSON-ready, None where undefined.

    ``centre`` (Å) defaults to :func:`periodic_centroid` of all defects. Each
    defect is taken at its minimum image around the centre; the gyration tensor
    S = <(r - r̄)(r - r̄)ᵀ> is about the mean r̄ of those images. A uniform
    solid ellipsoid with semi-axes a has S eigenvalues a²/5, so the reported
    ``semi_axes_A`` are sqrt(5 λ), largest first, with their unit vectors in
    ``principal_axes``. Mean distances of vacancies and of interstitials are
    measured from the centre.
    """
    vacancies = np.asarray(vacancy_positions, dtype=float).reshape(-1, 3)
    interstitials = np.asarray(interstitial_positions, dtype=float).reshape(-1, 3)
    defects = np.vstack([vacancies, interstitials])
    shape = {"defects": len(defects), "centre_A": None, "semi_axes_A": None, "principal_axes": None,
             "radius_of_gyration_A": None, "mean_vacancy_distance_A": None, "mean_interstitial_distance_A": None}
    if len(defects) == 0:
        return shape
    centre = periodic_centroid(defects, cell, pbc) if centre is None else np.asarray(centre, dtype=float)
    relative = minimum_image(defects - centre, cell, pbc)
    spread = relative - relative.mean(axis=0)
    gyration = spread.T @ spread / len(defects)
    eigenvalues, eigenvectors = np.linalg.eigh(gyration)
    order = np.argsort(eigenvalues)[::-1]
    distances = np.linalg.norm(relative, axis=1)
    shape.update(
        centre_A=centre.tolist(),
        semi_axes_A=np.sqrt(5.0 * np.clip(eigenvalues[order], 0.0, None)).tolist(),
        principal_axes=eigenvectors[:, order].T.tolist(),
        radius_of_gyration_A=float(np.sqrt(max(np.trace(gyration), 0.0))),
        mean_vacancy_distance_A=float(distances[: len(vacancies)].mean()) if len(vacancies) else None,
        mean_interstitial_distance_A=float(distances[len(vacancies):].mean()) if len(interstitials) else None,
    )
    return shape


def neighbour_shells_A(reference: Atoms, count: int = 3) -> list[float]:
    """The first ``count`` distinct neighbour distances (Å) among the reference sites.

    Distances from up to 1000 evenly spread sites to every site (periodic
    images included) out to 2.5 nearest-neighbour distances are histogrammed
    and smoothed by 0.04 Å; each shell is a peak standing at least 5 % of the
    highest peak above its surroundings, and its value the mean distance within
    the peak. A perfect lattice gives its exact shells (shells closer than
    ~0.1 Å count as one). A thermal frame gives the peaks of its smeared
    shells; two shells merge into one once the rms displacement per component
    passes about a fifth of the gap between them (bcc Fe: 1st and 2nd shells
    near 0.1 Å, i.e. well above room temperature), so for a hot reference give
    a perfect lattice or the cutoff itself.
    """
    sites = np.asarray(reference.positions, dtype=float)
    pbc = np.asarray(reference.pbc, dtype=bool)
    cell = search_cell(np.array(reference.cell), pbc)
    if len(sites) == 0 or (len(sites) < 2 and not pbc.any()):
        raise InputDataError(f"the reference has {len(sites)} site(s): no neighbour shells")
    sample = np.unique(np.linspace(0, len(sites) - 1, min(len(sites), _SHELL_SAMPLE_SITES)).astype(np.int64))
    # First the nearest-neighbour distance (a padding of two site spacings is ample to find it), then the shells.
    spacing = (abs(np.linalg.det(cell)) / len(sites)) ** (1.0 / 3.0) if pbc.any() else 0.0
    cell, shift = search_frame(cell, pbc, sites)
    sites = sites + shift
    padded = pad_cell(sites, cell, pbc, 2.0 * spacing)
    nearest, _ = cKDTree(padded.points).query(padded.atoms[sample], k=2)
    nearest = nearest[:, 1][np.isfinite(nearest[:, 1]) & (nearest[:, 1] > 1e-6)]
    if len(nearest) == 0:
        raise InputDataError("the reference sites have no neighbours: no neighbour shells")
    reach = _SHELL_REACH * float(np.median(nearest))
    padded = pad_cell(sites, cell, pbc, reach)
    pairs = cKDTree(padded.atoms[sample]).sparse_distance_matrix(cKDTree(padded.points), reach, output_type="ndarray")
    distances = pairs["v"][pairs["v"] > 1e-6]
    edges = np.arange(0.0, reach + _SHELL_BIN_A, _SHELL_BIN_A)
    density = gaussian_filter1d(np.histogram(distances, edges)[0].astype(float), _SHELL_SMOOTHING_A / _SHELL_BIN_A,
                                mode="constant")
    centres = 0.5 * (edges[1:] + edges[:-1])
    peaks, _ = find_peaks(density, prominence=_SHELL_PROMINENCE * density.max())
    peaks = centres[peaks][centres[peaks] < reach - 3.0 * _SHELL_SMOOTHING_A]  # not the cut edge of a shell
    if len(peaks) < count:
        raise InputDataError(f"found {len(peaks)} neighbour shell(s) of the reference within {reach:.2f} Å, "
                             f"needed {count}")
    shells = []
    for k, peak in enumerate(peaks[:count]):
        below = peaks[k - 1] if k else -np.inf
        above = peaks[k + 1] if k + 1 < len(peaks) else np.inf
        window = min(3.0 * _SHELL_SMOOTHING_A, (peak - below) / 2.0, (above - peak) / 2.0)
        members = distances[np.abs(distances - peak) <= window]
        shells.append(float(members.mean()))
    return shells


def default_cluster_cutoff_A(reference: Atoms) -> float:
    """Clustering cutoff (Å): halfway between the 2nd and 3rd neighbour shells of the reference sites.

    bcc: (a + a√2)/2, so first and second neighbours join a cluster and third
    neighbours do not; fcc: (a + a√1.5)/2. Shells as :func:`neighbour_shells_A`.
    """
    _, second, third = neighbour_shells_A(reference, 3)
    return 0.5 * (second + third)
