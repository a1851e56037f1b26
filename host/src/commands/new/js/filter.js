// {{name}}: keeps the stock ticks whose price is at least `min` (default 50).
//
// A filter keeps or drops each row; the rows it keeps go on unchanged. A row is
// an object of column to value: typed rows (after parse_stock) and raw JSON
// values alike. Build it with ./build.sh; README.md says how to try it.
import * as sluice from './sluice.js';

export const { plugin, transformer } = sluice.filter({
  description: 'Keeps the records whose price is at least min.',

  // --config {{name}}.min=100 sets it; any other key is refused.
  options: { min: { help: 'the lowest price kept', default: '50', type: 'number' } },

  init(config) {
    this.min = config.min;
  },

  keep(row) {
    // A missing or null price drops the row, as Spark's filter does.
    return row.price != null && row.price >= this.min;
  },
});
