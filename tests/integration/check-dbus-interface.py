#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# check-dbus-interface.py XML_FILE LIVE_XML: compare the interface
# org.massaged.Massager1 as written down under version control with what
# the running daemon introspects, member by member: names, argument names,
# types and directions, property types and access, and whether a property
# emits PropertiesChanged. Prints each difference; exits 1 if any.
import sys
import xml.etree.ElementTree as ET

IFACE = "org.massaged.Massager1"


def members(path):
    root = ET.parse(path).getroot()
    for iface in root.iter("interface"):
        if iface.get("name") != IFACE:
            continue
        out = {}
        for el in iface:
            kind, name = el.tag, el.get("name")
            if kind == "property":
                emits = "true"
                for a in el.findall("annotation"):
                    if a.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal":
                        emits = a.get("value")
                desc = (el.get("type"), el.get("access"), emits)
            elif kind in ("method", "signal"):
                desc = tuple((a.get("name"), a.get("type"),
                              a.get("direction", "out" if kind == "signal" else "in"))
                             for a in el.findall("arg"))
            else:
                continue
            out[(kind, name)] = desc
        return out
    sys.exit(f"{path}: no interface {IFACE}")


want, got = members(sys.argv[1]), members(sys.argv[2])
bad = 0
for key in sorted(set(want) | set(got)):
    if key not in got:
        print(f"missing in the daemon: {key[0]} {key[1]}")
        bad = 1
    elif key not in want:
        print(f"not in {sys.argv[1]}: {key[0]} {key[1]}")
        bad = 1
    elif want[key] != got[key]:
        print(f"{key[0]} {key[1]} differs:\n  xml:    {want[key]}\n  daemon: {got[key]}")
        bad = 1
print(f"{len(want)} members in the XML, {len(got)} served, {'differences above' if bad else 'identical'}")
sys.exit(bad)
