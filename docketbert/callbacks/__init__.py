"""Composer callbacks of docketbert, by the name a YAML uses under `callbacks:`."""
