"""Physical validation of a potential: crystal, defects, short range, against a reference (``simkit validate``)."""
