"""The virtual FTMS treadmill (DESIGN §5): how treadctl is tested without a treadmill.

`model` (pure machine: `TreadmillModel`; `settings`: `TreadmillConfig`, `Quirks`), `gatt`
(`VirtualTreadmill`: the model as a bumble FTMS peripheral), `radio` (`VirtualRadio`: the bleak
backend over a bumble central), `link` (the virtual link and HCI over TCP), `app` (`treadctl sim`),
`local` and `readout` (`treadctl sim --local`: a viewer central in the same process).
bumble is the optional `demo` extra: import the submodules that need it only when asked for.
"""
