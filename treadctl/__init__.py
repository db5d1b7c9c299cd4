"""treadctl: backward-walking interval workouts on FTMS treadmills, with telemetry over MQTT."""

__version__ = "0.1.0"
