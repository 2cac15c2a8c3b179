"""The main job: ``simkit demo`` strings every command together on an embedded default."""
