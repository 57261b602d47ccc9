"""Prompt hashes and request ids: vectorised, deterministic, in the providers' shapes."""

from __future__ import annotations

import re

import numpy as np

from synthetic.strings import hex_digests, mix_ids, request_ids


def test_equal_prompt_ids_give_equal_digests_and_distinct_ids_distinct_ones() -> None:
    ids = np.array([1, 2, 3, 1, 2**63 + 5], dtype=np.uint64)
    digests = hex_digests(ids)
    assert digests[0] == digests[3]
    assert len(set(digests.tolist())) == 4
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)


def test_digests_do_not_change_between_runs() -> None:
    assert hex_digests(np.array([42], dtype=np.uint64))[0] == hex_digests(np.array([42], dtype=np.uint64))[0]
    assert mix_ids(1, 2) == mix_ids(1, 2) != mix_ids(2, 1)


def test_request_ids_have_each_providers_shape() -> None:
    rng = np.random.default_rng(0)
    assert all(re.fullmatch(r"msg_01[0-9A-Za-z]{22}", i) for i in request_ids("anthropic", rng, 20))
    assert all(re.fullmatch(r"chatcmpl-[0-9A-Za-z]{29}", i) for i in request_ids("openai", rng, 20))
    assert all(re.fullmatch(r"[0-9A-Za-z]{27}", i) for i in request_ids("gemini", rng, 20))
    uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert all(re.fullmatch(uuid4, i) for i in request_ids("xai", rng, 20))
    assert len(request_ids("openai", rng, 0)) == 0
