"""The virtual FTMS treadmill: a pure machine model, its bumble GATT server, and a bleak backend
over a bumble virtual radio (DESIGN §5). Import the submodules: `model`, `gatt`, `radio`.
"""
