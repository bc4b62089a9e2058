"""Unpacking the schema registry's distribution (``registry_service.unpack``) on every Python
3.11: tarfile's ``filter`` argument only exists from 3.11.4, and Debian 12's Python is 3.11.2."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from ticket_devstack import registry_service
from ticket_devstack.service import ServiceError


def _archive(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), b"content"


def _entry(name: str, kind: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, b""


@pytest.fixture
def python_3_11_2(monkeypatch) -> None:
    """tarfile as Python 3.11.0-3.11.3 has it: no ``filter`` argument, no filters."""
    extract = tarfile.TarFile.extractall

    def extractall(self, path=".", members=None, *, numeric_owner=False, **unknown):
        if unknown:
            raise TypeError(f"extractall() got an unexpected keyword argument {next(iter(unknown))!r}")
        return extract(self, path, members, numeric_owner=numeric_owner, filter="fully_trusted")

    monkeypatch.setattr(tarfile.TarFile, "extractall", extractall)
    monkeypatch.delattr(tarfile, "fully_trusted_filter")


@pytest.mark.usefixtures("python_3_11_2")
def test_the_distribution_unpacks_on_python_3_11_2(tmp_path) -> None:
    archive = _archive(
        tmp_path / "dist.tar.gz", _entry("lib", tarfile.DIRTYPE), _file("lib/a.jar"), _file("runner.jar")
    )
    target = tmp_path / "out"
    target.mkdir()
    registry_service.unpack(archive, target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "lib",
        "lib/a.jar",
        "runner.jar",
    ]


@pytest.mark.parametrize(
    "member",
    [_file("../outside.jar"), _file("/etc/outside.jar"), _entry("lib/link", tarfile.SYMTYPE)],
    ids=["parent", "absolute", "symlink"],
)
def test_a_member_outside_the_folder_or_not_a_plain_file_is_refused(tmp_path, member) -> None:
    archive = _archive(tmp_path / "dist.tar.gz", _file("runner.jar"), member)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ServiceError, match="refusing to unpack"):
        registry_service.unpack(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "outside.jar").exists()
