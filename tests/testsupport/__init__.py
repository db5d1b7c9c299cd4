"""Machinery shared by the tests: brokers, virtual treadmills, fake clocks."""
