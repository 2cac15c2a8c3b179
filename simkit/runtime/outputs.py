"""Names of the files every run writes, defined once."""

RUN_SUMMARY = "run_summary.json"
LOG_FILE = "simkit.log"
LAMMPS_LOG = "lammps.log"
THERMO_CSV = "thermo.csv"
