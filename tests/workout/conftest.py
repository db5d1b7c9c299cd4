"""Fixtures of the workout tests: `rig`, a runner on the pure treadmill model (see
`testsupport.model_sink`) playing the workout the test passes as its parameter (default
`TURNING`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from testsupport.model_sink import ModelRig
from workout.support import TURNING


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[ModelRig]:
    """A rig running the workout given by the test's `workout` marker-free parameter."""
    text = getattr(request, "param", TURNING)
    made = await ModelRig.start(text)
    yield made
    await made.close()
