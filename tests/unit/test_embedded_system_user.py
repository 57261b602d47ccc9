"""As root, the embedded Postgres runs as a system user the demo creates with useradd, found even on a
root PATH without /usr/sbin (`su` without `-`, some container images); without useradd, one line says
what to do. No user is created here: a stand-in useradd records what it was asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import ConfigError
from workers.runtime.embedded import SBIN_DIRS, ensure_system_user, find_useradd

PATH_WITHOUT_SBIN = "/usr/local/bin:/usr/bin:/bin"


def stand_in_useradd(folder: Path, exit_code: int = 0, stderr: str = "") -> Path:
    """An executable `useradd` in `folder` that writes its arguments next to itself."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "useradd"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {folder / 'called-with'}\necho '{stderr}' >&2\nexit {exit_code}\n")
    script.chmod(0o755)
    return script


@pytest.mark.skipif(not any(os.access(f"{d}/useradd", os.X_OK) for d in SBIN_DIRS),
                    reason="this machine has no useradd in an sbin directory")
def test_useradd_is_found_in_sbin_on_a_path_without_it() -> None:
    assert all("sbin" not in part for part in PATH_WITHOUT_SBIN.split(":"))
    found = find_useradd(PATH_WITHOUT_SBIN)
    assert Path(found).name == "useradd" and Path(found).parent.as_posix() in SBIN_DIRS


def test_the_sbin_directories_are_searched_after_path(tmp_path: Path) -> None:
    sbin = tmp_path / "sbin"
    stand_in_useradd(sbin)
    assert find_useradd(str(tmp_path / "bin"), (str(sbin),)) == str(sbin / "useradd")
    on_path = stand_in_useradd(tmp_path / "bin")
    assert find_useradd(str(tmp_path / "bin"), (str(sbin),)) == str(on_path)


def test_without_useradd_anywhere_one_line_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        find_useradd(str(tmp_path / "bin"), (str(tmp_path / "sbin"),))
    message = str(raised.value)
    assert "\n" not in message
    assert "'embedded_postgres'" in message and "useradd" in message
    assert "create that user" in message and "set DATABASE_URL" in message


def test_a_missing_user_is_created_with_the_useradd_found_in_sbin(tmp_path: Path) -> None:
    sbin = tmp_path / "sbin"
    stand_in_useradd(sbin)
    ensure_system_user("halton-no-such-user", path=str(tmp_path / "bin"), sbin_dirs=(str(sbin),))
    assert (sbin / "called-with").read_text().split() == ["-s", "/bin/bash", "halton-no-such-user"]


def test_an_existing_user_is_left_alone(tmp_path: Path) -> None:
    sbin = tmp_path / "sbin"
    stand_in_useradd(sbin)
    ensure_system_user("root", path=str(tmp_path / "bin"), sbin_dirs=(str(sbin),))
    assert not (sbin / "called-with").exists()


def test_a_useradd_that_fails_is_one_line_with_its_reason(tmp_path: Path) -> None:
    sbin = tmp_path / "sbin"
    stand_in_useradd(sbin, exit_code=10, stderr="useradd: cannot lock /etc/passwd; try again later.")
    with pytest.raises(ConfigError) as raised:
        ensure_system_user("halton-no-such-user", path=str(tmp_path / "bin"), sbin_dirs=(str(sbin),))
    message = str(raised.value)
    assert "\n" not in message and "cannot lock /etc/passwd" in message
    assert "'halton-no-such-user'" in message
