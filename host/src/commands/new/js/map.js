// {{name}}: maps each stock tick to a new row, `ticker` and the price in cents.
//
// A map turns each row into one new row: an object of the columns `schema`
// declares, which the next plugin and the sink read as typed cells. Build it
// with ./build.sh; README.md says how to try it.
import * as sluice from './sluice.js';

export const { plugin, transformer } = sluice.map({
  description: 'Ticker and price in cents of each stock tick.',

  // The output columns, typed as Spark names them: `host test -f schema` shows them.
  schema: [
    ['ticker', 'string'],
    ['price_cents', 'long'],
  ],

  map(row) {
    // A record without them is a record error: the host sends it to the
    // dead-letter topic (or drops it, or stops) and goes on.
    if (typeof row.ticker !== 'string' || typeof row.price !== 'number') {
      throw new sluice.RecordError('no ticker or no numeric price');
    }
    return { ticker: row.ticker, price_cents: Math.round(row.price * 100) };
  },
});
