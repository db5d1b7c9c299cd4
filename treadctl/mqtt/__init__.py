"""Live telemetry and control over MQTT, with Home Assistant discovery (DESIGN §7).

The only aiomqtt user. Imports aiomqtt, paho (aiomqtt's transport, for MQTT 5 subscribe
options), `treadctl.errors`, pydantic and structlog — never `workout` or `safety`: payloads in
and out are plain JSON-ready dicts, and the daemon glues this package to the runners.

Seams (others code against these names):

- `MqttSettings` — the `[mqtt]` config keys: `host`, `port`, `protocol` ("3.1.1" | "5"),
  `username`, `password` (secret: masked in `repr`, never logged), `client_id` (per daemon,
  default `treadctl-<hostname>`; each treadmill's connection uses `<client_id>-<id>`),
  `base_topic`, `discovery`, `discovery_prefix`, `tls`, `ca_file`, `cert_file`, `key_file`,
  `telemetry_hz`, `commands_enabled`, `keepalive_s`, `timeout_s`, `reconnect_min_backoff_s`,
  `reconnect_max_backoff_s`, `telemetry_queue_size`, `result_queue_size`,
  `command_queue_size`, `shutdown_timeout_s`.
- `TreadmillInfo(id, name, manufacturer, model, firmware, hardware, serial_number, workouts)`.
- `MqttBridge(settings, treadmills, handler)` — async context manager; one TaskGroup with named
  tasks. Non-blocking, never-raising calls: `publish_telemetry(id, payload)`,
  `publish_state(id, payload)`, `publish_event(id, payload)`, `set_link(id, connected)`,
  `update_treadmill(info)`; `await flush()` returns once everything queued is published.
  Leaving the context flushes (bounded by `shutdown_timeout_s`), publishes `offline` and
  disconnects.
- Commands: `StartCommand(workout)`, `PauseCommand`, `ResumeCommand`, `StopCommand`,
  `EmergencyStopCommand` ("estop"), `SkipCommand`, `SetSpeedCommand(speed_kmh, direction?)`,
  `SetInclineCommand(incline_pct)` — together `Command`; each has an optional `request_id`
  echoed in its answer. `CommandHandler` is `async (treadmill_id, command) -> CommandResult`;
  `CommandResult(ok, reason, detail)`. A handler that raises a `TreadctlError` refuses with
  the error's message and structured detail (`requested`/`allowed` of a `LimitExceededError`).
  No command can raise a cap: there is no command that touches caps at all.

Topics under `<base_topic>/<id>/`: `availability` (retained `online`/`offline`, the last will),
`state` (retained JSON, with `link_connected`), `telemetry`, `event`, `cmd/<name>`, and
`cmd/result` (every command answered: `treadmill_id`, `command`, `ok`, `reason`, `detail`,
`request_id`). Discovery: `<discovery_prefix>/device/<base_topic>_<id>/config` (retained),
re-sent with the state whenever Home Assistant publishes `online` on `<prefix>/status`.

Payload keys the Home Assistant entities read (the daemon fills them; missing ones show as
unknown): telemetry `speed_kmh`, `target_speed_kmh`, `incline_pct`, `distance_m`, `elapsed_s`,
`remaining_s`, `energy_kcal`, `heart_rate_bpm`, `steps`, `direction`, `progress_pct`; state
`status`, `workout`, `step` (and `link_connected`, set by `set_link`).
"""

from treadctl.mqtt.bridge import MqttBridge
from treadctl.mqtt.commands import (
    COMMANDS,
    Command,
    CommandHandler,
    CommandResult,
    EmergencyStopCommand,
    PauseCommand,
    ResumeCommand,
    SetInclineCommand,
    SetSpeedCommand,
    SkipCommand,
    StartCommand,
    StopCommand,
    parse_command,
)
from treadctl.mqtt.discovery import discovery_payload
from treadctl.mqtt.settings import MqttSettings
from treadctl.mqtt.topics import Topics, TreadmillInfo

__all__ = [
    "COMMANDS",
    "Command",
    "CommandHandler",
    "CommandResult",
    "EmergencyStopCommand",
    "MqttBridge",
    "MqttSettings",
    "PauseCommand",
    "ResumeCommand",
    "SetInclineCommand",
    "SetSpeedCommand",
    "SkipCommand",
    "StartCommand",
    "StopCommand",
    "Topics",
    "TreadmillInfo",
    "discovery_payload",
    "parse_command",
]
