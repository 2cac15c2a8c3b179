"""``simkit md``: run a protocol of MD stages described in YAML."""
