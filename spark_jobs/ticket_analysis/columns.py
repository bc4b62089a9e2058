"""Column helpers shared by the transformations."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F


def map_lookup(mapping: Mapping[str, object], key: Column) -> Column:
    """``mapping[key]`` as a column (null when the key is absent)."""
    pairs = [item for name, value in mapping.items() for item in (F.lit(name), F.lit(value))]
    return F.create_map(*pairs)[key]
