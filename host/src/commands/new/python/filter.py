"""{{name}}: keeps the stock ticks whose price is at least `min` (default 50).

A filter keeps or drops each row; the rows it keeps go on unchanged. A row is
a dict of column to value: typed rows (after parse_stock) and raw JSON values
alike. Build it with ./build.sh; README.md says how to try it.
"""

import sluice


class MinPrice(sluice.Filter):
    """Keeps the records whose price is at least min."""

    # --config {{name}}.min=100 sets it; any other key is refused.
    options = {"min": sluice.Option("the lowest price kept", default="50", type=float)}

    def init(self, config):
        self.min = config["min"]

    def keep(self, row):
        # A missing or null price drops the row, as Spark's filter does.
        price = row.get("price")
        return price is not None and price >= self.min


Plugin, Transformer = sluice.export(MinPrice)
