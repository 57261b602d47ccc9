"""Every log line of a job carries its bound context (task, workspace, run)."""

from __future__ import annotations

import logging

import pytest

from workers.runtime.logs import ContextFilter, bind_context


def test_bound_fields_appear_on_each_line_and_unbind_afterwards(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(ContextFilter())
    caplog.handler.setFormatter(logging.Formatter("%(context)s%(message)s"))
    log = logging.getLogger("halton.test")
    with caplog.at_level(logging.INFO):
        with bind_context(task="halton.refresh_workspace", workspace=7):
            with bind_context(run=42):
                log.info("inside")
            log.info("outside the run")
        log.info("unbound")
    assert caplog.text.splitlines() == [
        "task=halton.refresh_workspace workspace=7 run=42 inside",
        "task=halton.refresh_workspace workspace=7 outside the run",
        "unbound",
    ]
