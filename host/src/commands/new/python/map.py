"""{{name}}: maps each stock tick to a new row, `ticker` and the price in cents.

A map turns each row into one new row: a dict of the columns `schema`
declares, which the next plugin and the sink read as typed cells. Build it with
./build.sh; README.md says how to try it.
"""

import sluice


class Cents(sluice.Map):
    """Ticker and price in cents of each stock tick."""

    # The output columns, typed as Spark names them: `host test -f schema` shows them.
    schema = [("ticker", "string"), ("price_cents", "long")]

    def map(self, row):
        # A record without them is a record error: the host sends it to the
        # dead-letter topic (or drops it, or stops) and goes on.
        ticker, price = row.get("ticker"), row.get("price")
        if ticker is None or not isinstance(price, (int, float)):
            raise sluice.RecordError("no ticker or no numeric price")
        return {"ticker": ticker, "price_cents": round(price * 100)}


Plugin, Transformer = sluice.export(Cents)
