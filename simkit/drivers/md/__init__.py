"""``simkit md``: run a protocol of MD stages described in YAML, at any scale, resumable.

The modules follow the data: ``protocol``/``stages`` (the YAML schema) ->
``plan`` (structure or device built, every cross-reference checked, stages
flattened into segments with step counts) -> ``runner`` (system set up, or a
checkpoint read back) -> ``execute`` (fixes, chunked runs, checkpoints;
``rescale`` for the ``rescale_volume`` stage) -> ``records``/``trajectory``
(CSV tables and the H5MD file) -> ``figures``.
``state`` holds the checkpoint record that ``--resume`` reads.
"""
