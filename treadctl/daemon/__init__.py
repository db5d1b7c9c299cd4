"""The daemon: the composition root that wires treadmills, runners and MQTT together.

Owns: the TaskGroup that runs every treadmill link, runner and the MQTT bridge; signals and
shutdown (DESIGN §2 rule 6); the systemd notify protocol. It may import every other module.
"""
