"""Small datasets (a few rows: the statistics) written by the driver as one Parquet file, through
Hadoop's FileSystem API: the same layout and types Spark would write, without a Spark job each."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ticket_analysis.storage import HadoopStore, join
from ticket_etl import artifacts

FILE_NAME = "part-00000.zstd.parquet"


def table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` (dicts holding every field of ``schema``) as an Arrow table of that schema."""
    return pa.Table.from_pylist([{name: row[name] for name in schema.names} for row in rows], schema=schema)


def with_constants(data: pa.Table, constants: dict[str, str]) -> pa.Table:
    """``data`` with a string column of one value per entry of ``constants`` (the run columns)."""
    for name, value in constants.items():
        data = data.append_column(pa.field(name, pa.string()), pa.array([value] * data.num_rows, pa.string()))
    return data


def write(store: HadoopStore, location: str, data: pa.Table) -> None:
    """Write ``data`` as the dataset ``location`` (one zstd Parquet file, then ``_SUCCESS``)."""
    buffer = io.BytesIO()
    pq.write_table(data, buffer, compression="zstd")
    store.delete(location)
    store.write_bytes(join(location, FILE_NAME), buffer.getvalue())
    store.write_bytes(join(location, artifacts.SUCCESS_MARKER), b"")
