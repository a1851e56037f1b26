"""{{name}}: a record holding a JSON array becomes one record per element;
any other record passes through. A flat-map returns zero, one or many outputs.

Build it with ./build.sh; README.md says how to try it.
"""

import json

import sluice


class Explode(sluice.FlatMap):
    """One record per element of a JSON array; other records unchanged."""

    # It reads the raw value (bytes): typed rows reach it as JSON objects.
    accepts = "raw"

    def flat_map(self, value):
        try:
            parsed = json.loads(value)
        except ValueError as e:
            raise sluice.RecordError(f"the value is not JSON: {e}") from None
        if isinstance(parsed, list):
            return parsed  # each element is written as JSON
        return [value]


Plugin, Transformer = sluice.export(Explode)
