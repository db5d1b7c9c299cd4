"""Advertising data (Core Supplement Part A §1): build the virtual treadmill's, parse a scan's.

Owns: `build_advertising_data` (flags, 16-bit service UUIDs, service data, name) and
`parse_advertisement` into `ParsedAdvertisement` (what bleak's `AdvertisementData` needs). Pure:
bytes in, values out. UUIDs are bleak's lowercase 128-bit strings.
"""

from __future__ import annotations

import dataclasses
import struct

from treadctl.ftms.uuids import BASE_UUID_SUFFIX, uuid16

AD_FLAGS = 0x01
AD_UUID16_INCOMPLETE = 0x02
AD_UUID16_COMPLETE = 0x03
AD_UUID32_INCOMPLETE = 0x04
AD_UUID32_COMPLETE = 0x05
AD_UUID128_INCOMPLETE = 0x06
AD_UUID128_COMPLETE = 0x07
AD_NAME_SHORT = 0x08
AD_NAME_COMPLETE = 0x09
AD_TX_POWER = 0x0A
AD_SERVICE_DATA_16 = 0x16
AD_SERVICE_DATA_32 = 0x20
AD_SERVICE_DATA_128 = 0x21
AD_MANUFACTURER = 0xFF

LEGACY_ADV_MAX = 31
FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED = 0x06


def _uuid32_to_str(value: int) -> str:
    return f"{value:08x}{BASE_UUID_SUFFIX}"


def uuid128_to_str(le_bytes: bytes) -> str:
    """A 128-bit UUID sent little-endian (advertising data, ATT) as bleak's lowercase string."""
    h = bytes(reversed(le_bytes)).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclasses.dataclass(frozen=True)
class ParsedAdvertisement:
    """The fields of one advertising report that a scanner shows."""

    local_name: str | None = None
    service_uuids: tuple[str, ...] = ()
    service_data: tuple[tuple[str, bytes], ...] = ()
    manufacturer_data: tuple[tuple[int, bytes], ...] = ()
    tx_power: int | None = None

    def merged_with(self, newer: ParsedAdvertisement) -> ParsedAdvertisement:
        """Merge a later report (a scan response, say) over this one, as BlueZ does."""
        uuids = self.service_uuids + tuple(
            u for u in newer.service_uuids if u not in self.service_uuids
        )
        return ParsedAdvertisement(
            local_name=newer.local_name or self.local_name,
            service_uuids=uuids,
            service_data=tuple({**dict(self.service_data), **dict(newer.service_data)}.items()),
            manufacturer_data=tuple(
                {**dict(self.manufacturer_data), **dict(newer.manufacturer_data)}.items()
            ),
            tx_power=newer.tx_power if newer.tx_power is not None else self.tx_power,
        )


def _structures(data: bytes) -> list[tuple[int, bytes]]:
    """Split advertising data into (AD type, payload); a malformed tail is ignored."""
    out: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0 or offset + 1 + length > len(data):
            break
        out.append((data[offset + 1], data[offset + 2 : offset + 1 + length]))
        offset += 1 + length
    return out


def parse_advertisement(data: bytes) -> ParsedAdvertisement:
    """Parse advertising (or scan response) data; unknown AD types are skipped."""
    name: str | None = None
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer: dict[int, bytes] = {}
    tx_power: int | None = None
    for ad_type, payload in _structures(data):
        if ad_type in (AD_NAME_COMPLETE, AD_NAME_SHORT):
            if ad_type == AD_NAME_COMPLETE or name is None:
                name = payload.decode("utf-8", errors="replace")
        elif ad_type in (AD_UUID16_COMPLETE, AD_UUID16_INCOMPLETE):
            uuids += [
                uuid16(v) for (v,) in struct.iter_unpack("<H", payload[: len(payload) // 2 * 2])
            ]
        elif ad_type in (AD_UUID32_COMPLETE, AD_UUID32_INCOMPLETE):
            uuids += [
                _uuid32_to_str(v)
                for (v,) in struct.iter_unpack("<I", payload[: len(payload) // 4 * 4])
            ]
        elif ad_type in (AD_UUID128_COMPLETE, AD_UUID128_INCOMPLETE):
            uuids += [uuid128_to_str(payload[i : i + 16]) for i in range(0, len(payload) - 15, 16)]
        elif ad_type == AD_SERVICE_DATA_16 and len(payload) >= 2:
            service_data[uuid16(int.from_bytes(payload[:2], "little"))] = payload[2:]
        elif ad_type == AD_SERVICE_DATA_32 and len(payload) >= 4:
            service_data[_uuid32_to_str(int.from_bytes(payload[:4], "little"))] = payload[4:]
        elif ad_type == AD_SERVICE_DATA_128 and len(payload) >= 16:
            service_data[uuid128_to_str(payload[:16])] = payload[16:]
        elif ad_type == AD_MANUFACTURER and len(payload) >= 2:
            manufacturer[int.from_bytes(payload[:2], "little")] = payload[2:]
        elif ad_type == AD_TX_POWER and len(payload) == 1:
            tx_power = int.from_bytes(payload, "little", signed=True)
    return ParsedAdvertisement(
        local_name=name,
        service_uuids=tuple(dict.fromkeys(uuids)),
        service_data=tuple(service_data.items()),
        manufacturer_data=tuple(manufacturer.items()),
        tx_power=tx_power,
    )


def _ad(ad_type: int, payload: bytes) -> bytes:
    return bytes([len(payload) + 1, ad_type]) + payload


def build_advertising_data(
    name: str,
    *,
    service_uuids16: tuple[int, ...] = (),
    service_data16: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """Legacy advertising data (≤ 31 octets): flags, UUIDs, service data, then the name.

    The name is shortened (AD type 0x08) when it does not fit; raises `ValueError` when even the
    fixed parts do not fit.
    """
    head = _ad(AD_FLAGS, bytes([FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED]))
    if service_uuids16:
        head += _ad(AD_UUID16_COMPLETE, b"".join(struct.pack("<H", u) for u in service_uuids16))
    for short_uuid, payload in service_data16:
        head += _ad(AD_SERVICE_DATA_16, struct.pack("<H", short_uuid) + payload)
    room = LEGACY_ADV_MAX - len(head) - 2
    if room < 1:
        raise ValueError("advertising data leaves no room for a name")
    encoded = name.encode("utf-8")
    if len(encoded) <= room:
        return head + _ad(AD_NAME_COMPLETE, encoded)
    short = encoded[:room].decode("utf-8", errors="ignore").encode("utf-8")
    return head + _ad(AD_NAME_SHORT, short)
