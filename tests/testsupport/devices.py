"""Device ranges that tests compile plans and run governors against, written out as literals.

Owns: `DRY_RUN_DEVICE`, the device `treadctl plan` assumes for a dry run (1.0-12.0 km/h in 0.1,
incline 0-12 % in 0.5, commands at least 0.5 s apart: the spacing KingSmith pads need,
ref/ftms-quirks.md Q17).
"""

from __future__ import annotations

from treadctl.safety import DeviceCaps

DRY_RUN_DEVICE = DeviceCaps(
    min_speed_kmh=1.0,
    max_speed_kmh=12.0,
    speed_increment_kmh=0.1,
    min_incline_pct=0.0,
    max_incline_pct=12.0,
    incline_increment_pct=0.5,
    min_command_interval_s=0.5,
)
