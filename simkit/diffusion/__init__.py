"""``simkit diffusion``: multi-temperature MD, diffusion coefficients with uncertainties, Arrhenius, conductivity.

The modules follow the data:

``config`` / ``settings`` (the YAML schema) -> ``driver`` (per temperature an
equilibration and a production protocol run by :mod:`simkit.drivers.md`, one
after another or concurrently on split communicators, each resumable) ->
``displacements`` (one streamed pass over a trajectory: MSD over every time
origin by FFT, displacement moments and the self van Hove function on a lag
grid, per-particle MSDs, collective displacements) -> ``window`` (the
diffusive regime by a stated rule) -> ``estimate`` (D with a bootstrap over
particles, collective and charge diffusion with time blocks, Nernst-Einstein
conductivity) -> ``arrhenius`` (weighted fits of D(T) and sigma*T) ->
``analysis`` (per temperature and per run) -> ``plots`` / ``report``.
"""
