"""A Python plugin that misbehaves on the record whose price is 13, in the
way `mode` says; every other record passes through. The tests check that
each misbehaviour is contained as a Rust plugin's is."""

import sluice


class Hostile(sluice.Filter):
    """Misbehaves on price 13 as `mode` says."""

    options = {"mode": sluice.Option("raise, crash, loop, alloc, open or print", default="raise")}

    def init(self, config):
        self.mode = config["mode"]

    def keep(self, row):
        if row.get("price") != 13:
            return True
        if self.mode == "raise":
            raise sluice.RecordError("price 13 is unlucky")
        if self.mode == "crash":
            return {}["no such key"]
        if self.mode == "loop":
            while True:
                pass
        if self.mode == "alloc":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if self.mode == "open":
            with open("/etc/hostname") as f:
                raise sluice.RecordError(f"read the host's file: {f.read()!r}")
        if self.mode == "print":
            print("printed by the plugin")
            return True
        raise sluice.RecordError(f"unknown mode {self.mode}")


Plugin, Transformer = sluice.export(Hostile)
