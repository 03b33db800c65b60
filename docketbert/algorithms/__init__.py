"""Composer algorithms of docketbert; each module registers itself by the name a YAML uses under `algorithms:`."""
